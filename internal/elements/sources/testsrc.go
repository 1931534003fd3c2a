package sources

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

func registerTestsrc(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind: "testsrc",
		Doc: "A synthetic stream of coloured boxes moving over a gradient, the same for the same seed; " +
			"with truth=true each frame carries the boxes as objects (ground truth for tests and demos).",
		Role: element.RoleSource,
		Props: []element.PropSpec{
			{Name: "width", Type: element.Int, Default: 320, Doc: "16..4096"},
			{Name: "height", Type: element.Int, Default: 240, Doc: "16..4096"},
			{Name: "framerate", Type: element.Float, Default: 30.0, Doc: "(0..1000]"},
			{Name: "num-buffers", Type: element.Int, Default: -1, Doc: "frames before end-of-stream; -1 never ends"},
			{Name: "objects", Type: element.Int, Default: 3, Doc: "number of moving boxes, 0..1000"},
			{Name: "seed", Type: element.Int, Default: 1},
			{Name: "format", Type: element.String, Default: "RGB", Doc: "RGB, RGBA or GRAY8"},
			{Name: "is-live", Type: element.Bool, Default: false, Doc: "pace frames at the framerate"},
			{Name: "truth", Type: element.Bool, Default: false, Doc: "attach the boxes as ObjectMeta (ClassID = box index mod 3, TrackID = box index)"},
			{Name: "pool-size", Type: element.Int, Default: 16, Doc: "frames the source may have in flight, 1..64"},
		},
		New: newTestSrc,
	})
}

// TestSrcLabels are the labels of the test source's classes.
var TestSrcLabels = []string{"square", "wide", "tall"}

type box struct {
	x, y, vx, vy float64
	w, h         int
	color        [3]uint8
	class        int
}

type testSrc struct {
	cfg               *element.Config
	w, h, n, poolSize int
	fps               float64
	format            media.ColorFormat
	live, truth       bool
	start, boxes      []box
	background        []byte
	pool              *media.Pool
}

func newTestSrc(c *element.Config) (element.Element, error) {
	s := &testSrc{cfg: c, w: c.Int("width"), h: c.Int("height"), n: c.Int("num-buffers"),
		fps: c.Float("framerate"), live: c.Bool("is-live"), truth: c.Bool("truth"), poolSize: c.Int("pool-size")}
	f, err := media.ParseColorFormat(c.String("format"))
	if err != nil || f.Channels() == 0 {
		return nil, fmt.Errorf("property \"format\": %q is not RGB, RGBA or GRAY8", c.String("format"))
	}
	s.format = f
	if err := s.checkBounds(c); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(c.Int("seed")), 0x766964666c6f77))
	for i := 0; i < c.Int("objects"); i++ {
		b := box{class: i % 3}
		side := max(8, min(s.w, s.h)/6)
		switch b.class {
		case 0:
			b.w, b.h = side, side
		case 1:
			b.w, b.h = side*3/2, side*2/3
		default:
			b.w, b.h = side*2/3, side*3/2
		}
		b.x = rng.Float64() * float64(s.w-b.w)
		b.y = rng.Float64() * float64(s.h-b.h)
		speed := float64(min(s.w, s.h)) / 60
		b.vx = (rng.Float64()*2 - 1) * speed
		b.vy = (rng.Float64()*2 - 1) * speed
		b.color = [3]uint8{uint8(64 + rng.IntN(192)), uint8(64 + rng.IntN(192)), uint8(64 + rng.IntN(192))}
		s.start = append(s.start, b)
	}
	s.background = make([]byte, s.format.FrameSize(s.w, s.h))
	ch := s.format.Channels()
	for y := 0; y < s.h; y++ {
		v := uint8(20 + 60*y/s.h)
		row := s.background[y*s.w*ch : (y+1)*s.w*ch]
		for i := range row {
			row[i] = v
			if ch == 4 && i%4 == 3 {
				row[i] = 255
			}
		}
	}
	return s, nil
}

// The bounds of testsrc's properties. A testsrc:// URI is something a
// REST client sends, so every property that costs memory or CPU is
// bounded: a 4096×4096 RGBA frame is 64 MiB, times pool-size 64 at most;
// objects are drawn on every frame.
const (
	maxTestsrcSide    = 4096
	maxTestsrcObjects = 1000
	maxTestsrcPool    = 64
	maxTestsrcFPS     = 1000
)

