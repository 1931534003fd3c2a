// Package cluster is the cluster mode of `vidflow serve`: many nodes that
// run as one service, on etcd and NATS JetStream (no consensus, queue or
// membership of vidflow's own).
//
//   - Membership: each node holds an etcd lease (a few seconds) with its
//     record under <prefix>nodes/<id>; a node that dies loses it.
//   - Desired state: the streams (id, name, URI) are keys under
//     <prefix>streams/, without a lease, so they outlive every node.
//   - Placement: one node, elected with etcd's election API, assigns the
//     streams to the live nodes with rendezvous hashing within their
//     capacity (Place) and writes <prefix>assign/<stream> in transactions
//     that hold only while it is the leader.
//   - Each node watches the whole prefix and runs what is assigned to it
//     with the service's AddStream / RemoveStream; what runs is reported
//     under <prefix>status/<stream>/<node>, with the node's lease.
//   - Fencing: a node whose lease is lost (or that cannot renew it while
//     the other nodes can) stops its streams before etcd gives them away.
//   - Events go to NATS JetStream with a message id per event, so the
//     stream's duplicate window drops what a retry or restart sends twice.
//
// See docs/cluster.md.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/vidflow/vidflow/internal/service"
)

// nodeRecord is a node's key: who it is and where it is reached.
type nodeRecord struct {
	ID        string    `json:"id"`
	Advertise string    `json:"advertise"`
	Capacity  int       `json:"capacity"`
	Draining  bool      `json:"draining"`
	Started   time.Time `json:"started"`
	Lease     int64     `json:"lease"`
}

// streamRecord is a stream of the desired set.
type streamRecord struct {
	ID    string    `json:"camera_id"`
	Name  string    `json:"camera_name"`
	URI   string    `json:"camera_url"`
	Added time.Time `json:"added"`
}

// assignRecord is the leader's placement of a stream.
type assignRecord struct {
	Node string `json:"node"`
}

// statusRecord is what a node runs, under its lease; the key's revision
// is the run's epoch (see putStatus).
type statusRecord struct {
	SourceID int       `json:"source_id"`
	Since    time.Time `json:"since"`
}

// failRecord is a stream that its node could not open: it is not placed
// again (no bouncing between nodes) until it is removed and added again.
type failRecord struct {
	Node  string    `json:"node"`
	Error string    `json:"error"`
	Time  time.Time `json:"time"`
}

// Node is this process as a node of the cluster.
type Node struct {
	cfg   *service.ClusterConfig
	token string
	log   *slog.Logger
	svc   *service.Service
	cli   *clientv3.Client
	pfx   string
	ttl   time.Duration
	pub   *publisher
	http  *http.Client

	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	mu       sync.Mutex
	lease    clientv3.LeaseID
	sess     *concurrency.Session
	rec      nodeRecord
	fenced   bool
	deadline time.Time // stop the streams by then unless the lease is renewed

	// keepAlive's: the last check that found etcd away for every node,
	// and when the first of the renewals failing since the last success
	// left.
	allDownAt, firstFail time.Time
	upAfterDown          time.Time // the first check after allDownAt that found the others renewing

	mir    *mirror
	elect  atomic.Pointer[concurrency.Election]
	lastOK atomic.Int64 // when the lease was last renewed (UnixNano)
	joined atomic.Bool  // Start is done: the REST API may use the mirror

	recMu   sync.Mutex // one reconcile at a time
	running map[string]*local
	srcs    atomic.Pointer[map[int]local]

	fences, adds, removes atomic.Int64

	// The loop's: the nodes seen alive since this one started, and when.
	seen    map[string]bool
	started time.Time
}

// local is a stream this node runs.
type local struct {
	cam      string
	sourceID int
	epoch    int64 // the run's epoch, in its events' ids
}

