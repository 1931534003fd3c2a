package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vidflow/vidflow/internal/deepstream"
)

// Cluster is what cluster mode (internal/cluster) plugs into a service:
// the REST API's stream calls go to it instead of this node's pipeline, so
// that any node answers for the whole cluster; the node itself runs what
// the cluster assigns to it through AddStream and RemoveStream.
type Cluster interface {
	// Add stores a stream cluster-wide and says where it runs. Errors
	// are *Error (503 while etcd is away, 409, 429 with the free
	// capacity).
	Add(ctx context.Context, cameraID, cameraName, uri string) (ClusterStream, error)
	// Remove removes a stream wherever it runs.
	Remove(ctx context.Context, id string) (ClusterStream, error)
	// Streams lists every stream of the cluster with its node and state.
	Streams(ctx context.Context) ([]ClusterStream, error)
	// View is the cluster view (nodes, load, leader) as JSON.
	View(ctx context.Context) any
	// WritePrometheus appends the cluster's metrics.
	WritePrometheus(w io.Writer)
}

// ClusterStream is a stream of the cluster.
type ClusterStream struct {
	CameraID   string `json:"camera_id"`
	CameraName string `json:"camera_name"`
	CameraURL  string `json:"camera_url"`
	// Node is the id of the node that runs it ("" while unplaced).
	Node string `json:"node"`
	// NodeURL is where that node's REST API is reached.
	NodeURL string `json:"node_url,omitempty"`
	// State: running, assigned (placed, not yet started), pending (no
	// node has room), failed (the node could not open it; see Error).
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// SourceID is the stream's source id on its node (-1 before it runs).
	SourceID int `json:"source_id"`
}

// ClusterConfig is the cluster: section of a serve config.
type ClusterConfig struct {
	// Etcd are etcd's client endpoints (http://127.0.0.1:2379).
	Etcd []string `yaml:"etcd"`
	// NATS is the NATS server that the events go to (JetStream); empty:
	// no events are published.
	NATS string `yaml:"nats"`
	// NodeID names this node, unique in the cluster.
	NodeID string `yaml:"node-id"`
	// Capacity is how many streams this node takes (default and at most
	// max-batch-size).
	Capacity int `yaml:"capacity"`
	// Advertise is where this node's REST API is reached by clients and
	// the other nodes (default http://<the listen address>).
	Advertise string `yaml:"advertise"`
	// Prefix is the etcd key prefix of the cluster (default /vidflow/).
	Prefix string `yaml:"prefix"`
	// LeaseTTL is the node's etcd lease (default 4 s): a node that dies
	// loses its streams to the others after about this long.
	LeaseTTL Duration `yaml:"lease-ttl"`
	// Subject prefixes the events' NATS subjects (default vidflow.events);
	// Stream is their JetStream stream (default VIDFLOW_EVENTS).
	Subject string `yaml:"subject"`
	Stream  string `yaml:"stream"`
	// DuplicateWindow is the JetStream stream's de-duplication window
	// (default 2 m), when this node creates the stream.
	DuplicateWindow Duration `yaml:"duplicate-window"`
	// Outbox bounds the events kept while NATS is away (default 10000;
	// the oldest is dropped beyond, and counted).
	Outbox int `yaml:"outbox"`
	// Spool is a folder where events are kept on disk until NATS has
	// them, so that a killed node's last events are sent when it starts
	// again (default: none).
	Spool string `yaml:"spool"`
	// DrainTimeout bounds how long SIGTERM waits for the node's streams
	// to be handed over (default 20 s).
	DrainTimeout Duration `yaml:"drain-timeout"`
}

// Duration is a time.Duration written as "4s" in YAML.
type Duration time.Duration

