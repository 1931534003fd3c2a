package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vidflow/vidflow/internal/service"
)

// The node is the service's Cluster: any node answers for all.
var _ service.Cluster = (*Node)(nil)

// unavailable is the answer while etcd does not: a 503 naming etcd's
// endpoints and what still works.
func (n *Node) unavailable(err error) *service.Error {
	return &service.Error{Status: http.StatusServiceUnavailable, Code: "etcd_unavailable",
		Msg: fmt.Sprintf("etcd (%s) does not answer: %v; no stream can be placed or removed until it does, the running streams go on",
			strings.Join(n.cfg.Etcd, ", "), err)}
}

// joining is the answer of a node whose REST API serves before it has
// joined the cluster (it listens first, to know its address).
var joining = &service.Error{Status: http.StatusServiceUnavailable, Code: "joining", Msg: "this node is joining the cluster; try again in a moment"}

// Add stores a stream in the desired set, if the cluster has room, and
// waits a few seconds for it to run to say where.
func (n *Node) Add(ctx context.Context, id, name, uri string) (service.ClusterStream, error) {
	if !n.joined.Load() {
		return service.ClusterStream{CameraID: id, SourceID: -1, State: "unknown"}, joining
	}
	st, err := n.store(ctx, id, name, uri)
	if err != nil {
		return st, err
	}
	n.log.Info("stream stored", "camera_id", id)
	return n.await(ctx, id, func(s service.ClusterStream) bool { return s.State == "running" || s.State == "failed" }), nil
}

// store puts the stream in etcd when the live nodes have room for it.
func (n *Node) store(ctx context.Context, id, name, uri string) (service.ClusterStream, error) {
	out := service.ClusterStream{CameraID: id, CameraName: name, CameraURL: uri, SourceID: -1, State: "pending"}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	r, err := n.cli.Txn(cctx).Then(clientv3.OpGet(n.pfx+"nodes/", clientv3.WithPrefix()),
		clientv3.OpGet(n.pfx+"streams/", clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(n.pfx+"failed/", clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(n.pfx+"streams/"+id, clientv3.WithCountOnly())).Commit()
	if err != nil {
		return out, n.unavailable(err)
	}
	if r.Responses[3].GetResponseRange().Count > 0 {
		return out, n.duplicate(id) // before "full": the id is the mistake
	}
	capacity, live := 0, 0
	for _, kv := range r.Responses[0].GetResponseRange().Kvs {
		var rec nodeRecord
		if json.Unmarshal(kv.Value, &rec) == nil && !rec.Draining {
			capacity += rec.Capacity
			live++
		}
	}
	wanted := len(r.Responses[1].GetResponseRange().Kvs) - len(r.Responses[2].GetResponseRange().Kvs)
	if wanted >= capacity {
		return out, &service.Error{Status: http.StatusTooManyRequests, Code: "cluster_full",
			Msg: fmt.Sprintf("the cluster is full: %d streams on %d live nodes of capacity %d in all, free capacity 0; remove a stream or add a node", wanted, live, capacity)}
	}
	v, _ := json.Marshal(streamRecord{ID: id, Name: name, URI: uri, Added: time.Now().UTC()})
	key := n.pfx + "streams/" + id
	tr, err := n.cli.Txn(cctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(v)), clientv3.OpDelete(n.pfx+"failed/"+id)).Commit()
	if err != nil {
		return out, n.unavailable(err)
	}
	if !tr.Succeeded {
		return out, n.duplicate(id)
	}
	return out, nil
}

func (n *Node) duplicate(id string) *service.Error {
	where := n.where(id)
	return &service.Error{Status: http.StatusConflict, Code: "duplicate_camera_id",
		Msg: fmt.Sprintf("camera_id %q is already in the cluster (node %q, %s)", id, where.Node, where.State)}
}

// await waits (5 s at most) for a stream's view to satisfy done and
// returns its last view.
func (n *Node) await(ctx context.Context, id string, done func(service.ClusterStream) bool) service.ClusterStream {
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := n.where(id)
		if done(s) || time.Now().After(deadline) || !sleep(ctx, 50*time.Millisecond) {
			return s
		}
	}
}

