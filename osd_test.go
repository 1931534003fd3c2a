package vidflow_test

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

var updateDocs = flag.Bool("update-docs", false, "write docs/images/osd-example.png")

// grab copies the first frame of each buffer a retriever gets.
type grab struct {
	mu     sync.Mutex
	frames [][]byte
	w, h   int
	metas  []*media.FrameMeta
}

func (g *grab) Consume(b *media.Buffer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, err := b.Surface(0)
	if err != nil {
		return err
	}
	g.w, g.h = s.Width, s.Height
	px := make([]byte, 0, s.Width*s.Height*3)
	for y := 0; y < s.Height; y++ {
		px = append(px, s.Row(y)...)
	}
	g.frames = append(g.frames, px)
	g.metas = append(g.metas, b.Meta().Frames[0].Clone())
	return nil
}

func (g *grab) px(frame, x, y int) [3]byte {
	p := g.frames[frame][(y*g.w+x)*3:]
	return [3]byte{p[0], p[1], p[2]}
}

func near3(a, b [3]byte, tol int) bool {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d > tol || d < -tol {
			return false
		}
	}
	return true
}

func gray(n int) media.BufferProvider {
	return &solidProvider{info: media.StreamInfo{Format: media.RGB, Width: 64, Height: 48}, px: []byte{50, 50, 50}, n: n}
}

// addOverlay is a probe adding an object and display elements to every frame.
func addOverlay(m *media.BatchMeta) {
	for _, fm := range m.Frames {
		o := media.NewObject(0, "person", 0.9, media.Rect{Left: 4, Top: 28, Width: 20, Height: 15})
		o.TrackID = 3
		fm.AddObject(o)
		d := &media.DisplayMeta{}
		d.AddRect(media.DisplayRect{Left: 30, Top: 30, Width: 10, Height: 8, HasBg: true, BgColor: media.Color{R: 1, A: 1}})
		d.AddRect(media.DisplayRect{Left: 45, Top: 38, Width: 10, Height: 8, HasBg: true, BgColor: media.Color{B: 1, A: 0.5}})
		d.AddLine(media.DisplayLine{X1: -100, Y1: -100, X2: 1000, Y2: -50, Width: 3})
		d.AddCircle(media.DisplayCircle{XC: 1000, YC: 1000, Radius: 5, Width: 2})
		fm.AddDisplay(d)
	}
}

// TestOSDPixels: Inject → Batch → probe adding metadata → OSD → Retrieve,
// checking known pixels.
func TestOSDPixels(t *testing.T) {
	g := runtime.NumGoroutine()
	got := &grab{}
	err := vidflow.NewFlow(vidflow.NewPipeline("osd")).Inject([]media.BufferProvider{gray(3)}).Batch().
		Attach(vidflow.NewProbe("overlay", addOverlay)).OSD().Retrieve(got).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.frames) != 3 {
		t.Fatalf("%d frames", len(got.frames))
	}
	class0 := [3]byte{230, 26, 74} // the palette's first colour
	checks := []struct {
		x, y int
		want [3]byte
		what string
	}{
		{35, 34, [3]byte{255, 0, 0}, "opaque red fill"},
		{50, 42, [3]byte{25, 25, 153}, "half-transparent blue fill over grey 50"},
		{4, 36, class0, "object box border, left"},
		{23, 42, class0, "object box border, bottom right"},
		{14, 36, [3]byte{50, 50, 50}, "inside the object box"},
		{60, 45, [3]byte{50, 50, 50}, "untouched corner"},
	}
	for _, c := range checks {
		if p := got.px(0, c.x, c.y); !near3(p, c.want, 1) {
			t.Errorf("%s: pixel (%d,%d) = %v, want %v", c.what, c.x, c.y, p, c.want)
		}
	}
	// The label sits above the box on the class colour, in white.
	white, bg := 0, 0
	for y := 10; y < 28; y++ {
		for x := 4; x < 64; x++ {
			switch p := got.px(0, x, y); {
			case near3(p, [3]byte{255, 255, 255}, 40):
				white++
			case near3(p, class0, 2):
				bg++
			}
		}
	}
	if white < 20 || bg < 100 {
		t.Errorf("label: %d white and %d background pixels, want text on the class colour", white, bg)
	}
	checkClean(t, g)
}

