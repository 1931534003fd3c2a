package cluster

import (
	"fmt"
	"testing"
)

// The placement rule's promises, on many stream sets.
func TestPlace(t *testing.T) {
	nodes := []Member{{ID: "a", Capacity: 8}, {ID: "b", Capacity: 6}, {ID: "c", Capacity: 6}}
	var streams []string
	p := map[string]string{}
	for i := 0; i < 20; i++ {
		streams = append(streams, fmt.Sprintf("cam-%02d", i))
		next := Place(streams, nodes, p)
		// Adding a stream moves no other.
		for s, n := range p {
			if next[s] != n {
				t.Fatalf("adding stream %d moved %s from %s to %s", i, s, n, next[s])
			}
		}
		if len(next) != len(streams) {
			t.Fatalf("%d streams, %d placed, capacity 20", len(streams), len(next))
		}
		checkShares(t, next, nodes, len(streams))
		p = next
	}
	// Plain rendezvous without current assignments: the same answer.
	if fmt.Sprint(Place(streams, nodes, nil)) != fmt.Sprint(Place(streams, nodes, nil)) {
		t.Fatal("Place is not deterministic")
	}
	// 12 streams; a node dies: only its streams move.
	streams = streams[:12]
	p = Place(streams, nodes, nil)
	survivors := nodes[1:]
	after := Place(streams, survivors, p)
	for s, n := range p {
		if n != "a" && after[s] != n {
			t.Errorf("node a died and %s moved from %s to %s", s, n, after[s])
		}
	}
	checkShares(t, after, survivors, 12)
	// It comes back: it takes streams that rank it above their node, up
	// to its share, and nothing else moves.
	back := Place(streams, []Member{{ID: "a", Capacity: 8, Joined: true}, nodes[1], nodes[2]}, after)
	took := 0
	for s, n := range back {
		if n == after[s] {
			continue
		}
		if n != "a" || weight(s, "a") < weight(s, after[s]) {
			t.Errorf("node a came back and %s moved from %s to %s", s, after[s], n)
		}
		took++
	}
	if took == 0 || took > 5 {
		t.Errorf("the node that came back took %d streams back, want 1..5 (its share)", took)
	}
	checkShares(t, back, nodes, 12)
	// Capacity: never more than a node takes; the rest is left out.
	small := []Member{{ID: "a", Capacity: 2}, {ID: "b", Capacity: 1}}
	if got := Place(streams, small, nil); len(got) != 3 {
		t.Errorf("12 streams on capacity 3: %d placed", len(got))
	}
	if got := Place(streams, nil, nil); len(got) != 0 {
		t.Errorf("no nodes: %v", got)
	}
}

func checkShares(t *testing.T, p map[string]string, nodes []Member, n int) {
	t.Helper()
	total := 0
	for _, m := range nodes {
		total += m.Capacity
	}
	for node, k := range counts(p) {
		for _, m := range nodes {
			if m.ID == node && k > (n*m.Capacity+total-1)/total {
				t.Errorf("%s holds %d of %d streams, over its share by capacity %d", node, k, n, m.Capacity)
			}
		}
	}
}