// New makes a node of cfg's cluster section; Start joins.
func New(cfg *service.Config, log *slog.Logger) (*Node, error) {
	if cfg.Cluster == nil {
		return nil, errors.New("cluster: the config has no cluster: section")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := cfg.Cluster
	n := &Node{cfg: c, token: cfg.REST.AuthToken, log: log.With("node", c.NodeID), pfx: c.Prefix, ttl: time.Duration(c.LeaseTTL),
		wake: make(chan struct{}, 1), running: map[string]*local{}, http: &http.Client{Timeout: time.Second},
		seen: map[string]bool{}, started: time.Now()}
	if c.NATS != "" {
		p, err := newPublisher(c, n.log)
		if err != nil {
			return nil, err
		}
		n.pub = p
	}
	empty := map[int]local{}
	n.srcs.Store(&empty)
	return n, nil
}

// Start joins the cluster: etcd must answer (else an error naming its
// endpoints), the node id must be free, then the node registers, takes
// part in the election, follows its assignments and publishes events.
// svc is the node's own service, already started.
func (n *Node) Start(ctx context.Context, svc *service.Service, sources []service.Sensor) error {
	n.svc = svc
	if n.cfg.Advertise == "" {
		n.cfg.Advertise = "http://" + svc.Addr()
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: n.cfg.Etcd, DialTimeout: 3 * time.Second, Logger: zap.NewNop(),
		DialKeepAliveTime: 2 * time.Second, DialKeepAliveTimeout: 2 * time.Second,
		// gRPC's reconnect backoff grows to two minutes: after an etcd
		// outage the nodes would reconnect long after etcd is back and
		// their leases ran out. A second at most, so they renew in time.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{MinConnectTimeout: time.Second,
			Backoff: backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second}})}})
	if err != nil {
		return fmt.Errorf("cluster: etcd %s: %w", strings.Join(n.cfg.Etcd, ", "), err)
	}
	n.cli = cli
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Get(cctx, n.pfx+"nodes/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return fmt.Errorf("cluster: etcd unreachable at %s: %w", strings.Join(n.cfg.Etcd, ", "), err)
	}
	n.lastOK.Store(time.Now().UnixNano())
	if err := n.join(cctx); err != nil {
		cli.Close()
		return err
	}
	for _, s := range sources {
		// The configured streams join the desired set once; a stream that
		// is already there (from another node's config) stays as it is.
		if _, err := n.store(cctx, s.SensorID, s.SensorName, s.URI); err != nil && !isConflict(err) {
			n.log.Warn("storing a configured stream", "camera_id", s.SensorID, "err", err)
		}
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	n.cancel = stop
	n.mir = newMirror(cli, n.pfx, n.poke)
	if err := n.mir.load(cctx); err != nil {
		stop()
		cli.Close()
		return fmt.Errorf("cluster: reading etcd: %w", err)
	}
	n.joined.Store(true)
	n.run(rctx, n.mir.watch)
	n.run(rctx, n.keepAlive)
	n.run(rctx, n.lead)
	n.run(rctx, n.loop)
	if n.pub != nil {
		n.run(rctx, n.pub.run)
	}
	n.log.Info("joined the cluster", "etcd", n.cfg.Etcd, "advertise", n.cfg.Advertise, "capacity", n.cfg.Capacity)
	return nil
}

func (n *Node) run(ctx context.Context, f func(context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f(ctx)
	}()
}

// poke asks the loop to look again (placement, assignments).
func (n *Node) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// join grants a lease, registers the node under it and opens the session
// the election uses.
func (n *Node) join(ctx context.Context) error {
	lg, err := n.cli.Grant(ctx, int64(n.ttl/time.Second))
	if err != nil {
		return fmt.Errorf("cluster: etcd lease: %w", err)
	}
	rec := nodeRecord{ID: n.cfg.NodeID, Advertise: n.cfg.Advertise, Capacity: n.cfg.Capacity, Started: time.Now().UTC(), Lease: int64(lg.ID)}
	if err := n.register(ctx, rec, lg.ID); err != nil {
		n.cli.Revoke(context.WithoutCancel(ctx), lg.ID)
		return err
	}
	sess, err := concurrency.NewSession(n.cli, concurrency.WithLease(lg.ID))
	if err != nil {
		return fmt.Errorf("cluster: etcd session: %w", err)
	}
	n.mu.Lock()
	if n.sess != nil {
		n.sess.Orphan() // the expired lease's: its keep-alive ends
	}
	n.lease, n.sess, n.rec, n.fenced = lg.ID, sess, rec, false
	n.deadline = time.Now().Add(n.ttl / 2)
	n.mu.Unlock()
	return nil
}