// TestOSDForkCopyOnWrite: after a Fork the OSD branch draws on a copy; the
// other branch keeps the undrawn frames.
func TestOSDForkCopyOnWrite(t *testing.T) {
	g := runtime.NumGoroutine()
	drawn, plain := &grab{}, &grab{}
	fork := vidflow.NewFlow(vidflow.NewPipeline("fork")).Inject([]media.BufferProvider{gray(20)}).Batch().
		Attach(vidflow.NewProbe("overlay", addOverlay)).Fork()
	fork.OSD().Retrieve(drawn)
	fork.Retrieve(plain)
	if err := fork.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(drawn.frames) != 20 || len(plain.frames) != 20 {
		t.Fatalf("%d and %d frames, want 20 each", len(drawn.frames), len(plain.frames))
	}
	for i := range plain.frames {
		if p := drawn.px(i, 35, 34); p != [3]byte{255, 0, 0} {
			t.Fatalf("frame %d: drawn branch pixel %v, want red", i, p)
		}
		for j, v := range plain.frames[i] {
			if v != 50 {
				t.Fatalf("frame %d: the other branch's byte %d is %d: the OSD drew on a shared frame", i, j, v)
			}
		}
	}
	checkClean(t, g)
}

// TestTile: two streams tiled side by side; frames, boxes and display
// elements are moved into their tiles.
func TestTile(t *testing.T) {
	g := runtime.NumGoroutine()
	red := &solidProvider{info: media.StreamInfo{Format: media.RGB, Width: 64, Height: 48}, px: []byte{200, 0, 0}, n: 5}
	blue := &solidProvider{info: media.StreamInfo{Format: media.RGB, Width: 64, Height: 48}, px: []byte{0, 0, 200}, n: 5}
	objs := vidflow.NewProbe("objects", func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			fm.AddObject(media.NewObject(fm.SourceID, "o", 1, media.Rect{Left: 10, Top: 10, Width: 20, Height: 20}))
			fm.AddDisplay((&media.DisplayMeta{}).AddLine(media.DisplayLine{X1: 0, Y1: 24, X2: 64, Y2: 24}).
				AddCircle(media.DisplayCircle{XC: 32, YC: 24, Radius: 10}))
		}
	})
	got := &grab{}
	err := vidflow.NewFlow(vidflow.NewPipeline("tile")).Inject([]media.BufferProvider{red, blue}).
		Batch(vidflow.BatchedPushTimeout(-1)).Attach(objs).
		Tile(vidflow.Width(256), vidflow.Height(48), vidflow.TileGrid(1, 2)).Retrieve(got).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.frames) != 5 || got.w != 256 || got.h != 48 {
		t.Fatalf("%d frames of %dx%d, want 5 of 256x48", len(got.frames), got.w, got.h)
	}
	if p := got.px(0, 10, 10); p != [3]byte{200, 0, 0} {
		t.Errorf("left tile %v, want red", p)
	}
	if p := got.px(0, 250, 40); p != [3]byte{0, 0, 200} {
		t.Errorf("right tile %v, want blue", p)
	}
	fm := got.metas[0]
	if len(fm.Objects) != 2 || fm.Width != 256 || len(fm.Display) != 2 {
		t.Fatalf("tiled frame: %d objects, %d displays, width %d", len(fm.Objects), len(fm.Display), fm.Width)
	}
	for _, o := range fm.Objects {
		// Each tile is 128x48: x doubles, y stays.
		want := media.Rect{Left: 20 + 128*float32(o.ClassID), Top: 10, Width: 40, Height: 20}
		if o.Rect != want {
			t.Errorf("stream %d's box tiled to %+v, want %+v", o.ClassID, o.Rect, want)
		}
	}
	// The display elements, in batch order: stream 0's in the left tile.
	for _, d := range fm.Display {
		c, l := d.Circles[0], d.Lines[0]
		x0 := l.X1
		if (x0 != 0 && x0 != 128) || l.X2 != x0+128 || l.Y1 != 24 || c.XC != x0+64 || c.YC != 24 || c.Radius != 10 {
			t.Errorf("display elements tiled to %+v and %+v", l, c)
		}
	}
	// Tile then OSD: the boxes are drawn in the tiles.
	drawn := &grab{}
	red.i, blue.i = 0, 0
	err = vidflow.NewFlow(vidflow.NewPipeline("tile-osd")).Inject([]media.BufferProvider{red, blue}).
		Batch(vidflow.BatchedPushTimeout(-1)).Attach(objs).
		Tile(vidflow.Width(256), vidflow.Height(48)).OSD(vidflow.Props{"display-text": false}).Retrieve(drawn).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := drawn.px(0, 128+20, 25); p == [3]byte{0, 0, 200} {
		t.Errorf("no box drawn at the left edge of stream 1's tiled box: %v", p)
	}
	// show-source: one stream, full size.
	one := &grab{}
	red.i, blue.i = 0, 0
	err = vidflow.NewFlow(vidflow.NewPipeline("show")).Inject([]media.BufferProvider{red, blue}).
		Batch(vidflow.BatchedPushTimeout(-1)).Tile(vidflow.Width(128), vidflow.Height(96), vidflow.Props{"show-source": 1}).
		Retrieve(one).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(one.frames) != 5 || one.px(0, 0, 0) != [3]byte{0, 0, 200} || one.px(0, 127, 95) != [3]byte{0, 0, 200} {
		t.Errorf("show-source 1: %d frames, corners %v %v, want blue", len(one.frames), one.px(0, 0, 0), one.px(0, 127, 95))
	}
	checkClean(t, g)
}

