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
	for cam, epoch := range mine {
		if n.running[cam] != nil {
			continue
		}
		s, ok := streams[cam]
		if _, bad := failed[cam]; !ok || bad {
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
		l := &local{cam: cam, sourceID: id, epoch: epoch}
		n.running[cam] = l
		n.adds.Add(1)
		n.putStatus(ctx, l)
		n.log.Info("running", "camera_id", cam, "source_id", id, "epoch", epoch)
	}
	n.publishSources()
}

// stopLocal removes a stream from the service and its status.
func (n *Node) stopLocal(ctx context.Context, l *local, why string) {
	if _, err := n.svc.RemoveStream(l.cam); err != nil {
		n.log.Warn("removing a stream", "camera_id", l.cam, "err", err)
	}
	delete(n.running, l.cam)
	n.removes.Add(1)
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	n.cli.Delete(cctx, n.pfx+"status/"+l.cam+"/"+n.cfg.NodeID)
	cancel()
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

// putStatus reports a running stream under the node's lease: it goes
// with the node.
func (n *Node) putStatus(ctx context.Context, l *local) {
	n.mu.Lock()
	lease := n.lease
	n.mu.Unlock()
	v, _ := json.Marshal(statusRecord{SourceID: l.sourceID, Epoch: l.epoch, Since: time.Now().UTC()})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := n.cli.Put(cctx, n.pfx+"status/"+l.cam+"/"+n.cfg.NodeID, string(v), clientv3.WithLease(lease)); err != nil {
		n.log.Warn("reporting a stream", "camera_id", l.cam, "err", err)
	}
}

// publishSources gives the event probe the source ids this node runs.
func (n *Node) publishSources() {
	m := make(map[int]local, len(n.running))
	for _, l := range n.running {
		m[l.sourceID] = *l
	}
	n.srcs.Store(&m)
}

// stopAll stops every stream here (fencing, leaving).
func (n *Node) stopAll(why string) {
	n.recMu.Lock()
	defer n.recMu.Unlock()
	empty := map[int]local{}
	n.srcs.Store(&empty) // no event of a fenced node from now on
	for _, l := range n.running {
		n.stopLocal(context.Background(), l, why)
	}
}

// keepAlive renews the lease every quarter of its TTL. The fence is the
// time of the last renewal's request plus the TTL, less a quarter: etcd
// cannot have expired the lease before then, so a node that stops its
// streams by then never runs them while another node does.
func (n *Node) keepAlive(ctx context.Context) {
	every := n.ttl / 4
	for ctx.Err() == nil {
		t0 := time.Now()
		n.mu.Lock()
		lease := n.lease
		n.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, every)
		_, err := n.cli.KeepAliveOnce(cctx, lease)
		cancel()
		switch {
		case err == nil:
			n.etcdOK.Store(true)
			n.mu.Lock()
			n.deadline = t0.Add(n.ttl - every)
			wasFenced := n.fenced
			n.fenced = false
			n.mu.Unlock()
			if wasFenced {
				n.log.Info("lease renewed: running the assigned streams again")
				n.poke()
			}
		case ctx.Err() != nil:
			return
		case isLeaseGone(err):
			n.etcdOK.Store(true)
			n.fence("its etcd lease expired")
			n.rejoin(ctx)
		default:
			n.etcdOK.Store(false)
			n.mu.Lock()
			late := time.Now().After(n.deadline) && !n.fenced
			n.mu.Unlock()
			if late && n.partitioned(ctx) {
				n.fence(fmt.Sprintf("etcd is unreachable from this node (%v) but not from the others", err))
			}
		}
		sleep(ctx, every-time.Since(t0))
	}
}

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