// Remove deletes a stream from the desired set and its assignment; the
// node that runs it stops it. It answers once that node reports it
// stopped (or after 5 s).
func (n *Node) Remove(ctx context.Context, id string) (service.ClusterStream, error) {
	if !n.joined.Load() {
		return service.ClusterStream{CameraID: id, SourceID: -1, State: "unknown"}, joining
	}
	before := n.where(id)
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	key := n.pfx + "streams/" + id
	r, err := n.cli.Txn(cctx).If(clientv3.Compare(clientv3.CreateRevision(key), ">", 0)).
		Then(clientv3.OpGet(key), clientv3.OpDelete(key), clientv3.OpDelete(n.pfx+"failed/"+id), clientv3.OpDelete(n.pfx+"assign/"+id)).Commit()
	if err != nil {
		return before, n.unavailable(err)
	}
	if !r.Succeeded {
		return before, &service.Error{Status: http.StatusNotFound, Code: "unknown_camera_id", Msg: fmt.Sprintf("no stream with camera_id %q in the cluster", id)}
	}
	var rec streamRecord
	if kvs := r.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		json.Unmarshal(kvs[0].Value, &rec)
	}
	before.CameraID, before.CameraName, before.CameraURL = rec.ID, rec.Name, rec.URI
	n.await(ctx, id, func(s service.ClusterStream) bool { return s.Node == "" || s.State != "running" })
	before.State = "removed"
	return before, nil
}

// where is a stream's view from the mirror.
func (n *Node) where(id string) service.ClusterStream {
	for _, s := range n.streams() {
		if s.CameraID == id {
			return s
		}
	}
	return service.ClusterStream{CameraID: id, SourceID: -1, State: "unknown"}
}

// Streams lists every stream of the cluster, from the mirror (so it
// answers while etcd is away, with what etcd last said).
func (n *Node) Streams(ctx context.Context) ([]service.ClusterStream, error) {
	if !n.joined.Load() {
		return nil, joining
	}
	return n.streams(), nil
}

func (n *Node) streams() []service.ClusterStream {
	streams := list[streamRecord](n.mir, "streams/")
	assign := list[assignRecord](n.mir, "assign/")
	failed := list[failRecord](n.mir, "failed/")
	status := list[statusRecord](n.mir, "status/")
	nodes := list[nodeRecord](n.mir, "nodes/")
	out := make([]service.ClusterStream, 0, len(streams))
	for id, s := range streams {
		cs := service.ClusterStream{CameraID: id, CameraName: s.Name, CameraURL: s.URI, SourceID: -1, State: "pending"}
		if f, ok := failed[id]; ok {
			cs.State, cs.Node, cs.Error = "failed", f.Node, f.Error
		} else if a, ok := assign[id]; ok {
			cs.Node, cs.State = a.Node, "assigned"
			if st, ok := status[id+"/"+a.Node]; ok {
				cs.State, cs.SourceID = "running", st.SourceID
			}
		}
		if r, ok := nodes[cs.Node]; ok {
			cs.NodeURL = r.Advertise
		}
		out = append(out, cs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CameraID < out[j].CameraID })
	return out
}

// nodeView is a node in the cluster view.
type nodeView struct {
	ID        string `json:"id"`
	Advertise string `json:"advertise"`
	Capacity  int    `json:"capacity"`
	Streams   int    `json:"streams"`
	Draining  bool   `json:"draining"`
	Leader    bool   `json:"leader"`
	Started   string `json:"started"`
}

