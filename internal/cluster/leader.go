package cluster

import (
	"context"
	"encoding/json"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// lead campaigns in etcd's election until ctx ends; while this node is
// the leader, loop places the streams. A lost session (the lease gone or
// etcd away for a lease's time) ends the term; the node campaigns again
// with its next session.
func (n *Node) lead(ctx context.Context) {
	for ctx.Err() == nil {
		sess := n.session()
		if sess == nil {
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		select {
		case <-sess.Done():
			// Its keep-alive gave up (etcd away for a lease's time) while
			// the lease itself may live on (keepAlive renews it once etcd
			// is back): a new session on the same lease, else this node
			// would never campaign again.
			n.renewSession(sess)
			sleep(ctx, 200*time.Millisecond)
			continue
		default:
		}
		e := concurrency.NewElection(sess, n.pfx+"leader")
		tctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-sess.Done():
			case <-tctx.Done():
			}
			cancel()
		}()
		if err := e.Campaign(tctx, n.cfg.NodeID); err != nil {
			cancel()
			if sess == n.session() {
				// Not a new session: etcd is away or the session died.
				sleep(ctx, 500*time.Millisecond)
			}
			continue
		}
		n.log.Info("elected: this node places the streams")
		n.elect.Store(e)
		n.poke()
		<-tctx.Done()
		n.elect.Store(nil)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		e.Resign(rctx)
		rcancel()
		cancel()
		n.log.Info("no longer the leader")
	}
}

// renewSession replaces a session whose keep-alive ended by one on the
// node's current lease (unless a rejoin replaced it already).
func (n *Node) renewSession(old *concurrency.Session) {
	n.mu.Lock()
	lease, cur := n.lease, n.sess
	n.mu.Unlock()
	if cur != old {
		return
	}
	s, err := concurrency.NewSession(n.cli, concurrency.WithLease(lease))
	if err != nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sess != old {
		s.Orphan()
		return
	}
	old.Orphan()
	n.sess = s
}

// noteSeen records the nodes this node has seen alive (every node's
// loop, so that a node elected later knows them). A record that goes in
// the first TTL after this node's start (and a second for etcd's expiry
// checks) is forgotten again: it may have been a killed process's, still
// there when this node started, which goes when its lease expires or when
// that node's next life revokes it just before registering again (a whole
// cluster killed and started again). Seen, the node's streams would move
// at once, in that gap; forgotten, they wait for it (absentSinceStart).
func (n *Node) noteSeen() {
	now := list[nodeRecord](n.mir, "nodes/")
	if time.Since(n.started) <= n.ttl+time.Second {
		for id := range n.seen {
			if _, ok := now[id]; !ok {
				delete(n.seen, id)
			}
		}
	}
	for id := range now {
		n.seen[id] = true
	}
}

// absentSinceStart tells a node that is not in the cluster and that this
// node has not seen since it started, while it started less than two
// TTLs ago.
func (n *Node) absentSinceStart(id string) bool {
	return !n.seen[id] && time.Since(n.started) < 2*n.ttl
}

// place computes the placement from the mirror and writes what changed,
// in transactions that only hold while this node's election key is the
// leader's (a deposed leader's writes fail).
func (n *Node) place(ctx context.Context, e *concurrency.Election) {
	nodes := list[nodeRecord](n.mir, "nodes/")
	streams := list[streamRecord](n.mir, "streams/")
	failed := list[failRecord](n.mir, "failed/")
	cur := list[assignRecord](n.mir, "assign/")
	last := n.mir.lastRev("assign/")
	var members []Member
	for id, r := range nodes {
		if !r.Draining {
			members = append(members, Member{ID: id, Capacity: r.Capacity, Joined: n.mir.createRev("nodes/"+id) > last})
		}
	}
	var ids []string
	wait := map[string]bool{}
	for id := range streams {
		if _, bad := failed[id]; bad {
			continue
		}
		if a, ok := cur[id]; ok && n.absentSinceStart(a.Node) {
			// Its node has not been seen since this one started: the
			// whole cluster may be starting again, that node a moment
			// behind. It gets 2 TTLs to come back before its streams
			// move (a node seen going moves its streams at once).
			wait[id] = true
			continue
		}
		ids = append(ids, id)
	}
	held := make(map[string]string, len(cur))
	for id, a := range cur {
		held[id] = a.Node
	}
	want := Place(ids, members, held)
	var ops []clientv3.Op
	for id, node := range want {
		if cur[id].Node != node {
			v, _ := json.Marshal(assignRecord{Node: node})
			ops = append(ops, clientv3.OpPut(n.pfx+"assign/"+id, string(v)))
		}
	}
	for id := range cur {
		if _, ok := want[id]; !ok && !wait[id] {
			ops = append(ops, clientv3.OpDelete(n.pfx+"assign/"+id))
		}
	}
	if len(ops) == 0 {
		return
	}
	leader := clientv3.Compare(clientv3.CreateRevision(e.Key()), "=", e.Rev())
	for len(ops) > 0 {
		k := min(len(ops), 64) // etcd's default bound is 128 operations a transaction
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		r, err := n.cli.Txn(cctx).If(leader).Then(ops[:k]...).Commit()
		cancel()
		if err != nil {
			n.log.Warn("writing the placement", "err", err)
			return
		}
		if !r.Succeeded {
			n.log.Warn("writing the placement: this node is no longer the leader")
			return
		}
		ops = ops[k:]
	}
	n.log.Info("placement written", "streams", len(ids), "placed", len(want), "nodes", len(members))
}
