package vidflow_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

func TestInjectBatchProbeRetrieve(t *testing.T) {
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("t")
	var msgs messages
	p.OnMessage(msgs.add)
	c := newCollector()
	var probeFrames, probeBatches int
	probe := vidflow.NewProbe("count", func(m *media.BatchMeta) {
		probeBatches++
		probeFrames += len(m.Frames)
		for _, fm := range m.Frames {
			if fm.Width != 64 || fm.Height != 48 || fm.SourceWidth != 64 || fm.SourceHeight != 48 {
				t.Errorf("frame size %dx%d (source %dx%d), want 64x48", fm.Width, fm.Height, fm.SourceWidth, fm.SourceHeight)
			}
			if want := time.Duration(fm.FrameNumber) * time.Second / 25; fm.PTS != want {
				t.Errorf("frame %d: PTS %v, want %v", fm.FrameNumber, fm.PTS, want)
			}
		}
	})
	err := vidflow.NewFlow(p).Inject(stamps(3, 100)).Batch().Attach(probe).Retrieve(c).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.checkInOrder(t, 3, 100)
	if probeFrames != 300 {
		t.Errorf("probe saw %d frames, want 300", probeFrames)
	}
	if c.batches != probeBatches || c.batches < 100 {
		t.Errorf("retriever got %d batches, probe saw %d; want the same, at least 100", c.batches, probeBatches)
	}
	// Messages: a stream end for each stream, then the pipeline's EOS.
	var streamEOS []int
	eosAt := -1
	list := msgs.all()
	for i, m := range list {
		switch m := m.(type) {
		case *element.StreamEOSMessage:
			streamEOS = append(streamEOS, m.SourceID)
		case *element.EOSMessage:
			eosAt = i
		case *element.ErrorMessage:
			t.Errorf("error message: %v", m.Err)
		}
	}
	if len(streamEOS) != 3 {
		t.Errorf("stream EOS messages for %v, want 3 streams", streamEOS)
	}
	if eosAt < 0 {
		t.Error("no EOS message")
	}
	if last, ok := list[len(list)-1].(*element.StateMessage); !ok || last.Origin != "t" || last.New != element.StateEmpty {
		t.Errorf("last message %#v, want the pipeline going to EMPTY", list[len(list)-1])
	}
	// Statistics count what passed.
	for _, s := range p.Stats() {
		switch s.Kind {
		case "nvstreammux":
			if s.FramesIn != 300 || s.FramesOut != 300 {
				t.Errorf("mux stats: in %d out %d frames, want 300", s.FramesIn, s.FramesOut)
			}
		case "appsink":
			if s.FramesIn != 300 || s.BuffersIn != int64(c.batches) {
				t.Errorf("sink stats: %d frames %d buffers, want 300 and %d", s.FramesIn, s.BuffersIn, c.batches)
			}
		}
		if s.Pools != 0 {
			t.Errorf("%s: %d pooled frames outstanding", s.Name, s.Pools)
		}
	}
	checkClean(t, g)
}

func TestForkToTwoRetrievers(t *testing.T) {
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("fork")
	a, b := newCollector(), newCollector()
	fork := vidflow.NewFlow(p).Inject(stamps(3, 100)).Batch().Fork()
	// A probe on one branch changes its metadata; the other must not see it.
	fork.Attach(func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			fm.AddObject(media.NewObject(1, "marker", 1, media.Rect{Width: 1, Height: 1}))
		}
	}).Retrieve(a)
	var leaked int
	fork.Attach(func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			leaked += len(fm.Objects)
		}
	}).Retrieve(b)
	if err := fork.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.checkInOrder(t, 3, 100)
	b.checkInOrder(t, 3, 100)
	if leaked != 0 {
		t.Errorf("branch b saw %d objects added in branch a", leaked)
	}
	checkClean(t, g)
}