// clusterView is GET /api/v1/cluster and the metrics' "cluster".
type clusterView struct {
	Node   string `json:"node"`
	Leader string `json:"leader"`
	Etcd   string `json:"etcd"`
	Fenced bool   `json:"fenced"`
	// RenewedMsAgo: how long ago this node's last successful lease
	// renewal left (what a node cut off from etcd asks the others).
	RenewedMsAgo *int64         `json:"renewed_ms_ago,omitempty"`
	Revision     int64          `json:"revision"`
	Nodes        []nodeView     `json:"nodes"`
	Capacity     int            `json:"capacity"`
	Free         int            `json:"free"`
	States       map[string]int `json:"streams"`
	Events       *pubStats      `json:"events,omitempty"`
}

// View is the cluster as this node sees it.
func (n *Node) View(ctx context.Context) any { return n.view() }

func (n *Node) view() *clusterView {
	if !n.joined.Load() {
		return &clusterView{Node: n.cfg.NodeID, Etcd: "joining", States: map[string]int{}}
	}
	v := &clusterView{Node: n.cfg.NodeID, Leader: n.mir.leader(), Etcd: "ok", Revision: n.mir.revision(), States: map[string]int{}}
	if !n.etcdUp() {
		v.Etcd = "unreachable"
	}
	ago := n.renewedAgo().Milliseconds()
	v.RenewedMsAgo = &ago
	n.mu.Lock()
	v.Fenced = n.fenced
	n.mu.Unlock()
	load := map[string]int{}
	for _, nodes := range n.mir.running() {
		for _, id := range nodes {
			load[id]++
		}
	}
	wanted := 0
	for _, s := range n.streams() {
		v.States[s.State]++
		if s.State != "failed" {
			wanted++
		}
	}
	for id, r := range list[nodeRecord](n.mir, "nodes/") {
		v.Nodes = append(v.Nodes, nodeView{ID: id, Advertise: r.Advertise, Capacity: r.Capacity, Streams: load[id], Draining: r.Draining,
			Leader: id == v.Leader, Started: r.Started.Format(time.RFC3339)})
		if !r.Draining {
			v.Capacity += r.Capacity
		}
	}
	sort.Slice(v.Nodes, func(i, j int) bool { return v.Nodes[i].ID < v.Nodes[j].ID })
	v.Free = max(v.Capacity-wanted, 0)
	if n.pub != nil {
		st := n.pub.stats()
		v.Events = &st
	}
	return v
}

