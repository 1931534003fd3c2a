package cluster

import (
	"hash/fnv"
	"sort"
)

// Member is a node as placement sees it.
type Member struct {
	ID       string
	Capacity int
	// Joined: the node joined after the last placement was written (it
	// came up, or back); only such a node takes streams from others.
	Joined bool
}

// Place assigns streams to nodes by rendezvous (highest random weight)
// hashing within the nodes' capacity shares, keeping what runs where it
// runs (cur: stream → node, the current assignments):
//
//  1. a stream stays on its node while that node is a member;
//  2. a node that joined since the last placement and holds none of the
//     streams takes, up to its share, the streams that rank it above
//     their node, those that rank it highest first;
//  3. a node over its share keeps the streams that rank it highest;
//  4. the other streams go, in the order of their id, to the node of the
//     highest hash(stream, node) that still has room.
//
// A node's share is its part of the streams by capacity, rounded up (and
// at most its capacity), so the streams spread by capacity instead of
// filling the first-ranked nodes. So adding a stream moves no other, a
// node that dies moves only its own streams, and a node that joins
// takes streams that rank it first; with no current assignments the
// answer is the plain rendezvous placement, which depends only on the
// sets given. Streams that fit nowhere are left out (pending).
func Place(streams []string, nodes []Member, cur map[string]string) map[string]string {
	ids := append([]string(nil), streams...)
	sort.Strings(ids)
	members := append([]Member(nil), nodes...)
	sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
	total := 0
	for _, n := range members {
		total += max(n.Capacity, 0)
	}
	share := make(map[string]int, len(members))
	for _, n := range members {
		if total > 0 {
			share[n.ID] = min(n.Capacity, (len(ids)*n.Capacity+total-1)/total)
		}
	}
	out := make(map[string]string, len(ids))
	held := map[string]int{}
	for _, s := range ids {
		if n, ok := cur[s]; ok {
			if _, member := share[n]; member {
				out[s] = n
				held[n]++
			}
		}
	}
	for _, m := range members {
		if !m.Joined || held[m.ID] > 0 {
			continue
		}
		var better []string
		for _, s := range ids {
			if n, ok := out[s]; ok && weight(s, m.ID) > weight(s, n) {
				better = append(better, s)
			}
		}
		byWeight(better, m.ID)
		for _, s := range better[:min(len(better), share[m.ID])] {
			held[out[s]]--
			out[s] = m.ID
			held[m.ID]++
		}
	}
	room := make(map[string]int, len(members))
	for _, m := range members {
		if held[m.ID] > share[m.ID] {
			var its []string
			for _, s := range ids {
				if out[s] == m.ID {
					its = append(its, s)
				}
			}
			byWeight(its, m.ID)
			for _, s := range its[share[m.ID]:] {
				delete(out, s)
			}
			held[m.ID] = share[m.ID]
		}
		room[m.ID] = share[m.ID] - held[m.ID]
	}
	ranked := make([]scored, 0, len(members))
	for _, s := range ids {
		if _, ok := out[s]; ok {
			continue
		}
		ranked = ranked[:0]
		for _, n := range members {
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

// byWeight sorts streams by their weight on node, highest first.
func byWeight(streams []string, node string) {
	sort.Slice(streams, func(i, j int) bool { return weight(streams[i], node) > weight(streams[j], node) })
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