func TestStopMidRun(t *testing.T) {
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("stop")
	got := make(chan struct{}, 1000)
	r := retrieverFunc(func(b *media.Buffer) error {
		select {
		case got <- struct{}{}:
		default:
		}
		return nil
	})
	f := vidflow.NewFlow(p).Capture([]string{"testsrc://?num-buffers=-1", "testsrc://?seed=2"}).Batch().Retrieve(r)
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		<-got
	}
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	if err := p.Wait(); err != nil {
		t.Errorf("Wait after Stop: %v, want nil", err)
	}
	for _, s := range p.Stats() {
		if s.Pools != 0 || s.QueueDepth != 0 {
			t.Errorf("%s: %d pooled frames out, %d queued after Stop", s.Name, s.Pools, s.QueueDepth)
		}
	}
	checkClean(t, g)
}

func TestContextCancel(t *testing.T) {
	g := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	p := vidflow.NewPipeline("cancel")
	n := 0
	r := retrieverFunc(func(b *media.Buffer) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	err := vidflow.NewFlow(p).Capture([]string{"testsrc://"}).Retrieve(r).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v, want context.Canceled", err)
	}
	checkClean(t, g)
}

func TestFirstErrorStopsPipeline(t *testing.T) {
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("fail")
	var msgs messages
	p.OnMessage(msgs.add)
	boom := errors.New("disk full")
	n := 0
	r := retrieverFunc(func(b *media.Buffer) error {
		if n++; n == 5 {
			return boom
		}
		return nil
	})
	err := vidflow.NewFlow(p).Inject(stamps(2, -1)).Batch().Retrieve(r, vidflow.Name("out")).Run(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want the retriever's error", err)
	}
	if !strings.Contains(err.Error(), `element "out" (appsink)`) {
		t.Errorf("error %q does not name the element", err)
	}
	var sawErr bool
	for _, m := range msgs.all() {
		if e, ok := m.(*element.ErrorMessage); ok && e.Element == "out" && errors.Is(e.Err, boom) {
			sawErr = true
		}
		if _, ok := m.(*element.EOSMessage); ok {
			t.Error("EOS message after an error")
		}
	}
	if !sawErr {
		t.Error("no ErrorMessage naming the element")
	}
	checkClean(t, g)
}

func TestProbeDropsBuffers(t *testing.T) {
	p := vidflow.NewPipeline("drop")
	c := newCollector()
	everyOther := vidflow.NewProbe("skip", func(b *media.Buffer) bool {
		return b.Meta().Frames[0].FrameNumber%2 == 0
	})
	err := vidflow.NewFlow(p).Inject(stamps(1, 50)).Attach(everyOther).Retrieve(c).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.frames[0]); got != 25 {
		t.Errorf("got %d frames, want 25 after dropping odd ones", got)
	}
	if s := p.Stats()[0]; s.Drops != 25 {
		t.Errorf("source stats: %d drops, want 25", s.Drops)
	}
	checkClean(t, runtime.NumGoroutine())
}

func TestProbeOperatorInterfaces(t *testing.T) {
	p := vidflow.NewPipeline("ops")
	md := &metaCounter{}
	bo := &bufCounter{}
	err := vidflow.NewFlow(p).Capture([]string{"testsrc://?num-buffers=7"}).
		Attach(vidflow.NewProbe("meta", md)).Attach(vidflow.NewProbe("buf", bo)).
		Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if md.n != 7 || bo.n != 7 {
		t.Errorf("operators saw %d and %d buffers, want 7", md.n, bo.n)
	}
}

type metaCounter struct{ n int }

func (m *metaCounter) HandleMetadata(*media.BatchMeta) { m.n++ }

type bufCounter struct{ n int }

func (m *bufCounter) HandleBuffer(*media.Buffer) bool { m.n++; return true }

type retrieverFunc func(*media.Buffer) error

func (f retrieverFunc) Consume(b *media.Buffer) error { return f(b) }
