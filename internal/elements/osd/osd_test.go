package osd

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/media"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/")

// background returns a w×h frame with a grey vertical gradient.
func background(format media.ColorFormat, w, h int) *media.Surface {
	ch := format.Channels()
	s := media.PackedSurface(format, w, h, make([]byte, format.FrameSize(w, h)))
	for y := 0; y < h; y++ {
		v := uint8(40 + 80*y/h)
		row := s.Row(y)
		for i := range row {
			row[i] = v
			if ch == 4 && i%4 == 3 {
				row[i] = 255
			}
		}
	}
	return &s
}

func obj(class int, label string, conf float32, id int64, l, t, w, h float32) *media.ObjectMeta {
	o := media.NewObject(class, label, conf, media.Rect{Left: l, Top: t, Width: w, Height: h})
	o.TrackID = id
	return o
}

// scenes are the golden images: each draws one kind of element.
var scenes = map[string]*media.FrameMeta{
	"boxes": {Objects: []*media.ObjectMeta{
		obj(0, "person", 0.87, 7, 20, 30, 40, 60),
		obj(2, "car", 0.5, media.UntrackedID, 90, 2, 60, 30), // no room above: label inside
		obj(3, "", -0.1, 12, 130, 60, 50, 60),                // predicted by a tracker, out at the right
	}},
	"text": {Display: []*media.DisplayMeta{{Texts: []media.DisplayText{
		{Text: "Hello, vidflow", X: 4, Y: 4, Font: media.Font{Name: "Sans", Size: 12, Color: media.White}, HasBg: true, BgColor: media.Color{R: 0.1, G: 0.1, B: 0.5, A: 0.8}},
		{Text: "mono 10\nsecond line", X: 8, Y: 34, Font: media.Font{Name: "Mono", Size: 10, Color: media.Color{R: 1, G: 1, A: 1}}},
		{Text: "clipped at the right edge", X: 100, Y: 76, Font: media.Font{Size: 9}, HasBg: true},
	}}}},
	"rects": {Display: []*media.DisplayMeta{{Rects: []media.DisplayRect{
		{Left: 10, Top: 10, Width: 70, Height: 50, BorderWidth: 3, BorderColor: media.Red, HasBg: true, BgColor: media.Color{R: 1, A: 0.3}},
		{Left: 50, Top: 35, Width: 70, Height: 50, BorderWidth: 1, BorderColor: media.White, HasBg: true, BgColor: media.Color{B: 1, A: 0.5}},
		{Left: 130, Top: -20, Width: 60, Height: 60, BorderWidth: 4, BorderColor: media.Color{G: 1, B: 1, A: 1}},
	}}}},
	"lines": {Display: []*media.DisplayMeta{{Lines: []media.DisplayLine{
		{X1: 5, Y1: 5, X2: 155, Y2: 95, Width: 1, Color: media.White},
		{X1: 5, Y1: 95, X2: 155, Y2: 20, Width: 4, Color: media.Color{R: 1, G: 0.5, A: 1}},
		{X1: 20, Y1: 50, X2: 140, Y2: 50, Width: 7, Color: media.Color{G: 1, A: 0.5}},
		{X1: -50, Y1: 10, X2: 80, Y2: -40, Width: 30, Color: media.Blue},
	}}}},
	"arrows": {Display: []*media.DisplayMeta{{Arrows: []media.DisplayArrow{
		{X1: 10, Y1: 20, X2: 140, Y2: 20, Width: 2, Color: media.Red, Head: media.ArrowEnd},
		{X1: 10, Y1: 50, X2: 140, Y2: 80, Width: 3, Color: media.Green, Head: media.ArrowBoth},
		{X1: 150, Y1: 95, X2: 90, Y2: 40, Width: 1, Color: media.White, Head: media.ArrowStart},
	}}}},
	"circles": {Display: []*media.DisplayMeta{{Circles: []media.DisplayCircle{
		{XC: 40, YC: 50, Radius: 30, Width: 2, Color: media.White},
		{XC: 100, YC: 50, Radius: 25, Width: 4, Color: media.Red, HasBg: true, BgColor: media.Color{R: 1, G: 1, A: 0.4}},
		{XC: 150, YC: 90, Radius: 40, Width: 6, Color: media.Color{B: 1, G: 0.6, A: 1}},
	}}}},
}