// register writes the node's key if no live node has the id. A key of
// the same id and address is this node's previous life (killed before its
// lease ran out: this process holds the address now), whose lease is
// revoked; another address is a second node with the same id, refused.
func (n *Node) register(ctx context.Context, rec nodeRecord, lease clientv3.LeaseID) error {
	key := n.pfx + "nodes/" + rec.ID
	val, _ := json.Marshal(rec)
	for try := 0; try < 2; try++ {
		r, err := n.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, string(val), clientv3.WithLease(lease))).Else(clientv3.OpGet(key)).Commit()
		if err != nil {
			return fmt.Errorf("cluster: registering node %q: %w", rec.ID, err)
		}
		if r.Succeeded {
			return nil
		}
		var old nodeRecord
		if kvs := r.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			json.Unmarshal(kvs[0].Value, &old)
		}
		if old.Advertise != rec.Advertise {
			return fmt.Errorf("cluster: node-id %q is already in use by a live node at %s (up since %s); give every node a cluster.node-id of its own",
				rec.ID, old.Advertise, old.Started.Format(time.RFC3339))
		}
		n.log.Info("replacing this node's previous registration", "lease", old.Lease)
		n.cli.Revoke(ctx, clientv3.LeaseID(old.Lease))
	}
	return fmt.Errorf("cluster: node-id %q: its previous registration did not go away", rec.ID)
}

// session is the current election session (nil while fenced).
func (n *Node) session() *concurrency.Session {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sess
}

// putSelf rewrites the node's record (draining) under its lease.
func (n *Node) putSelf(ctx context.Context, draining bool) error {
	n.mu.Lock()
	n.rec.Draining = draining
	rec, lease := n.rec, n.lease
	n.mu.Unlock()
	val, _ := json.Marshal(rec)
	_, err := n.cli.Put(ctx, n.pfx+"nodes/"+rec.ID, string(val), clientv3.WithLease(lease))
	return err
}

// Drain hands the node's streams over: it marks itself draining, the
// leader places its streams elsewhere, and Drain returns once they have
// left this node (or after cluster.drain-timeout). Then Close.
func (n *Node) Drain(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n.cfg.DrainTimeout))
	defer cancel()
	if err := n.putSelf(ctx, true); err != nil {
		return fmt.Errorf("cluster: draining: %w", err)
	}
	n.log.Info("draining: handing the streams over")
	for {
		n.recMu.Lock()
		left := len(n.running)
		n.recMu.Unlock()
		if left == 0 && len(n.mir.assignedTo(n.cfg.NodeID)) == 0 {
			n.log.Info("drained")
			return nil
		}
		if n.takers() == 0 {
			// The last node: its streams stay in the desired set and run
			// again when a node joins.
			n.log.Info("draining: no other node to take the streams", "streams", left)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: draining: %d streams still here after %v", left, time.Duration(n.cfg.DrainTimeout))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close leaves the cluster: the loops stop, the events still in the
// outbox get a few seconds, the lease is revoked (the node's key and
// status go at once, so its streams are placed elsewhere without waiting
// for the lease to run out).
func (n *Node) Close() error {
	if n.cancel == nil {
		return nil
	}
	n.cancel()
	n.wg.Wait()
	n.stopAll("the node is leaving")
	if n.pub != nil {
		n.pub.close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n.mu.Lock()
	lease := n.lease
	n.mu.Unlock()
	n.cli.Revoke(ctx, lease)
	return n.cli.Close()
}

// takers counts the other live nodes that are not draining.
func (n *Node) takers() int {
	k := 0
	for id, r := range list[nodeRecord](n.mir, "nodes/") {
		if id != n.cfg.NodeID && !r.Draining {
			k++
		}
	}
	return k
}

func isConflict(err error) bool {
	var e *service.Error
	return errors.As(err, &e) && e.Status == http.StatusConflict
}
