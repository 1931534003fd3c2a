package cluster

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testTTL is the nodes' lease in the tests: short, so that a killed
// node's streams move in seconds, yet three renewals of slack on a loaded
// machine.
const testTTL = "3s"

// tcluster is a test's etcd, NATS and vidflow nodes.
type tcluster struct {
	t     *testing.T
	s     *servers
	dir   string
	nodes []*vnode

	mu      sync.Mutex
	doubles map[string][]string // camera → the nodes that ran it at once
	stopMon chan struct{}
	monDone chan struct{}
}

// newCluster starts etcd, NATS and one node per capacity (node-a, ...).
func newCluster(t *testing.T, caps ...int) *tcluster {
	t.Helper()
	vidflowBin(t) // before the servers: the build's CPU is not the servers'
	c := &tcluster{t: t, s: startServers(t), dir: t.TempDir(), doubles: map[string][]string{}}
	for i, k := range caps {
		c.nodes = append(c.nodes, newNode(t, c.s, c.dir, fmt.Sprintf("node-%c", 'a'+i), k))
	}
	c.cleanup()
	for _, n := range c.nodes {
		n.start(t)
	}
	for _, n := range c.nodes {
		c.waitJoined(n)
	}
	return c
}

// cleanup kills the nodes when the test ends; a failed test logs their
// last lines.
func (c *tcluster) cleanup() {
	t := c.t
	t.Cleanup(func() {
		c.stopMonitor()
		for _, n := range c.nodes {
			n.stop(t, syscall.SIGKILL, 10*time.Second)
			if strings.Contains(n.output(), "WARNING: DATA RACE") {
				t.Errorf("%s: the race detector found a data race (VIDFLOW_CLUSTER_RACE)", n.id)
			}
		}
		if t.Failed() {
			for _, n := range c.nodes {
				tail(t, n.proc, 60)
			}
			tail(t, c.s.etcd, 20)
		}
	})
}