func render(t testing.TB, format media.ColorFormat, fm *media.FrameMeta) *media.Surface {
	s := background(format, 160, 100)
	if err := NewRenderer(DefaultOptions()).Draw(s, fm); err != nil {
		t.Fatal(err)
	}
	return s
}

func toImage(s *media.Surface) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, s.Width, s.Height))
	ch := s.Format.Channels()
	for y := 0; y < s.Height; y++ {
		row := s.Row(y)
		for x := 0; x < s.Width; x++ {
			o := img.PixOffset(x, y)
			if ch == 1 {
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = row[x], row[x], row[x]
			} else {
				copy(img.Pix[o:o+3], row[x*ch:x*ch+3])
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

// TestGolden compares each scene with testdata/<scene>.png. Pixels may
// differ by a few levels (fused multiply-add on other CPUs rounds
// coverage differently), shapes may not.
func TestGolden(t *testing.T) {
	for name, fm := range scenes {
		t.Run(name, func(t *testing.T) {
			got := toImage(render(t, media.RGB, fm))
			path := filepath.Join("testdata", name+".png")
			if *update {
				var b bytes.Buffer
				if err := png.Encode(&b, got); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to make it)", err)
			}
			defer f.Close()
			want, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if want.Bounds() != got.Bounds() {
				t.Fatalf("golden is %v, got %v", want.Bounds(), got.Bounds())
			}
			bad, worst := 0, 0
			for y := 0; y < got.Rect.Dy(); y++ {
				for x := 0; x < got.Rect.Dx(); x++ {
					r, g, b, _ := want.At(x, y).RGBA()
					o := got.PixOffset(x, y)
					d := max(absDiff(got.Pix[o], uint8(r>>8)), absDiff(got.Pix[o+1], uint8(g>>8)), absDiff(got.Pix[o+2], uint8(b>>8)))
					worst = max(worst, d)
					if d > 3 {
						bad++
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d pixels differ from %s by more than 3 levels (worst %d)", bad, path, worst)
			}
		})
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestFormats checks RGBA frames get the RGB drawing with opaque alpha,
// and GRAY8 frames its luma.
func TestFormats(t *testing.T) {
	for name, fm := range scenes {
		rgb := render(t, media.RGB, fm)
		rgba := render(t, media.RGBA, fm)
		gray := render(t, media.GRAY8, fm)
		for y := 0; y < rgb.Height; y++ {
			a, b, g := rgb.Row(y), rgba.Row(y), gray.Row(y)
			for x := 0; x < rgb.Width; x++ {
				if a[3*x] != b[4*x] || a[3*x+1] != b[4*x+1] || a[3*x+2] != b[4*x+2] || b[4*x+3] != 255 {
					t.Fatalf("%s: RGBA pixel (%d,%d) = %v, RGB = %v", name, x, y, b[4*x:4*x+4], a[3*x:3*x+3])
				}
				luma := (77*int(a[3*x]) + 150*int(a[3*x+1]) + 29*int(a[3*x+2])) >> 8
				if d := luma - int(g[x]); d > 8 || d < -8 {
					t.Fatalf("%s: GRAY8 pixel (%d,%d) = %d, luma of RGB %d", name, x, y, g[x], luma)
				}
			}
		}
	}
	s := media.PackedSurface(media.I420, 16, 16, make([]byte, media.I420.FrameSize(16, 16)))
	if err := NewRenderer(DefaultOptions()).Draw(&s, &media.FrameMeta{}); err == nil || !strings.Contains(err.Error(), "I420") {
		t.Errorf("drawing on I420: %v, want an error naming the format", err)
	}
}

// TestBadInput draws elements outside the frame, of negative, NaN, and
// huge sizes, and huge labels: never a crash, nothing outside the frame.
func TestBadInput(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	huge := strings.Repeat("very long label ", 20000)
	fm := &media.FrameMeta{
		Objects: []*media.ObjectMeta{
			obj(0, "", 1, 1, -100, -100, 50, 50),
			obj(1, huge, 1, 2, 10, 10, 30, 30),
			obj(-7, "negative class", 2, -5, 10, 10, -30, 30),
			obj(1, "nan", nan, 3, nan, 10, 30, 30),
			obj(2, "inf", 0.5, 4, 10, 10, inf, inf),
			obj(3, "far", 0.5, 4, 1e30, -1e30, 1e30, 1e30),
			obj(4, "big", 0.5, 4, -1e9, -1e9, 2e9, 2e9),
			obj(5, "bad utf8 \xff\xfe\x00\t", 0.5, 6, 40, 40, 20, 20),
			nil,
		},
		Display: []*media.DisplayMeta{nil, {
			Texts: []media.DisplayText{
				{Text: huge, X: -5000, Y: 3, HasBg: true},
				{Text: "x", X: math.MaxInt, Y: math.MaxInt},
				{Text: "y", X: math.MinInt, Y: math.MinInt, HasBg: true},
				{Text: "big", X: 0, Y: 0, Font: media.Font{Size: 1 << 30}},
				{Text: "tiny", X: 0, Y: 0, Font: media.Font{Size: -3}},
				{Text: "", X: 10, Y: 10, HasBg: true},
				{Text: strings.Repeat("\n", 5000) + "deep", X: 10, Y: 10},
			},
			Rects: []media.DisplayRect{
				{Left: -10, Top: -10, Width: 1e9, Height: 1e9, BorderWidth: 1 << 30, HasBg: true},
				{Left: 10, Top: 10, Width: -20, Height: 5, BorderWidth: 2},
				{Left: nan, Top: inf, Width: 5, Height: nan},
				{Left: 5, Top: 5, Width: 0.1, Height: 0.1, BorderWidth: -4},
			},
			Lines: []media.DisplayLine{
				{X1: math.MinInt, Y1: math.MinInt, X2: math.MaxInt, Y2: math.MaxInt, Width: 3},
				{X1: -1e9, Y1: 5, X2: 1e9, Y2: 6, Width: -2},
				{X1: 5, Y1: 5, X2: 5, Y2: 5, Width: 1 << 20},
				{X1: 1e6, Y1: 1e6, X2: 2e6, Y2: 2e6, Width: 5},
			},
			Arrows: []media.DisplayArrow{
				{X1: 3, Y1: 3, X2: 3, Y2: 3, Width: 2, Head: media.ArrowBoth},
				{X1: -1 << 40, Y1: 0, X2: 1 << 40, Y2: 50, Width: 4, Head: media.ArrowBoth},
				{X1: 0, Y1: 0, X2: 10, Y2: 10, Width: 2, Head: media.ArrowHead(99)},
			},
			Circles: []media.DisplayCircle{
				{XC: 50, YC: 50, Radius: -10, Width: 2},
				{XC: 50, YC: 50, Radius: 1 << 40, Width: 3, HasBg: true},
				{XC: math.MaxInt, YC: math.MinInt, Radius: math.MaxInt, Width: math.MaxInt},
				{XC: -500, YC: -500, Radius: 10, Width: 2},
				{XC: 20, YC: 20, Radius: 3, Width: 50, HasBg: true},
			},
		}},
	}
	for _, f := range []media.ColorFormat{media.RGB, media.RGBA, media.GRAY8} {
		// Draw on a frame in the middle of a larger buffer with padded rows:
		// bytes outside the frame must stay untouched.
		w, h, ch := 64, 48, f.Channels()
		stride := w*ch + 8
		data := make([]byte, 100+stride*h+100)
		for i := range data {
			data[i] = 0xA5
		}
		s := media.Surface{Format: f, Width: w, Height: h, Data: data, Strides: [3]int{stride}, Offsets: [3]int{100}}
		if err := NewRenderer(DefaultOptions()).Draw(&s, fm); err != nil {
			t.Fatal(err)
		}
		for i, v := range data {
			in := i >= 100 && i < 100+stride*h && (i-100)%stride < w*ch
			if !in && v != 0xA5 {
				t.Fatalf("%v: byte %d outside the frame was written", f, i)
			}
		}
	}
}

// TestRandom draws random elements, many of them partly outside the frame.
func TestRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := NewRenderer(DefaultOptions())
	s := background(media.RGBA, 97, 61)
	c := func() media.Color {
		return media.Color{R: rng.Float32(), G: rng.Float32(), B: rng.Float32(), A: rng.Float32()}
	}
	n := func() int { return rng.IntN(400) - 150 }
	for i := 0; i < 300; i++ {
		d := &media.DisplayMeta{}
		d.AddText(media.DisplayText{Text: fmt.Sprint("t", i), X: n(), Y: n(), Font: media.Font{Size: rng.IntN(40)}, HasBg: rng.IntN(2) == 0, BgColor: c()})
		d.AddRect(media.DisplayRect{Left: float32(n()), Top: float32(n()), Width: float32(n()), Height: float32(n()), BorderWidth: rng.IntN(10) - 2, BorderColor: c(), HasBg: true, BgColor: c()})
		d.AddLine(media.DisplayLine{X1: n(), Y1: n(), X2: n(), Y2: n(), Width: rng.IntN(20) - 2, Color: c()})
		d.AddArrow(media.DisplayArrow{X1: n(), Y1: n(), X2: n(), Y2: n(), Width: rng.IntN(8), Color: c(), Head: media.ArrowHead(rng.IntN(3))})
		d.AddCircle(media.DisplayCircle{XC: n(), YC: n(), Radius: n(), Width: rng.IntN(12) - 2, Color: c(), HasBg: rng.IntN(2) == 0, BgColor: c()})
		fm := &media.FrameMeta{Display: []*media.DisplayMeta{d},
			Objects: []*media.ObjectMeta{obj(rng.IntN(100), "obj", rng.Float32(), int64(i), float32(n()), float32(n()), float32(n()), float32(n()))}}
		if err := r.Draw(s, fm); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNoDrawOptions: with boxes and labels off, objects leave no trace.
func TestNoDrawOptions(t *testing.T) {
	o := DefaultOptions()
	o.Boxes, o.Labels = false, false
	s := background(media.RGB, 160, 100)
	before := append([]byte(nil), s.Data...)
	if err := NewRenderer(o).Draw(s, scenes["boxes"]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, s.Data) {
		t.Error("objects were drawn with display-bbox and display-text off")
	}
}

// benchFrame is 50 labelled objects on a 1080p frame, a typical busy scene.
func benchFrame() *media.FrameMeta {
	rng := rand.New(rand.NewPCG(5, 6))
	labels := []string{"person", "car", "bicycle", "truck", "dog"}
	fm := &media.FrameMeta{}
	for i := 0; i < 50; i++ {
		w, h := 40+rng.Float32()*200, 60+rng.Float32()*300
		fm.Objects = append(fm.Objects, obj(i%5, labels[i%5], 0.5+rng.Float32()/2, int64(100+i),
			rng.Float32()*(1920-w), rng.Float32()*(1080-h), w, h))
	}
	return fm
}

// BenchmarkOSD1080p50 draws 50 objects (box, label with track id and
// confidence) on a 1080p RGB frame.
func BenchmarkOSD1080p50(b *testing.B) {
	s := background(media.RGB, 1920, 1080)
	fm := benchFrame()
	r := NewRenderer(DefaultOptions())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Draw(s, fm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
}

// BenchmarkOSD1080pDisplay draws a display-heavy overlay: 16 texts with
// backgrounds, 16 translucent rectangles, 16 lines, arrows and circles.
func BenchmarkOSD1080pDisplay(b *testing.B) {
	s := background(media.RGB, 1920, 1080)
	d := &media.DisplayMeta{}
	for i := 0; i < 16; i++ {
		x, y := 100*i, 60*i
		d.AddText(media.DisplayText{Text: fmt.Sprintf("zone %d: 12 people", i), X: x, Y: y, Font: media.Font{Size: 14}, HasBg: true})
		d.AddRect(media.DisplayRect{Left: float32(x), Top: float32(y), Width: 200, Height: 120, BorderWidth: 3, HasBg: true})
		d.AddLine(media.DisplayLine{X1: x, Y1: y, X2: x + 300, Y2: y + 200, Width: 4})
		d.AddArrow(media.DisplayArrow{X1: x, Y1: y + 50, X2: x + 150, Y2: y + 80, Width: 3})
		d.AddCircle(media.DisplayCircle{XC: x + 50, YC: y + 50, Radius: 40, Width: 3})
	}
	fm := &media.FrameMeta{Display: []*media.DisplayMeta{d}}
	r := NewRenderer(DefaultOptions())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Draw(s, fm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
}
