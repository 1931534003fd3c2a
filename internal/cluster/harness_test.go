package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The tests run real servers on loopback: an etcd (Debian's etcd-server),
// a nats-server with JetStream and `vidflow serve` processes built once.

// need finds a server's binary; without it the test is skipped, but not
// in CI, where scripts/setup-brokers.sh installs them.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed, and CI runs scripts/setup-brokers.sh, which installs it", name)
		}
		t.Skipf("%s is not installed (bash scripts/setup-brokers.sh installs it)", name)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a server process of a test, its output in a file.
type proc struct {
	name string
	args []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(p.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	p.done = make(chan struct{})
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
}

func (p *proc) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends sig and waits (limit, then SIGKILL).
func (p *proc) stop(t *testing.T, sig syscall.Signal, limit time.Duration) {
	t.Helper()
	if !p.running() {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Errorf("%s did not stop within %v of %v; killing it", p.name, limit, sig)
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// servers are etcd and NATS for one test.
type servers struct {
	etcd, nats       *proc
	etcdURL, natsURL string
}

func startServers(t *testing.T) *servers {
	t.Helper()
	etcdBin, natsBin := need(t, "etcd"), need(t, "nats-server")
	dir := t.TempDir()
	// etcd's data on tmpfs where there is one: its fsyncs on a loaded
	// disk would slow the lease renewals, not what is tested.
	data := filepath.Join(dir, "etcd")
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "vidflow-etcd-")
		if err == nil {
			data = d
			t.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	cp, pp, np := freePort(t), freePort(t), freePort(t)
	s := &servers{etcdURL: fmt.Sprintf("http://127.0.0.1:%d", cp), natsURL: fmt.Sprintf("nats://127.0.0.1:%d", np)}
	peer := fmt.Sprintf("http://127.0.0.1:%d", pp)
	s.etcd = &proc{name: "etcd", log: filepath.Join(dir, "etcd.log"), args: []string{etcdBin, "--name", "t", "--data-dir", data,
		"--listen-client-urls", s.etcdURL, "--advertise-client-urls", s.etcdURL, "--listen-peer-urls", peer,
		"--initial-advertise-peer-urls", peer, "--initial-cluster", "t=" + peer}}
	s.nats = &proc{name: "nats-server", log: filepath.Join(dir, "nats.log"), args: []string{natsBin, "-js", "-a", "127.0.0.1",
		"-p", fmt.Sprint(np), "-sd", filepath.Join(dir, "js")}}
	s.etcd.start(t)
	s.nats.start(t)
	t.Cleanup(func() {
		s.etcd.stop(t, syscall.SIGTERM, 10*time.Second)
		s.nats.stop(t, syscall.SIGTERM, 10*time.Second)
	})
	waitFor(t, 20*time.Second, "etcd and NATS answer", func() bool {
		return dialable(s.etcdURL) && dialable(s.natsURL)
	})
	return s
}

func dialable(u string) bool {
	host := u[strings.Index(u, "//")+2:]
	c, err := net.DialTimeout("tcp", host, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// vidflowBin builds cmd/vidflow once for the package's tests.
func vidflowBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vidflow-cluster-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vidflow")
		args := []string{"build", "-o", binPath}
		if os.Getenv("VIDFLOW_CLUSTER_RACE") != "" {
			// The nodes with the race detector (slow: not in CI).
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "../../cmd/vidflow")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// vnode is a `vidflow serve` process of a test cluster.
type vnode struct {
	*proc
	id    string
	port  int
	spool string
}

func (n *vnode) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", n.port, path) }

// newNode writes a node's config: no model, no live view, tiny frames.
func newNode(t *testing.T, s *servers, dir, id string, capacity int) *vnode {
	t.Helper()
	port := freePort(t)
	n := &vnode{id: id, port: port, spool: filepath.Join(dir, id+"-spool")}
	cfg := fmt.Sprintf(`name: %s
max-batch-size: 8
width: 64
height: 48
live-view: {enable: false}
sources:
  source-config:
    properties: {rtsp-reconnect-attempts: 0}
rest: {address: 127.0.0.1, port: %d}
cluster:
  etcd: [%s]
  nats: %s
  node-id: %s
  capacity: %d
  spool: %s
  lease-ttl: %s
  duplicate-window: 20m
  drain-timeout: 30s
`, id, port, s.etcdURL, s.natsURL, id, capacity, n.spool, testTTL)
	path := filepath.Join(dir, id+".yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n.proc = &proc{name: id, log: filepath.Join(dir, id+".log"), args: []string{vidflowBin(t), "serve", "-config", path}}
	return n
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

// call does a REST call and decodes the answer into out (when not nil).
func call(method, url string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: %v", b, err)
		}
	}
	return resp.StatusCode, nil
}

func sensor(id, uri, change string) map[string]any {
	return map[string]any{"key": "sensor", "value": map[string]any{"camera_id": id, "camera_url": uri, "change": change}}
}

type streamList struct {
	Info struct {
		List []struct {
			CameraID string `json:"camera_id"`
			Node     string `json:"node"`
			State    string `json:"state"`
			Error    string `json:"error"`
		} `json:"stream-info"`
	} `json:"stream-info"`
}

// clusterStreams is get-stream-info of a node: camera → node, state.
func clusterStreams(n *vnode) (map[string][2]string, error) {
	var l streamList
	if _, err := call("GET", n.url("/api/v1/stream/get-stream-info"), nil, &l); err != nil {
		return nil, err
	}
	out := map[string][2]string{}
	for _, s := range l.Info.List {
		out[s.CameraID] = [2]string{s.Node, s.State}
	}
	return out, nil
}

// localStreams are the streams a node's own pipeline runs (its metrics).
func localStreams(n *vnode) ([]string, error) {
	m, err := metrics(n)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range m.Streams {
		out = append(out, s.CameraID)
	}
	return out, nil
}

// nodeMetrics is the part of GET /api/v1/metrics the tests read.
type nodeMetrics struct {
	Streams []struct {
		CameraID string `json:"camera_id"`
		Frames   int64  `json:"frames"`
	} `json:"streams"`
	Process struct {
		Goroutines  int   `json:"goroutines"`
		LiveFrames  int64 `json:"live_frames"`
		LiveBuffers int64 `json:"live_buffers"`
	} `json:"process"`
}

func metrics(n *vnode) (*nodeMetrics, error) {
	var m nodeMetrics
	code, err := call("GET", n.url("/api/v1/metrics"), nil, &m)
	if err == nil && code != 200 {
		err = fmt.Errorf("metrics: HTTP %d", code)
	}
	return &m, err
}

// runCount counts, over the nodes that run, where each camera runs.
func runCount(nodes []*vnode) (map[string][]string, error) {
	out := map[string][]string{}
	for _, n := range nodes {
		if !n.running() {
			continue
		}
		l, err := localStreams(n)
		if err != nil {
			return nil, err
		}
		for _, c := range l {
			out[c] = append(out[c], n.id)
		}
	}
	return out, nil
}

// view is GET /api/v1/cluster.
func view(n *vnode) (*clusterView, error) {
	var v struct {
		Cluster clusterView `json:"cluster"`
	}
	if _, err := call("GET", n.url("/api/v1/cluster"), nil, &v); err != nil {
		return nil, err
	}
	return &v.Cluster, nil
}

// spooled reads the ids a node generated from its spool.
func spooled(t *testing.T, n *vnode) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(n.spool, "events.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		id, _, _ := strings.Cut(sc.Text(), "\t")
		ids = append(ids, id)
	}
	return ids
}

// consumed reads every message of the events stream and counts each id.
func consumed(t *testing.T, natsURL string) map[string]int {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "VIDFLOW_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	total := info.State.Msgs
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for got := uint64(0); got < total; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for m := range batch.Messages() {
			var ev Event
			json.Unmarshal(m.Data(), &ev)
			seen[ev.ID]++
			k++
		}
		if k == 0 {
			t.Fatalf("the consumer got %d of %d messages", got, total)
		}
		got += uint64(k)
	}
	return seen
}
