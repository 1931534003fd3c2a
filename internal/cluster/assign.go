package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vidflow/vidflow/internal/service"
)

// loop places (on the leader) and reconciles this node's streams with its
// assignments, whenever the mirror changes and every second (to notice
// streams that ended by themselves).
func (n *Node) loop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-tick.C:
		}
		n.noteSeen()
		if e := n.elect.Load(); e != nil {
			n.place(ctx, e)
		}
		n.reconcile(ctx)
	}
}

// reconcile makes the service run exactly the streams assigned to this
// node (none while fenced): it removes the others, reports the streams
// that ended or failed, and adds the missing ones.
func (n *Node) reconcile(ctx context.Context) {
	n.recMu.Lock()
	defer n.recMu.Unlock()
	n.mu.Lock()
	fenced := n.fenced
	n.mu.Unlock()
	mine := map[string]int64{}
	if !fenced {
		mine = n.mir.assignedTo(n.cfg.NodeID)
	}
	for cam, l := range n.running {
		if _, ok := mine[cam]; !ok {
			n.stopLocal(ctx, l, "assigned elsewhere")
		}
	}
	live := map[string]bool{}
	for _, st := range n.svc.Streams() {
		live[st.CameraID] = true
	}
	for cam, l := range n.running {
		if !live[cam] {
			n.ended(ctx, l)
		}
	}
	streams := list[streamRecord](n.mir, "streams/")
	failed := list[failRecord](n.mir, "failed/")
	elsewhere := n.mir.running()
	n.dropStale(ctx, elsewhere)
	for cam := range mine {
		if n.running[cam] != nil {
			continue
		}
		s, ok := streams[cam]
		if _, bad := failed[cam]; !ok || bad {
			continue
		}
		if other := othersThan(elsewhere[cam], n.cfg.NodeID); len(other) > 0 {
			// The previous owner still reports it: it stops it (it
			// watches the same assignment) or its lease runs out; only
			// then this node starts it, so that it never runs twice.
			continue
		}
		id, err := n.svc.AddStream(s.ID, s.Name, s.URI)
		if err != nil {
			var se *service.Error
			if errors.As(err, &se) && (se.Status == http.StatusTooManyRequests || se.Status == http.StatusConflict || se.Status == http.StatusServiceUnavailable) {
				continue // a slot not yet free, the service stopping: later
			}
			n.fail(ctx, cam, err.Error())
			continue
		}
		l := &local{cam: cam, sourceID: id}
		n.running[cam] = l
		n.adds.Add(1)
		l.epoch = n.putStatus(ctx, l)
		n.log.Info("running", "camera_id", cam, "source_id", id, "epoch", l.epoch)
	}
	n.publishSources()
}

// stopLocal removes a stream from the service and its status.
func (n *Node) stopLocal(ctx context.Context, l *local, why string) {
	n.removeLocal(l, why)
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	n.cli.Delete(cctx, n.pfx+"status/"+l.cam+"/"+n.cfg.NodeID)
	cancel()
}

// removeLocal removes a stream from the service only.
func (n *Node) removeLocal(l *local, why string) {
	if _, err := n.svc.RemoveStream(l.cam); err != nil {
		n.log.Warn("removing a stream", "camera_id", l.cam, "err", err)
	}
	delete(n.running, l.cam)
	n.removes.Add(1)
	n.log.Info("stopped", "camera_id", l.cam, "why", why)
}

