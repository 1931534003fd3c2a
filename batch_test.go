package vidflow_test

import (
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// solidProvider generates n frames of one colour in a given format.
type solidProvider struct {
	info media.StreamInfo
	px   []byte // one pixel (RGB) or Y, U, V for I420
	n, i int
}

func (p *solidProvider) Info() media.StreamInfo { return p.info }

func (p *solidProvider) Generate(context.Context) (*media.Buffer, error) {
	if p.i >= p.n {
		return nil, io.EOF
	}
	p.i++
	w, h := p.info.Width, p.info.Height
	data := make([]byte, p.info.Format.FrameSize(w, h))
	switch p.info.Format {
	case media.I420:
		ys, cs := w*h, (w/2)*(h/2)
		for i := range data {
			switch {
			case i < ys:
				data[i] = p.px[0]
			case i < ys+cs:
				data[i] = p.px[1]
			default:
				data[i] = p.px[2]
			}
		}
	default:
		for i := range data {
			data[i] = p.px[i%len(p.px)]
		}
	}
	return media.NewBuffer(data), nil
}

func near(a, b byte) bool { return int(a)-int(b) < 6 && int(b)-int(a) < 6 }

func TestBatchConvertsAndScales(t *testing.T) {
	g := runtime.NumGoroutine()
	red := &solidProvider{info: media.StreamInfo{Format: media.I420, Width: 64, Height: 48}, px: []byte{81, 90, 240}, n: 5}
	green := &solidProvider{info: media.StreamInfo{Format: media.RGB, Width: 32, Height: 24}, px: []byte{0, 200, 0}, n: 5}
	p := vidflow.NewPipeline("scale")
	f := vidflow.NewFlow(p).Inject([]media.BufferProvider{red, green})
	// An object put on the small stream before batching is scaled with it.
	p.Attach(f.Streams()[1], func(m *media.BatchMeta) {
		m.Frames[0].AddObject(media.NewObject(0, "thing", 0.9, media.Rect{Left: 4, Top: 4, Width: 8, Height: 8}))
	}, "src")
	frames := 0
	r := retrieverFunc(func(b *media.Buffer) error {
		for _, fm := range b.Meta().Frames {
			frames++
			s, err := b.Surface(fm.BatchID)
			if err != nil {
				return err
			}
			if s.Format != media.RGB || s.Width != 64 || s.Height != 48 || fm.Width != 64 || fm.Height != 48 {
				t.Errorf("stream %d: frame %v %dx%d, want RGB 64x48", fm.SourceID, s.Format, s.Width, s.Height)
			}
			px := s.Data[(20*64+30)*3:]
			want := []byte{254, 0, 0}
			if fm.SourceID == 1 {
				want = []byte{0, 200, 0}
				if fm.SourceWidth != 32 || fm.SourceHeight != 24 {
					t.Errorf("source size %dx%d, want 32x24", fm.SourceWidth, fm.SourceHeight)
				}
				if len(fm.Objects) != 1 || fm.Objects[0].Rect != (media.Rect{Left: 8, Top: 8, Width: 16, Height: 16}) {
					t.Errorf("object not scaled with its frame: %+v", fm.Objects)
				}
			}
			if !near(px[0], want[0]) || !near(px[1], want[1]) || !near(px[2], want[2]) {
				t.Errorf("stream %d: pixel %v, want about %v", fm.SourceID, px[:3], want)
			}
		}
		return nil
	})
	if err := f.Batch(vidflow.Width(64), vidflow.Height(48)).Retrieve(r).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if frames != 10 {
		t.Errorf("%d frames, want 10", frames)
	}
	checkClean(t, g)
}

func TestBatchTimeoutPushesPartialBatches(t *testing.T) {
	fast := &stampProvider{stream: 0, n: 10, w: 16, h: 16}
	slow := &stampProvider{stream: 1, n: 3, w: 16, h: 16, delay: 40 * time.Millisecond}
	c := newCollector()
	partial := 0
	probe := func(m *media.BatchMeta) {
		if len(m.Frames) == 1 {
			partial++
		}
	}
	err := vidflow.NewFlow(vidflow.NewPipeline("timeout")).Inject([]media.BufferProvider{fast, slow}).
		Batch(vidflow.BatchedPushTimeout(5 * time.Millisecond)).Attach(probe).Retrieve(c).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.frames[0]) != 10 || len(c.frames[1]) != 3 {
		t.Errorf("got %d and %d frames, want 10 and 3", len(c.frames[0]), len(c.frames[1]))
	}
	if partial == 0 {
		t.Error("no partial batch although one stream is slow and the timeout short")
	}
}

func TestBatchSizeSmallerThanStreams(t *testing.T) {
	c := newCollector()
	largest := 0
	err := vidflow.NewFlow(vidflow.NewPipeline("small")).Inject(stamps(4, 20)).Batch(vidflow.BatchSize(2)).
		Attach(func(m *media.BatchMeta) { largest = max(largest, len(m.Frames)) }).
		Retrieve(c).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.checkInOrder(t, 4, 20)
	if largest != 2 {
		t.Errorf("largest batch %d, want 2", largest)
	}
}

func TestLeakyQueueDropsOldest(t *testing.T) {
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("leaky")
	got := 0
	slow := retrieverFunc(func(b *media.Buffer) error {
		got++
		time.Sleep(time.Millisecond)
		return nil
	})
	err := vidflow.NewFlow(p).Capture([]string{"testsrc://?num-buffers=200&width=32&height=32"}).
		Retrieve(slow, vidflow.QueueSize(2), vidflow.DropOldest()).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	sink := st[len(st)-1]
	if sink.Drops == 0 {
		t.Error("no drops although the retriever is slower than the source")
	}
	if int64(got)+sink.Drops != 200 {
		t.Errorf("%d consumed + %d dropped != 200 frames", got, sink.Drops)
	}
	checkClean(t, g)
}
