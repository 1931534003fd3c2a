package cluster

import (
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// A node record that goes in a node's first TTL (a killed process's,
// revoked by its next life just before that registers again) does not
// count as a node seen going: its streams wait for it. Later, a record
// that goes is a node seen going.
func TestRecordGoneEarlyIsNotSeenGoing(t *testing.T) {
	mir := &mirror{pfx: "vf/", kvs: map[string]*mvccpb.KeyValue{}}
	put := func(id string) { mir.kvs["vf/nodes/"+id] = &mvccpb.KeyValue{Value: []byte(`{"id":"` + id + `"}`)} }
	n := &Node{mir: mir, seen: map[string]bool{}, started: time.Now(), ttl: 3 * time.Second}
	put("a")
	put("b")
	n.noteSeen()
	if n.absentSinceStart("a") || n.absentSinceStart("b") {
		t.Fatal("nodes a and b are there, yet absent since start")
	}
	delete(mir.kvs, "vf/nodes/a")
	n.noteSeen()
	if !n.absentSinceStart("a") {
		t.Error("a's record went in the first TTL: a should wait as absent since start, not count as seen going")
	}
	if n.absentSinceStart("b") {
		t.Error("b, still there, is absent since start")
	}
	put("a")
	n.noteSeen()
	if n.absentSinceStart("a") {
		t.Error("a is back, yet absent since start")
	}

	old := &Node{mir: mir, seen: map[string]bool{}, started: time.Now().Add(-time.Minute), ttl: 3 * time.Second}
	old.noteSeen()
	delete(mir.kvs, "vf/nodes/b")
	old.noteSeen()
	if !old.seen["b"] {
		t.Error("a node started long ago forgot b, seen going")
	}
}