// UnmarshalText reads "4s", "500ms", "2m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (c *Config) checkCluster() error {
	cl := c.Cluster
	if cl == nil {
		return nil
	}
	// ${VAR} in the addresses and the id: one config for every replica
	// of a Kubernetes Deployment (node-id: ${POD_NAME}).
	for i := range cl.Etcd {
		cl.Etcd[i] = os.Expand(cl.Etcd[i], os.Getenv)
	}
	cl.NATS, cl.NodeID, cl.Advertise = os.Expand(cl.NATS, os.Getenv), os.Expand(cl.NodeID, os.Getenv), os.Expand(cl.Advertise, os.Getenv)
	if len(cl.Etcd) == 0 {
		return fmt.Errorf("cluster.etcd: no endpoints (want e.g. [http://127.0.0.1:2379])")
	}
	for _, e := range cl.Etcd {
		if u, err := url.Parse(e); err != nil || u.Host == "" {
			return fmt.Errorf("cluster.etcd: %q is not an endpoint URL (http://host:port)", e)
		}
	}
	if cl.NodeID == "" {
		return fmt.Errorf("cluster.node-id: empty; every node needs an id of its own")
	}
	if strings.ContainsAny(cl.NodeID, "/ \t\n*>.") || len(cl.NodeID) > 64 {
		return fmt.Errorf("cluster.node-id %q: at most 64 characters, none of '/', '.', '*', '>' or spaces", cl.NodeID)
	}
	if cl.Capacity == 0 {
		cl.Capacity = c.MaxBatchSize
	}
	if cl.Capacity < 0 || cl.Capacity > c.MaxBatchSize {
		return fmt.Errorf("cluster.capacity %d: want 1..max-batch-size (%d)", cl.Capacity, c.MaxBatchSize)
	}
	if cl.Prefix == "" {
		cl.Prefix = "/vidflow/"
	}
	if !strings.HasSuffix(cl.Prefix, "/") {
		cl.Prefix += "/"
	}
	if cl.LeaseTTL == 0 {
		cl.LeaseTTL = Duration(4 * time.Second)
	}
	if time.Duration(cl.LeaseTTL) < 2*time.Second || time.Duration(cl.LeaseTTL) > time.Minute {
		return fmt.Errorf("cluster.lease-ttl %v: want 2s..1m", time.Duration(cl.LeaseTTL))
	}
	if cl.Subject == "" {
		cl.Subject = "vidflow.events"
	}
	if cl.Stream == "" {
		cl.Stream = "VIDFLOW_EVENTS"
	}
	if cl.DuplicateWindow == 0 {
		cl.DuplicateWindow = Duration(2 * time.Minute)
	}
	if cl.Outbox == 0 {
		cl.Outbox = 10000
	}
	if cl.DrainTimeout == 0 {
		cl.DrainTimeout = Duration(20 * time.Second)
	}
	if cl.Spool != "" {
		cl.Spool = c.path(cl.Spool)
	}
	return nil
}

// localSources are the configured streams this node adds itself: all of
// them alone, none in a cluster (the cluster stores them and places them).
func (s *Service) localSources() []Sensor {
	if s.opts.Cluster != nil {
		return nil
	}
	return s.cfg.Sources.SourceList
}

// clusterCtx bounds a REST call's cluster work: etcd answers in
// milliseconds, or it is away and the answer is a 503.
func clusterCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 8*time.Second)
}

func (s *Service) clusterAdd(w http.ResponseWriter, r *http.Request, id, name, uri string) {
	ctx, cancel := clusterCtx(r)
	defer cancel()
	st, err := s.opts.Cluster.Add(ctx, id, name, uri)
	if err != nil {
		writeError(w, err, "STREAM_ADD_FAIL")
		return
	}
	st.CameraURL = deepstream.Redact(st.CameraURL)
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "STREAM_ADD_SUCCESS", "stream": st})
}

func (s *Service) clusterRemove(w http.ResponseWriter, r *http.Request, id string) {
	ctx, cancel := clusterCtx(r)
	defer cancel()
	st, err := s.opts.Cluster.Remove(ctx, id)
	if err != nil {
		writeError(w, err, "STREAM_REMOVE_FAIL")
		return
	}
	st.CameraURL = deepstream.Redact(st.CameraURL)
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "STREAM_REMOVE_SUCCESS", "stream": st})
}

func (s *Service) clusterStreamInfo(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := clusterCtx(r)
	defer cancel()
	list, err := s.opts.Cluster.Streams(ctx)
	if err != nil {
		writeError(w, err, "GET_LIVE_STREAM_INFO_FAIL")
		return
	}
	for i := range list {
		list[i].CameraURL = deepstream.Redact(list[i].CameraURL)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "GET_LIVE_STREAM_INFO_SUCCESS",
		"stream-info": map[string]any{"stream-count": len(list), "stream-info": list}})
}

// handleCluster is GET /api/v1/cluster: the cluster view, or 404 on a
// node that is not in a cluster.
func (s *Service) handleCluster(w http.ResponseWriter, r *http.Request) {
	if s.opts.Cluster == nil {
		writeError(w, errorf(http.StatusNotFound, "not_clustered", "this service is not in a cluster (no cluster: section in its config)"), "")
		return
	}
	ctx, cancel := clusterCtx(r)
	defer cancel()
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "GET_CLUSTER_INFO_SUCCESS", "cluster": s.opts.Cluster.View(ctx)})
}
