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
//  1. a stream stays on its node while that node is a member with room;
//  2. a node that joined since the last placement and has none of the
//     streams takes, up to its share, the streams that rank it above
//     their node, those that rank it highest first;
//  3. the other streams go, in the order of their id, to the node of the
//     highest hash(stream, node) that still has room.
//
// A node's room is its share of the streams by capacity (rounded up), so
// the streams spread by capacity instead of filling the first-ranked
// nodes. So adding a stream moves no other, a node that dies moves only
// its own streams, and a node that joins takes only streams that rank it
// first; with no current assignments the answer is the plain rendezvous
// placement, which depends only on the sets given. Streams that fit
// nowhere are left out (pending).
func Place(streams []string, nodes []Member, cur map[string]string) map[string]string {
	ids := append([]string(nil), streams...)
	sort.Strings(ids)
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
	held := map[string]int{}
	for _, s := range ids {
		if n, ok := cur[s]; ok && room[n] > 0 {
			out[s] = n
			room[n]--
			held[n]++
		}
	}
	members := append([]Member(nil), nodes...)
	sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
	for _, m := range members {
		if !m.Joined || held[m.ID] > 0 || room[m.ID] == 0 {
			continue
		}
		var better []string
		for _, s := range ids {
			if n, ok := out[s]; ok && weight(s, m.ID) > weight(s, n) {
				better = append(better, s)
			}
		}
		sort.Slice(better, func(i, j int) bool { return weight(better[i], m.ID) > weight(better[j], m.ID) })
		for _, s := range better[:min(len(better), room[m.ID])] {
			room[out[s]]++
			out[s] = m.ID
			room[m.ID]--
		}
	}
	ranked := make([]scored, 0, len(nodes))
	for _, s := range ids {
		if _, ok := out[s]; ok {
			continue
		}
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
