package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Bad input: a second node with an id in use is refused, a full cluster
// answers 429 with its free capacity, an etcd that does not answer at
// start is named, a URI no node can open is reported on its stream and
// not bounced between nodes; stream/remove through any node stops the
// stream where it runs.
func TestClusterBadInput(t *testing.T) {
	skipShort(t)
	c := newCluster(t, 2, 1)

	// The same node-id again, elsewhere: refused, naming the id.
	dup := newNode(t, c.s, t.TempDir(), "node-a", 1)
	dup.start(t)
	select {
	case <-dup.done:
	case <-time.After(30 * time.Second):
		t.Fatal("a second node-a did not exit")
	}
	if out := dup.output(); dup.err == nil || !strings.Contains(out, `node-id "node-a" is already in use`) {
		t.Errorf("a second node-a: exit %v, output:\n%s", dup.err, out)
	}
	if _, err := view(c.nodes[0]); err != nil {
		t.Errorf("node-a after its double was refused: %v", err)
	}

	// etcd that does not answer at start: the error names the endpoint.
	lone := &servers{etcdURL: fmt.Sprintf("http://127.0.0.1:%d", freePort(t)), natsURL: c.s.natsURL}
	ghost := newNode(t, lone, t.TempDir(), "node-x", 1)
	ghost.start(t)
	select {
	case <-ghost.done:
	case <-time.After(30 * time.Second):
		t.Fatal("a node without etcd did not exit")
	}
	if out := ghost.output(); ghost.err == nil || !strings.Contains(out, "etcd unreachable at "+lone.etcdURL) {
		t.Errorf("a node without etcd: exit %v, output:\n%s", ghost.err, out)
	}

	// A URI that no node can open: failed on its stream, not bounced.
	dead := fmt.Sprintf("rtsp://127.0.0.1:%d/nothing", freePort(t))
	c.add(c.nodes[1], "bad", dead)
	var failedOn string
	waitFor(t, 30*time.Second, "the unopenable stream reported failed", func() bool {
		l, err := clusterStreams(c.nodes[0])
		if err != nil || l["bad"][1] != "failed" {
			return false
		}
		failedOn = l["bad"][0]
		return true
	})
	var info streamList
	call("GET", c.nodes[1].url("/api/v1/stream/get-stream-info"), nil, &info)
	for _, s := range info.Info.List {
		if s.CameraID == "bad" && s.Error == "" {
			t.Errorf("the failed stream carries no error: %+v", s)
		}
	}
	for i := 0; i < 20; i++ { // two seconds: it stays where it failed
		if l, err := clusterStreams(c.nodes[1]); err == nil && l["bad"] != [2]string{failedOn, "failed"} {
			t.Fatalf("the failed stream moved on: %v (it failed on %s)", l["bad"], failedOn)
		}
		if p := c.placement(); len(p["bad"]) > 0 {
			t.Fatalf("the failed stream runs again on %v", p["bad"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A failed stream takes no room: capacity 3, three good streams fit.
	for i := 0; i < 3; i++ {
		c.add(c.nodes[i%2], camID(i), uri(i+1))
	}
	c.settled(30*time.Second, []string{camID(0), camID(1), camID(2)}, "three streams")

	// Full: 429 with the free capacity.
	var full errBody
	code, err := call("POST", c.nodes[1].url("/api/v1/stream/add"), sensor("one-too-many", uri(9), "camera_add"), &full)
	if err != nil || code != 429 || full.Code != "cluster_full" || !strings.Contains(full.Error, "free capacity 0") {
		t.Errorf("stream/add to a full cluster: HTTP %d %+v %v, want 429 cluster_full naming the free capacity", code, full, err)
	}
	// A duplicate id: 409 naming the node it runs on.
	var dupe errBody
	code, _ = call("POST", c.nodes[0].url("/api/v1/stream/add"), sensor(camID(0), uri(1), "camera_add"), &dupe)
	if code != 409 || !strings.Contains(dupe.Error, "node") {
		t.Errorf("a camera_id already in the cluster: HTTP %d %+v, want 409", code, dupe)
	}

	// stream/remove through a node that does not run the stream.
	p := c.settled(5*time.Second, []string{camID(0), camID(1), camID(2)}, "three streams")
	other := c.nodes[0]
	if p[camID(2)] == other.id {
		other = c.nodes[1]
	}
	if code, err := call("POST", other.url("/api/v1/stream/remove"), sensor(camID(2), uri(3), "camera_remove"), nil); code != 200 || err != nil {
		t.Fatalf("stream/remove through %s: HTTP %d %v", other.id, code, err)
	}
	c.settled(10*time.Second, []string{camID(0), camID(1)}, "the removed stream stopped where it ran")
	code, _ = call("POST", other.url("/api/v1/stream/remove"), sensor(camID(2), uri(3), "camera_remove"), nil)
	if code != 404 {
		t.Errorf("removing it again: HTTP %d, want 404", code)
	}
	// The failed stream removed and added again is tried again.
	call("POST", c.nodes[0].url("/api/v1/stream/remove"), sensor("bad", dead, "camera_remove"), nil)
	if l, _ := clusterStreams(c.nodes[0]); len(l) != 2 {
		t.Errorf("after the removals get-stream-info lists %v", l)
	}

	// The cluster view: nodes, load, leader, free capacity; and metrics.
	v, err := view(c.nodes[1])
	if err != nil || len(v.Nodes) != 2 || v.Leader == "" || v.Capacity != 3 || v.Free != 1 {
		t.Errorf("cluster view: %+v %v, want 2 nodes, a leader, capacity 3, free 1", v, err)
	}
	_, prom, _ := getText(c.nodes[0].url("/metrics"))
	for _, m := range []string{"vidflow_cluster_nodes 2", `vidflow_cluster_leader{node="` + v.Leader + `"} 1`, "vidflow_cluster_free_capacity 1",
		`vidflow_cluster_streams{state="running"} 2`, "vidflow_cluster_etcd_up 1", "vidflow_cluster_nats_up 1"} {
		if !strings.Contains(prom, m+"\n") {
			t.Errorf("/metrics has no %q", m)
		}
	}
}