// checkBounds checks the properties against those bounds, naming the
// property (the service answers 422 with the message).
func (s *testSrc) checkBounds(c *element.Config) error {
	// The size is named as a whole, as before the bounds were per side.
	side := func(name string, v int) error {
		if v < 16 || v > maxTestsrcSide {
			return fmt.Errorf("size %dx%d out of range: property %q must be 16..%d", s.w, s.h, name, maxTestsrcSide)
		}
		return nil
	}
	if err := side("width", s.w); err != nil {
		return err
	}
	if err := side("height", s.h); err != nil {
		return err
	}
	switch n := c.Int("objects"); {
	case s.fps <= 0 || s.fps > maxTestsrcFPS:
		return fmt.Errorf("property \"framerate\": %v out of range (0..%d]", s.fps, maxTestsrcFPS)
	case n < 0 || n > maxTestsrcObjects:
		return fmt.Errorf("property \"objects\": %d out of range (0..%d)", n, maxTestsrcObjects)
	case s.poolSize < 1 || s.poolSize > maxTestsrcPool:
		return fmt.Errorf("property \"pool-size\": %d out of range (1..%d)", s.poolSize, maxTestsrcPool)
	case s.n < -1:
		return fmt.Errorf("property \"num-buffers\": %d; want -1 (never ends) or more", s.n)
	}
	return nil
}

func (s *testSrc) Run(ctx context.Context, p element.Ports) error {
	s.boxes = append([]box(nil), s.start...) // each run starts from the seed's boxes
	s.pool = media.NewPool(p.Name(), s.format, s.w, s.h, s.poolSize)
	p.AddPool(s.pool)
	period := time.Duration(float64(time.Second) / s.fps)
	start := time.Now()
	for n := 0; s.n < 0 || n < s.n; n++ {
		t0 := time.Now()
		f, err := s.pool.Get(ctx)
		if err != nil {
			return err
		}
		fm := s.draw(f, int64(n))
		fm.PTS = time.Duration(n) * period
		b := media.NewBatch([]*media.Frame{f}, &media.BatchMeta{Frames: []*media.FrameMeta{fm}})
		b.SetTimestamp(fm.PTS)
		p.Observe(time.Since(t0))
		if s.live {
			if d := time.Until(start.Add(time.Duration(n) * period)); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					b.Release()
					return context.Cause(ctx)
				}
			}
		}
		if err := p.EmitBuffer(b); err != nil {
			return err
		}
	}
	return nil
}

// draw renders frame n into f and returns its metadata.
func (s *testSrc) draw(f *media.Frame, n int64) *media.FrameMeta {
	copy(f.Data, s.background)
	ch := s.format.Channels()
	fm := &media.FrameMeta{FrameNumber: n, NTPTimestamp: time.Now(),
		Width: s.w, Height: s.h, SourceWidth: s.w, SourceHeight: s.h}
	for i := range s.boxes {
		b := &s.boxes[i]
		x0, y0 := int(b.x), int(b.y)
		for y := y0; y < y0+b.h; y++ {
			row := f.Data[y*s.w*ch:]
			for x := x0; x < x0+b.w; x++ {
				switch ch {
				case 1:
					row[x] = uint8((int(b.color[0]) + int(b.color[1]) + int(b.color[2])) / 3)
				default:
					row[x*ch], row[x*ch+1], row[x*ch+2] = b.color[0], b.color[1], b.color[2]
				}
			}
		}
		if s.truth {
			o := media.NewObject(b.class, TestSrcLabels[b.class], 1, media.Rect{Left: float32(x0), Top: float32(y0), Width: float32(b.w), Height: float32(b.h)})
			o.TrackID = int64(i)
			fm.Objects = append(fm.Objects, o)
		}
		// Move for the next frame, bouncing off the edges.
		b.x += b.vx
		b.y += b.vy
		if b.x < 0 || b.x > float64(s.w-b.w) {
			b.vx = -b.vx
			b.x = min(max(b.x, 0), float64(s.w-b.w))
		}
		if b.y < 0 || b.y > float64(s.h-b.h) {
			b.vy = -b.vy
			b.y = min(max(b.y, 0), float64(s.h-b.h))
		}
	}
	return fm
}