// WritePrometheus writes the cluster's metrics (text format).
func (n *Node) WritePrometheus(w io.Writer) {
	v := n.view()
	b2f := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	var sb strings.Builder
	metric := func(name, typ, help string) { fmt.Fprintf(&sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ) }
	metric("vidflow_cluster_nodes", "gauge", "Live nodes of the cluster, as this node sees them.")
	fmt.Fprintf(&sb, "vidflow_cluster_nodes %d\n", len(v.Nodes))
	metric("vidflow_cluster_node_capacity", "gauge", "Streams each node takes.")
	for _, nv := range v.Nodes {
		fmt.Fprintf(&sb, "vidflow_cluster_node_capacity{node=%q} %d\n", nv.ID, nv.Capacity)
	}
	metric("vidflow_cluster_node_streams", "gauge", "Streams each node reports running.")
	for _, nv := range v.Nodes {
		fmt.Fprintf(&sb, "vidflow_cluster_node_streams{node=%q} %d\n", nv.ID, nv.Streams)
	}
	metric("vidflow_cluster_node_draining", "gauge", "1 while the node hands its streams over.")
	for _, nv := range v.Nodes {
		fmt.Fprintf(&sb, "vidflow_cluster_node_draining{node=%q} %d\n", nv.ID, b2f(nv.Draining))
	}
	metric("vidflow_cluster_leader", "gauge", "1 for the node elected to place the streams.")
	for _, nv := range v.Nodes {
		fmt.Fprintf(&sb, "vidflow_cluster_leader{node=%q} %d\n", nv.ID, b2f(nv.Leader))
	}
	metric("vidflow_cluster_streams", "gauge", "Streams of the cluster by state.")
	for _, st := range []string{"running", "assigned", "pending", "failed"} {
		fmt.Fprintf(&sb, "vidflow_cluster_streams{state=%q} %d\n", st, v.States[st])
	}
	metric("vidflow_cluster_free_capacity", "gauge", "Streams the live nodes can still take.")
	fmt.Fprintf(&sb, "vidflow_cluster_free_capacity %d\n", v.Free)
	metric("vidflow_cluster_etcd_up", "gauge", "1 while this node renews its etcd lease.")
	fmt.Fprintf(&sb, "vidflow_cluster_etcd_up %d\n", b2f(v.Etcd == "ok"))
	metric("vidflow_cluster_fenced", "gauge", "1 while this node runs nothing because it may have lost its lease.")
	fmt.Fprintf(&sb, "vidflow_cluster_fenced %d\n", b2f(v.Fenced))
	metric("vidflow_cluster_fences_total", "counter", "Times this node stopped its streams for a lost lease.")
	fmt.Fprintf(&sb, "vidflow_cluster_fences_total %d\n", n.fences.Load())
	if v.Events != nil {
		metric("vidflow_cluster_events_published_total", "counter", "Events JetStream acknowledged.")
		fmt.Fprintf(&sb, "vidflow_cluster_events_published_total %d\n", v.Events.Published)
		metric("vidflow_cluster_events_dropped_total", "counter", "Events dropped because the outbox was full.")
		fmt.Fprintf(&sb, "vidflow_cluster_events_dropped_total %d\n", v.Events.Dropped)
		metric("vidflow_cluster_outbox_events", "gauge", "Events waiting for NATS.")
		fmt.Fprintf(&sb, "vidflow_cluster_outbox_events %d\n", v.Events.Waiting)
		metric("vidflow_cluster_nats_up", "gauge", "1 while this node is connected to NATS.")
		fmt.Fprintf(&sb, "vidflow_cluster_nats_up %d\n", b2f(v.Events.Connected))
	}
	io.WriteString(w, sb.String())
}

// partitioned tells a node cut off from etcd from an etcd that is down
// for all: it asks the other nodes (their REST API) when they last
// renewed their lease. Any that did after this node's renewals began to
// fail, or none answering at all, means the others can place this node's
// streams elsewhere (others). All answering with older renewals means
// etcd is away for everyone (allDown): no one can take the streams, keep
// running them. A node with no peers keeps running too.
func (n *Node) partitioned(ctx context.Context) (others, allDown bool) {
	// All peers at once, within half a renewal period: the fence must go
	// up before the lease can have run out.
	ctx, cancel := context.WithTimeout(ctx, n.ttl/8)
	defer cancel()
	type answer struct{ answered, ok bool }
	var peers []nodeRecord
	for id, r := range list[nodeRecord](n.mir, "nodes/") {
		if id != n.cfg.NodeID {
			peers = append(peers, r)
		}
	}
	ch := make(chan answer, len(peers))
	since := n.firstFail
	for _, r := range peers {
		go func() {
			ok, err := n.peerReachesEtcd(ctx, r.Advertise, since)
			ch <- answer{err == nil, ok}
		}()
	}
	answered := 0
	for range peers {
		a := <-ch
		if a.ok {
			return true, false
		}
		if a.answered {
			answered++
		}
	}
	if len(peers) == 0 {
		return false, false
	}
	return answered == 0, answered == len(peers)
}

// peerReachesEtcd asks a node's REST API whether it renewed its lease
// after since.
func (n *Node) peerReachesEtcd(ctx context.Context, advertise string, since time.Time) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(advertise, "/")+"/api/v1/cluster", nil)
	if err != nil {
		return false, err
	}
	if n.token != "" {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	resp, err := n.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var body struct {
		Cluster clusterView `json:"cluster"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return false, err
	}
	if ago := body.Cluster.RenewedMsAgo; ago != nil {
		return time.Now().Add(-time.Duration(*ago) * time.Millisecond).After(since), nil
	}
	return body.Cluster.Etcd == "ok", nil
}