// tail logs the last lines of a process's output.
func tail(t *testing.T, p *proc, lines int) {
	l := strings.Split(strings.TrimRight(p.output(), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	t.Logf("--- %s (last %d lines)\n%s", p.name, len(l), strings.Join(l, "\n"))
}

func (c *tcluster) node(id string) *vnode {
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	c.t.Fatalf("no node %q", id)
	return nil
}

// live are the nodes whose process runs.
func (c *tcluster) live() []*vnode {
	var out []*vnode
	for _, n := range c.nodes {
		if n.running() {
			out = append(out, n)
		}
	}
	return out
}

// waitJoined waits until n answers with itself in its cluster view.
func (c *tcluster) waitJoined(n *vnode) {
	c.t.Helper()
	waitFor(c.t, 60*time.Second, n.id+" joins the cluster", func() bool {
		if !n.running() {
			c.t.Fatalf("%s exited: %v\n%s", n.id, n.err, n.output())
		}
		v, err := view(n)
		if err != nil {
			return false
		}
		for _, nv := range v.Nodes {
			if nv.ID == n.id {
				return true
			}
		}
		return false
	})
}

// startAll starts every node (all stopped) and waits until they joined.
func (c *tcluster) startAll() {
	c.t.Helper()
	for _, n := range c.nodes {
		n.start(c.t)
	}
	for _, n := range c.nodes {
		c.waitJoined(n)
	}
}

// restart starts a stopped node again and waits until it has joined.
func (c *tcluster) restart(n *vnode) {
	c.t.Helper()
	n.start(c.t)
	c.waitJoined(n)
}

// uri is test stream i: live, small, two boxes as objects (events).
func uri(i int) string {
	return fmt.Sprintf("testsrc://?is-live=true&framerate=10&width=64&height=48&objects=2&truth=true&seed=%d", i)
}

func camID(i int) string { return fmt.Sprintf("cam-%02d", i) }

// add adds a stream through node n and fails the test unless it is stored.
func (c *tcluster) add(n *vnode, id, u string) map[string]any {
	c.t.Helper()
	var resp map[string]any
	code, err := call("POST", n.url("/api/v1/stream/add"), sensor(id, u, "camera_add"), &resp)
	if err != nil || code != 200 {
		c.t.Fatalf("stream/add %s through %s: HTTP %d %v %v", id, n.id, code, resp, err)
	}
	return resp
}

// placement is, per camera, the nodes that run it in their pipeline
// (the nodes' own metrics, not etcd).
func (c *tcluster) placement() map[string][]string {
	out, err := runCount(c.live())
	if err != nil {
		return nil
	}
	return out
}

// settled waits until exactly the cameras want run, each on one node,
// and returns camera → node.
func (c *tcluster) settled(limit time.Duration, want []string, what string) map[string]string {
	c.t.Helper()
	var last map[string][]string
	deadline := time.Now().Add(limit)
	for {
		last = c.placement()
		if got, ok := once(last, want); ok {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waited %v for %s: want each of %d streams running once, the nodes run %v", limit, what, len(want), last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// once tells whether exactly the cameras want run, each on one node.
func once(run map[string][]string, want []string) (map[string]string, bool) {
	if run == nil || len(run) != len(want) {
		return nil, false
	}
	got := map[string]string{}
	for _, id := range want {
		if len(run[id]) != 1 {
			return nil, false
		}
		got[id] = run[id][0]
	}
	return got, true
}

// monitor sweeps the live nodes' pipelines until stopMonitor: a camera
// that runs on two nodes in two sweeps in a row ran twice (one sweep
// alone could read two nodes on either side of a hand-over).
func (c *tcluster) monitor() {
	c.stopMon, c.monDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.monDone)
		prev := map[string]bool{}
		for {
			select {
			case <-c.stopMon:
				return
			case <-time.After(200 * time.Millisecond):
			}
			now := map[string]bool{}
			for cam, nodes := range c.placement() {
				if len(nodes) < 2 {
					continue
				}
				now[cam] = true
				if prev[cam] {
					c.mu.Lock()
					c.doubles[cam] = nodes
					c.mu.Unlock()
				}
			}
			prev = now
		}
	}()
}

func (c *tcluster) stopMonitor() {
	if c.stopMon != nil {
		close(c.stopMon)
		<-c.monDone
		c.stopMon = nil
	}
}

// noDoubles fails the test if the monitor saw a camera run twice.
func (c *tcluster) noDoubles(when string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.doubles) > 0 {
		c.t.Errorf("%s: streams ran on two nodes at once: %v", when, c.doubles)
	}
}

// counts is how many cameras each node runs.
func counts(p map[string]string) map[string]int {
	out := map[string]int{}
	for _, n := range p {
		out[n]++
	}
	return out
}

// moved lists the cameras whose node differs between a and b.
func moved(a, b map[string]string) []string {
	var out []string
	for cam, n := range b {
		if a[cam] != n {
			out = append(out, cam)
		}
	}
	sort.Strings(out)
	return out
}

// checkEvents reads the JetStream stream and every node's spool: each
// event a node made is in the stream, and no event id is there twice.
func (c *tcluster) checkEvents() (made, stored int) {
	c.t.Helper()
	// The spools first, then every node's outbox empty once: what the
	// spools hold is acknowledged by then (the outbox sends in order).
	spools := map[string][]string{}
	for _, n := range c.nodes {
		spools[n.id] = spooled(c.t, n)
	}
	waitFor(c.t, 60*time.Second, "the nodes' outboxes to empty", func() bool {
		for _, n := range c.live() {
			v, err := view(n)
			if err != nil || v.Events == nil || v.Events.Waiting > 0 {
				return false
			}
		}
		return true
	})
	seen := consumed(c.t, c.s.natsURL)
	missing, total := 0, 0
	var example string
	for _, ids := range spools {
		total += len(ids)
		for _, id := range ids {
			if seen[id] == 0 {
				missing++
				example = id
			}
		}
	}
	twice := 0
	for id, k := range seen {
		if k > 1 {
			twice++
			example = id
		}
	}
	if missing > 0 || twice > 0 {
		c.t.Errorf("events: %d made, %d ids in JetStream; %d made but not in JetStream, %d ids there more than once (e.g. %s)",
			total, len(seen), missing, twice, example)
	}
	if total == 0 {
		c.t.Error("events: the nodes made none (testsrc truth=true gives two objects a frame)")
	}
	return total, len(seen)
}

// skipShort skips a test that runs servers for minutes under -short.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster of real servers: not under -short")
	}
	if os.Getenv("VIDFLOW_SKIP_CLUSTER") != "" {
		t.Skip("VIDFLOW_SKIP_CLUSTER is set")
	}
}