// ended handles a stream that left the service by itself: its source
// failed (a URI this node cannot open) or ended. It is recorded as failed,
// so the leader does not bounce it between nodes.
func (n *Node) ended(ctx context.Context, l *local) {
	delete(n.running, l.cam)
	why := "its source ended"
	if st, failed := n.svc.Pipeline().StreamFailure(service.Batcher, l.sourceID); failed && st.Err != nil {
		why = st.Err.Error()
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	n.cli.Delete(cctx, n.pfx+"status/"+l.cam+"/"+n.cfg.NodeID)
	cancel()
	n.fail(ctx, l.cam, why)
}

// fail records that this node could not run a stream.
func (n *Node) fail(ctx context.Context, cam, why string) {
	n.log.Warn("stream failed", "camera_id", cam, "err", why)
	v, _ := json.Marshal(failRecord{Node: n.cfg.NodeID, Error: why, Time: time.Now().UTC()})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	// Only while the stream is still wanted: a removal in between wins.
	n.cli.Txn(cctx).If(clientv3.Compare(clientv3.CreateRevision(n.pfx+"streams/"+cam), ">", 0)).
		Then(clientv3.OpPut(n.pfx+"failed/"+cam, string(v))).Commit()
}

// putStatus reports a running stream under the node's lease (it goes
// with the node) and returns the run's epoch: the etcd revision of the
// report, unique to this run of the stream, so that the event ids of two
// runs (a restart of the node with the same assignment, frame numbers
// from 0 again) never collide and JetStream drops only true copies.
func (n *Node) putStatus(ctx context.Context, l *local) int64 {
	n.mu.Lock()
	lease := n.lease
	n.mu.Unlock()
	v, _ := json.Marshal(statusRecord{SourceID: l.sourceID, Since: time.Now().UTC()})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r, err := n.cli.Put(cctx, n.pfx+"status/"+l.cam+"/"+n.cfg.NodeID, string(v), clientv3.WithLease(lease))
	if err != nil {
		n.log.Warn("reporting a stream", "camera_id", l.cam, "err", err)
		// etcd away: a number no revision reaches, unique to this run.
		return time.Now().UnixNano()
	}
	return r.Header.Revision
}

// dropStale deletes this node's status reports of streams it does not
// run (a delete that failed while etcd was away): they would keep the
// stream's next owner waiting.
func (n *Node) dropStale(ctx context.Context, reported map[string][]string) {
	for cam, nodes := range reported {
		if n.running[cam] != nil {
			continue
		}
		for _, id := range nodes {
			if id == n.cfg.NodeID {
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				n.cli.Delete(cctx, n.pfx+"status/"+cam+"/"+n.cfg.NodeID)
				cancel()
			}
		}
	}
}

func othersThan(nodes []string, self string) []string {
	var out []string
	for _, id := range nodes {
		if id != self {
			out = append(out, id)
		}
	}
	return out
}

// publishSources gives the event probe the source ids this node runs.
func (n *Node) publishSources() {
	m := make(map[int]local, len(n.running))
	for _, l := range n.running {
		m[l.sourceID] = *l
	}
	n.srcs.Store(&m)
}

// stopAll stops every stream here (fencing, leaving), at once: their
// status reports are not deleted one by one (etcd may not answer), they
// go with the lease (expired, or revoked by Close).
func (n *Node) stopAll(why string) {
	n.recMu.Lock()
	defer n.recMu.Unlock()
	empty := map[int]local{}
	n.srcs.Store(&empty) // no event of a fenced node from now on
	for _, l := range n.running {
		n.removeLocal(l, why)
	}
}

// keepAlive renews the lease every quarter of its TTL. The fence goes up
// half a TTL after the last successful renewal's request left: etcd
// cannot have expired the lease before a full TTL from then, so a node
// that stops its streams in the half TTL between never runs them while
// another node does.
func (n *Node) keepAlive(ctx context.Context) {
	every := n.ttl / 4
	for ctx.Err() == nil {
		t0 := time.Now()
		n.mu.Lock()
		lease, deadline := n.lease, n.deadline
		n.mu.Unlock()
		// A renewal that hangs (etcd cut off) must not hold the check of
		// the fence past its time.
		limit := every
		if left := time.Until(deadline); left < limit {
			limit = max(left, every/3)
		}
		err := n.renew(ctx, lease, limit)
		switch {
		case err == nil:
			n.renewed(t0)
		case ctx.Err() != nil:
			return
		case isLeaseGone(err):
			n.renewed(t0) // etcd answers; the lease is what is gone
			n.fence("its etcd lease expired")
			n.rejoin(ctx)
		default:
			if n.firstFail.IsZero() {
				n.firstFail = t0
			}
			n.unrenewed(ctx, lease, err)
		}
		sleep(ctx, every-time.Since(t0))
	}
}

// unrenewed decides on a failed renewal. Before the fence's time, or
// while etcd is away for every node (no one can take the streams over),
// the node keeps its streams. When another node renewed its lease after
// this one began to fail, this one is cut off from etcd: it fences,
// unless a renewal succeeds now. Right after an outage of etcd for all
// (the last check found every node cut off) the others may just have
// reconnected first, and etcd, back, extended the leases by their TTL:
// the renewals are tried until the time a lease renewed before that
// check could run out.
func (n *Node) unrenewed(ctx context.Context, lease clientv3.LeaseID, err error) {
	every := n.ttl / 4
	n.mu.Lock()
	late := time.Now().After(n.deadline) && !n.fenced
	n.mu.Unlock()
	if !late {
		return
	}
	others, allDown := n.partitioned(ctx)
	if allDown {
		n.allDownAt, n.upAfterDown = time.Now(), time.Time{}
		return
	}
	if !others {
		return
	}
	until := time.Now().Add(every / 3)
	if since := time.Since(n.allDownAt); since < 2*every {
		until = n.allDownAt.Add(n.ttl / 2)
	}
	// The first check that found the others back after an outage for
	// all: etcd, restarted, gave every lease a full TTL no earlier than a
	// check period before this, so renewals may be tried for half a TTL
	// from here and the fence still goes up a quarter TTL before any lease
	// of this node could run out (reconnecting takes a loaded node longer
	// than the others).
	if !n.allDownAt.IsZero() && n.upAfterDown.IsZero() {
		n.upAfterDown = time.Now()
	}
	if !n.upAfterDown.IsZero() {
		until = later(until, n.upAfterDown.Add(n.ttl/2))
	}
	for {
		t1 := time.Now()
		if err = n.renew(ctx, lease, every/3); err == nil {
			n.renewed(t1)
			return
		}
		if ctx.Err() != nil || time.Now().After(until) {
			break
		}
		sleep(ctx, 50*time.Millisecond)
	}
	n.fence(fmt.Sprintf("etcd is unreachable from this node (%v) but not from the others", err))
}

// renew renews the lease once.
func (n *Node) renew(ctx context.Context, lease clientv3.LeaseID, limit time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	_, err := n.cli.KeepAliveOnce(cctx, lease)
	return err
}

// renewed moves the fence on after a renewal whose request left at t0,
// and lifts it if it was up.
func (n *Node) renewed(t0 time.Time) {
	n.lastOK.Store(t0.UnixNano())
	n.firstFail, n.allDownAt, n.upAfterDown = time.Time{}, time.Time{}, time.Time{}
	n.mu.Lock()
	n.deadline = t0.Add(n.ttl / 2)
	wasFenced := n.fenced
	n.fenced = false
	n.mu.Unlock()
	if wasFenced {
		n.log.Info("lease renewed: running the assigned streams again")
		n.poke()
	}
}

// etcdUp tells whether the lease was renewed lately (within one and a
// half renewal periods): the view's etcd "ok".
func (n *Node) etcdUp() bool {
	return time.Since(time.Unix(0, n.lastOK.Load())) < n.ttl*3/8
}

// renewedAgo is how long ago the last successful renewal's request left:
// what the other nodes compare with the time their own renewals began to
// fail.
func (n *Node) renewedAgo() time.Duration { return time.Since(time.Unix(0, n.lastOK.Load())) }

// isLeaseGone tells etcd's answer that the lease does not exist (it
// expired) from the errors of an etcd that does not answer.
func isLeaseGone(err error) bool {
	return errors.Is(err, rpctypes.ErrLeaseNotFound) || strings.Contains(err.Error(), "requested lease not found")
}

// fence stops every stream of this node: it may no longer be their owner.
func (n *Node) fence(why string) {
	n.mu.Lock()
	if n.fenced {
		n.mu.Unlock()
		return
	}
	n.fenced = true
	n.mu.Unlock()
	n.fences.Add(1)
	n.log.Warn("fenced: stopping this node's streams", "why", why)
	n.stopAll("fenced: " + why)
}

// rejoin registers the node again with a new lease after its old one
// expired; the leader then places streams on it again.
func (n *Node) rejoin(ctx context.Context) {
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := n.join(cctx)
		cancel()
		if err == nil {
			n.log.Info("joined the cluster again")
			n.poke()
			return
		}
		n.log.Warn("joining again", "err", err)
		sleep(ctx, time.Second)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
