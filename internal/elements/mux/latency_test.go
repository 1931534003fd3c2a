package mux_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/mux"
	"github.com/vidflow/vidflow/internal/elements/sources"
	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/media"
)

// ages records the age of every frame reaching the sink.
type ages struct {
	mu     sync.Mutex
	n      int
	oldest time.Duration
}

func (a *ages) record(b *media.Buffer) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, fm := range b.Meta().Frames {
		a.n++
		a.oldest = max(a.oldest, now.Sub(fm.NTPTimestamp))
	}
}

// slowKinds are the batcher, the test source, an element that sleeps
// per batch (inference slower than the camera) and a sink timing frames.
func slowKinds(a *ages, per time.Duration) *element.Registry {
	r := element.NewRegistry()
	mux.Register(r)
	sources.Register(r)
	r.MustRegister(element.KindSpec{Kind: "slow", Role: element.RoleTransform, New: func(*element.Config) (element.Element, error) {
		return &element.Map{Fn: func(context.Context, *media.Buffer) error {
			time.Sleep(per)
			return nil
		}}, nil
	}})
	r.MustRegister(element.KindSpec{Kind: "age-sink", Role: element.RoleSink, New: func(*element.Config) (element.Element, error) {
		return &element.Sink{Fn: func(_ context.Context, b *media.Buffer) error { a.record(b); return nil }}, nil
	}})
	return r
}

// node is an element of a test graph.
type node struct {
	kind, name string
	props      element.Props
}

// build adds nodes to g and links them, failing the test on any error.
func build(t *testing.T, g *engine.Graph, nodes []node, links [][2]string) {
	t.Helper()
	for _, n := range nodes {
		if _, err := g.Add(n.kind, n.name, n.props); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range links {
		if err := g.Link(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// runSlow runs testsrc (props) → batcher → slow (100 ms a batch) → sink
// for d (or to the end) and returns the sink's ages and the source's stats.
func runSlow(t *testing.T, src element.Props, d time.Duration) (*ages, element.NodeStats) {
	t.Helper()
	g0, f0 := media.LiveBuffers(), media.LiveFrames()
	a := &ages{}
	g := engine.NewGraph("latency", slowKinds(a, 100*time.Millisecond))
	build(t, g, []node{{"testsrc", "cam", src}, {"nvstreammux", "mux", element.Props{"batch-size": 1}}, {"slow", "infer", nil}, {"age-sink", "sink", nil}},
		[][2]string{{"cam", "mux"}, {"mux", "infer"}, {"infer", "sink"}})
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r, err := engine.Start(ctx, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	var st element.NodeStats
	for _, ns := range r.Stats() {
		if ns.Name == "cam" {
			st = ns
		}
	}
	if media.LiveBuffers() != g0 || media.LiveFrames() != f0 {
		t.Errorf("leak: buffers %d → %d, frames %d → %d", g0, media.LiveBuffers(), f0, media.LiveFrames())
	}
	return a, st
}

// A live camera at 30 fps into inference that takes 100 ms a frame: the
// frames reaching the sink stay within max-latency (1 s by default), the
// ones that could not make it are dropped and counted on the camera, and
// the slow element runs at its own rate on fresh frames.
func TestLiveLatencyBounded(t *testing.T) {
	a, st := runSlow(t, element.Props{"is-live": true, "framerate": 30, "width": 64, "height": 48, "pool-size": 64}, 4*time.Second)
	t.Logf("%d frames at the sink, oldest %v; camera: %d out, %d dropped", a.n, a.oldest, st.FramesOut, st.Drops)
	// The slow element can take 40 frames in 4 s: it must not spend its
	// time on frames that are then dropped as too old.
	if a.n < 25 {
		t.Errorf("only %d frames reached the sink, the slow element takes 40 in 4 s", a.n)
	}
	if a.oldest > time.Second {
		t.Errorf("a frame was %v old at the sink, over max-latency 1s", a.oldest)
	}
	if st.Drops == 0 {
		t.Errorf("no drops counted on the camera (%d frames out)", st.FramesOut)
	}
}

// A file-like (not live) source keeps back-pressure: every frame arrives,
// however late, and none is dropped.
func TestNonLiveKeepsBackPressure(t *testing.T) {
	a, st := runSlow(t, element.Props{"num-buffers": 20, "width": 64, "height": 48}, 20*time.Second)
	if a.n != 20 || st.Drops != 0 {
		t.Errorf("%d frames at the sink, %d dropped; want 20 and 0", a.n, st.Drops)
	}
}
