package cluster

import (
	"hash/fnv"
	"sort"
)

// Member is a node as placement sees it.
type Member struct {
	ID       string
	Capacity int
}

// Place assigns streams to nodes by rendezvous (highest random weight)
// hashing within the nodes' capacity: each stream, in the order of its id,
// goes to the node of the highest hash(stream, node) that still has room,
// a node's room being its share of the streams by capacity.
// The answer depends only on the sets given, so every leader computes the
// same placement, a restarted cluster gets it back, and a node that joins
// or leaves moves only the streams that rank it first (and those that
// capacity pushes on). Streams that fit nowhere are left out (pending).
func Place(streams []string, nodes []Member) map[string]string {
	ids := append([]string(nil), streams...)
	sort.Strings(ids)
	// Bounded loads: a node takes at most its share of the streams by
	// capacity (rounded up), so the streams spread by capacity instead of
	// filling the first-ranked nodes; the shares add up to at least all
	// the streams that fit.
	total := 0
	for _, n := range nodes {
		total += max(n.Capacity, 0)
	}
	room := make(map[string]int, len(nodes))
	for _, n := range nodes {
		if total > 0 {
			room[n.ID] = min(n.Capacity, (len(ids)*n.Capacity+total-1)/total)
		}
	}
	out := make(map[string]string, len(ids))
	ranked := make([]scored, 0, len(nodes))
	for _, s := range ids {
		ranked = ranked[:0]
		for _, n := range nodes {
			ranked = append(ranked, scored{n.ID, weight(s, n.ID)})
		}
		sort.Slice(ranked, func(i, j int) bool {
			if ranked[i].w != ranked[j].w {
				return ranked[i].w > ranked[j].w
			}
			return ranked[i].id < ranked[j].id
		})
		for _, r := range ranked {
			if room[r.id] > 0 {
				room[r.id]--
				out[s] = r.id
				break
			}
		}
	}
	return out
}

type scored struct {
	id string
	w  uint64
}

// weight is the rendezvous hash of a stream on a node (FNV-1a 64 of both,
// then a finalising mix so that similar ids spread).
func weight(stream, node string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(stream))
	h.Write([]byte{0})
	h.Write([]byte(node))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