// TestOSDProps: bad properties are errors naming them.
func TestOSDProps(t *testing.T) {
	for _, c := range []struct {
		props vidflow.Props
		want  string
	}{
		{vidflow.Props{"font-size": 1000}, `"font-size": 1000 out of range`},
		{vidflow.Props{"border-width": -1}, `"border-width": -1 out of range`},
		{vidflow.Props{"display-txt": true}, `unknown property "display-txt"`},
		{vidflow.Props{"display-text": "maybe"}, `property "display-text"`},
	} {
		err := vidflow.NewFlow(vidflow.NewPipeline("p")).Inject([]media.BufferProvider{gray(1)}).Batch().OSD(c.props).Err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.props, err, c.want)
		}
	}
	err := vidflow.NewFlow(vidflow.NewPipeline("p")).Inject([]media.BufferProvider{gray(1)}).Batch().
		Tile(vidflow.TileGrid(-1, 2)).Err()
	if err == nil || !strings.Contains(err.Error(), "rows and columns") {
		t.Errorf("bad grid: %v", err)
	}
}

// TestOSDExampleImage renders the picture of docs/images/osd-example.png:
// the test source with tracked boxes, labels, a text with a background, a
// line, an arrow and a circle (go test -run TestOSDExampleImage -update-docs).
func TestOSDExampleImage(t *testing.T) {
	overlay := vidflow.NewProbe("overlay", func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			d := &media.DisplayMeta{}
			d.AddText(media.DisplayText{Text: "vidflow OSD: 6 objects tracked (ByteTrack)", X: 8, Y: 8,
				Font: media.Font{Name: "Sans", Size: 13, Color: media.Color{R: 1, G: 1, B: 1, A: 1}}, HasBg: true,
				BgColor: media.Color{R: 0.05, G: 0.05, B: 0.2, A: 0.75}})
			d.AddLine(media.DisplayLine{X1: 20, Y1: 300, X2: 620, Y2: 250, Width: 3, Color: media.Color{R: 1, G: 0.85, A: 1}})
			d.AddText(media.DisplayText{Text: "counting line", X: 24, Y: 302, Font: media.Font{Size: 10, Color: media.Color{R: 1, G: 0.85, A: 1}}})
			d.AddArrow(media.DisplayArrow{X1: 560, Y1: 80, X2: 620, Y2: 140, Width: 3, Color: media.Color{G: 1, B: 0.5, A: 1}, Head: media.ArrowEnd})
			d.AddCircle(media.DisplayCircle{XC: 590, YC: 300, Radius: 35, Width: 3, Color: media.Color{R: 1, B: 1, A: 1},
				HasBg: true, BgColor: media.Color{R: 1, B: 1, A: 0.25}})
			d.AddRect(media.DisplayRect{Left: 420, Top: 40, Width: 120, Height: 70, BorderWidth: 2,
				BorderColor: media.Color{G: 0.8, B: 1, A: 1}, HasBg: true, BgColor: media.Color{G: 0.8, B: 1, A: 0.2}})
			fm.AddDisplay(d)
		}
	})
	got := &grab{}
	pick := vidflow.NewProbe("pick", func(b *media.Buffer) bool { return b.Meta().Frames[0].FrameNumber == 45 })
	err := vidflow.NewFlow(vidflow.NewPipeline("example")).
		Capture([]string{"testsrc://?width=640&height=360&objects=6&truth=true&num-buffers=46&seed=11"}).Batch().
		Attach(vidflow.NewProbe("strip", stripIDs)).Track().Attach(overlay).OSD().Attach(pick).Retrieve(got).
		Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.frames) != 1 {
		t.Fatalf("%d frames", len(got.frames))
	}
	tracked := 0
	for _, o := range got.metas[0].Objects {
		if o.TrackID >= 0 {
			tracked++
		}
	}
	if tracked != 6 {
		t.Errorf("%d tracked objects in the picture, want 6", tracked)
	}
	img := image.NewRGBA(image.Rect(0, 0, got.w, got.h))
	for i := 0; i < got.w*got.h; i++ {
		copy(img.Pix[4*i:4*i+3], got.frames[0][3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if *updateDocs {
		if err := os.WriteFile("docs/images/osd-example.png", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A batch of more frames than the OSD's copy pool held (32 read-only
// frames against 20) deadlocked: the OSD waited for copies its own batch
// held. Copies are now pooled by batch size.
func TestOSDCopiesLargeBatches(t *testing.T) {
	g := runtime.NumGoroutine()
	var streams []media.BufferProvider
	for range 32 {
		streams = append(streams, gray(3))
	}
	drawn := &grab{}
	// Frames GStreamer decoded are read-only: the OSD copies each.
	readOnly := func(b *media.Buffer) bool {
		for i := range b.BatchSize() {
			b.Frame(i).SetReadOnly()
		}
		return true
	}
	f := vidflow.NewFlow(vidflow.NewPipeline("osd-large")).Inject(streams).Batch(vidflow.BatchedPushTimeout(-1)).
		Attach(vidflow.NewProbe("overlay", addOverlay)).Attach(vidflow.NewProbe("read-only", readOnly))
	f.OSD().Retrieve(drawn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.Run(ctx); err != nil {
		t.Fatalf("32 streams through the OSD: %v", err)
	}
	if len(drawn.frames) != 3 {
		t.Fatalf("%d batches, want 3", len(drawn.frames))
	}
	if p := drawn.px(2, 35, 34); p != [3]byte{255, 0, 0} {
		t.Errorf("pixel %v, want red: not drawn", p)
	}
	checkClean(t, g)
}
