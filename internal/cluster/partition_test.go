package cluster

import (
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// One node cut off from etcd while the others reach it: it stops its
// streams (fencing) before any other node starts them, the others run
// them once its lease is gone, and when it reaches etcd again it joins
// again and takes its share back. The cut is a TCP proxy between the
// node and etcd that drops its connections and then accepts new ones
// without forwarding them (a black hole, as a lost route looks).
func TestClusterPartition(t *testing.T) {
	skipShort(t)
	vidflowBin(t)
	s := startServers(t)
	proxy := newCutProxy(t, strings.TrimPrefix(s.etcdURL, "http://"))
	c := &tcluster{t: t, s: s, dir: t.TempDir(), doubles: map[string][]string{}}
	cut := *s
	cut.etcdURL = "http://" + proxy.addr()
	c.nodes = []*vnode{newNode(t, s, c.dir, "node-a", 5), newNode(t, s, c.dir, "node-b", 5), newNode(t, &cut, c.dir, "node-c", 4)}
	c.cleanup()
	for _, n := range c.nodes {
		n.start(t)
	}
	for _, n := range c.nodes {
		c.waitJoined(n)
	}
	c.monitor()
	var all []string
	for i := 0; i < 9; i++ {
		all = append(all, camID(i))
		c.add(c.nodes[i%3], camID(i), uri(i+1))
	}
	p := c.settled(60*time.Second, all, "9 streams placed")
	var its []string
	for cam, n := range p {
		if n == "node-c" {
			its = append(its, cam)
		}
	}
	if len(its) == 0 {
		t.Fatalf("node-c runs nothing: %v", p)
	}

	t0 := time.Now()
	proxy.cut()
	waitFor(t, 60*time.Second, "node-c's streams on node-a and node-b", func() bool {
		got, ok := once(c.placement(), all)
		return ok && counts(got)["node-c"] == 0
	})
	t.Logf("partition: node-c cut off from etcd; its %d streams run on the others after %v", len(its), time.Since(t0).Round(10*time.Millisecond))
	// The fence went up before any of its streams started elsewhere (the
	// nodes' logs, one clock).
	fenced := logTimes(c.node("node-c").output(), `msg="fenced: stopping this node's streams"`)
	if len(fenced) == 0 {
		t.Fatal("node-c did not fence itself")
	}
	var first time.Time
	for _, other := range []string{"node-a", "node-b"} {
		for _, cam := range its {
			for _, at := range logTimes(c.node(other).output(), `msg=running node=`+other+` camera_id=`+cam+` `) {
				if !at.After(t0) {
					continue
				}
				if at.Before(fenced[0]) {
					t.Errorf("%s started %s at %v, before node-c fenced itself at %v", other, cam, at.Format("15:04:05.000"), fenced[0].Format("15:04:05.000"))
				}
				if first.IsZero() || at.Before(first) {
					first = at
				}
			}
		}
	}
	t.Logf("partition: node-c fenced %v after the cut, %v before its first stream started elsewhere",
		fenced[0].Sub(t0).Round(time.Millisecond), first.Sub(fenced[0]).Round(time.Millisecond))
	if v, err := view(c.node("node-c")); err != nil || !v.Fenced {
		t.Errorf("node-c's view while cut off: %+v %v, want fenced", v, err)
	}

	proxy.heal()
	t1 := time.Now()
	var p3 map[string]string
	waitFor(t, 60*time.Second, "node-c back with its share", func() bool {
		got, ok := once(c.placement(), all)
		p3 = got
		return ok && counts(got)["node-c"] > 0
	})
	t.Logf("partition healed: node-c runs %d streams again after %v", counts(p3)["node-c"], time.Since(t1).Round(10*time.Millisecond))
	c.stopMonitor()
	c.noDoubles("partition")
	c.checkEvents()
}

var logTime = regexp.MustCompile(`time=(\S+)`)

// logTimes are the times of the log lines that contain what.
func logTimes(log, what string) []time.Time {
	var out []time.Time
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, what) {
			continue
		}
		if m := logTime.FindStringSubmatch(line); m != nil {
			if at, err := time.Parse(time.RFC3339Nano, m[1]); err == nil {
				out = append(out, at)
			}
		}
	}
	return out
}

// cutProxy forwards TCP to a target until cut: then it closes what it
// forwards and holds new connections open without forwarding them.
type cutProxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	isCut bool
	conns map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.closeAll()
	})
	return p
}

func (p *cutProxy) addr() string { return p.l.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[c] = true
		cut := p.isCut
		p.mu.Unlock()
		if cut {
			continue // held open, nothing forwarded
		}
		go p.forward(c)
	}
}

func (p *cutProxy) forward(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[u] = true
	p.mu.Unlock()
	go func() { io.Copy(u, c); u.Close() }()
	io.Copy(c, u)
	c.Close()
}

func (p *cutProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	p.isCut = true
	p.mu.Unlock()
	p.closeAll()
}

func (p *cutProxy) heal() {
	p.mu.Lock()
	p.isCut = false
	p.mu.Unlock()
	p.closeAll() // the held ones: their clients dial again, forwarded now
}
