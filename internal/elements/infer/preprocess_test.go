package infer

import (
	"math"
	"testing"

	"github.com/vidflow/vidflow/media"
)

// surface makes a packed RGB surface whose pixel (x, y) is px(x, y).
func surface(w, h int, px func(x, y int) [3]byte) *media.Surface {
	data := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := px(x, y)
			copy(data[(y*w+x)*3:], p[:])
		}
	}
	s := media.PackedSurface(media.RGB, w, h, data)
	return &s
}

func approx(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-4 }

func TestPreprocessColourOrderScaleOffsets(t *testing.T) {
	s := surface(4, 2, func(x, y int) [3]byte { return [3]byte{byte(10 * x), byte(100 + y), 200} })
	for _, nhwc := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.ModelColorFormat = 1 // BGR
		cfg.NetScaleFactor = 0.5
		cfg.Offsets = []float32{100, 50, 10} // B, G, R
		p := newPreprocessor(cfg, 4, 2, 3, nhwc)
		dst := make([]float32, 4*2*3)
		tr, err := p.fill(dst, s, region{0, 0, 4, 2})
		if err != nil {
			t.Fatal(err)
		}
		at := func(c, y, x int) float32 {
			if nhwc {
				return dst[(y*4+x)*3+c]
			}
			return dst[c*8+y*4+x]
		}
		for y := 0; y < 2; y++ {
			for x := 0; x < 4; x++ {
				b, g, r := at(0, y, x), at(1, y, x), at(2, y, x)
				if !approx(b, 0.5*(200-100)) || !approx(g, 0.5*(float32(100+y)-50)) || !approx(r, 0.5*(float32(10*x)-10)) {
					t.Errorf("nhwc=%v (%d,%d): b %v g %v r %v", nhwc, x, y, b, g, r)
				}
			}
		}
		if got := tr.rect(1, 0, 3, 2); got != (media.Rect{Left: 1, Top: 0, Width: 2, Height: 2}) {
			t.Errorf("identity mapping: %+v", got)
		}
	}
}

// Halving with half-pixel bilinear filtering averages 2x2 blocks; nearest
// picks one pixel of each.
func TestPreprocessScaling(t *testing.T) {
	s := surface(8, 4, func(x, y int) [3]byte { return [3]byte{byte(x * 10), byte(y * 20), byte(x + y)} })
	cfg := DefaultConfig()
	cfg.ScalingFilter = 1
	p := newPreprocessor(cfg, 4, 2, 3, false)
	dst := make([]float32, 4*2*3)
	tr, err := p.fill(dst, s, region{0, 0, 8, 4})
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 2; y++ {
		for x := 0; x < 4; x++ {
			wantR := float32((2*x)*10+(2*x+1)*10) / 2
			wantG := float32((2*y)*20+(2*y+1)*20) / 2
			if r, g := dst[y*4+x], dst[8+y*4+x]; !approx(r, wantR) || !approx(g, wantG) {
				t.Errorf("(%d,%d): r %v g %v, want %v %v", x, y, r, g, wantR, wantG)
			}
		}
	}
	if got := tr.rect(1, 0.5, 3, 1.5); got != (media.Rect{Left: 2, Top: 1, Width: 4, Height: 2}) {
		t.Errorf("mapping back: %+v", got)
	}
	cfg.ScalingFilter = 0
	p = newPreprocessor(cfg, 4, 2, 3, false)
	if _, err := p.fill(dst, s, region{0, 0, 8, 4}); err != nil {
		t.Fatal(err)
	}
	if r := dst[1]; r != 30 { // source x = floor(1.5*2) = 3
		t.Errorf("nearest: %v", r)
	}
}

// maintain-aspect-ratio letterboxes, padding with what black becomes;
// boxes map back undoing the padding.
func TestPreprocessLetterbox(t *testing.T) {
	s := surface(8, 4, func(x, y int) [3]byte { return [3]byte{255, 255, 255} })
	for _, sym := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.MaintainAspectRatio = true
		cfg.SymmetricPadding = sym
		cfg.Offsets = []float32{10, 10, 10}
		p := newPreprocessor(cfg, 4, 4, 3, true)
		dst := make([]float32, 4*4*3)
		for i := range dst {
			dst[i] = 999
		}
		tr, err := p.fill(dst, s, region{0, 0, 8, 4})
		if err != nil {
			t.Fatal(err)
		}
		top := 0
		if sym {
			top = 1
		}
		for y := 0; y < 4; y++ {
			want := float32(-10) // padding: 0 - offset
			if y >= top && y < top+2 {
				want = 245
			}
			for x := 0; x < 4; x++ {
				if v := dst[(y*4+x)*3]; v != want {
					t.Errorf("sym=%v (%d,%d) = %v, want %v", sym, x, y, v, want)
				}
			}
		}
		// The image occupies rows top..top+2 of the network input.
		if got := tr.rect(0, float32(top), 4, float32(top+2)); got != (media.Rect{Left: 0, Top: 0, Width: 8, Height: 4}) {
			t.Errorf("sym=%v: mapping back %+v", sym, got)
		}
		// Boxes reaching into the padding are clipped to the image.
		if got := tr.rect(-1, -1, 5, 5); got != (media.Rect{Left: 0, Top: 0, Width: 8, Height: 4}) {
			t.Errorf("sym=%v: clipping %+v", sym, got)
		}
	}
}

// A region of the frame (an object's crop) maps back into the frame.
func TestPreprocessRegionAndGray(t *testing.T) {
	s := surface(10, 10, func(x, y int) [3]byte {
		if x >= 4 && y >= 2 {
			return [3]byte{100, 200, 50}
		}
		return [3]byte{}
	})
	cfg := DefaultConfig()
	cfg.ModelColorFormat = 2
	p := newPreprocessor(cfg, 3, 4, 1, false)
	dst := make([]float32, 3*4)
	tr, err := p.fill(dst, s, region{4, 2, 6, 8})
	if err != nil {
		t.Fatal(err)
	}
	luma := float32(0.299*100 + 0.587*200 + 0.114*50)
	for i, v := range dst {
		if !approx(v, luma) {
			t.Errorf("gray[%d] = %v, want %v", i, v, luma)
		}
	}
	if got := tr.rect(0, 0, 1.5, 2); got != (media.Rect{Left: 4, Top: 2, Width: 3, Height: 4}) {
		t.Errorf("region mapping: %+v", got)
	}
	if _, err := p.fill(dst, s, region{8, 8, 4, 4}); err == nil {
		t.Error("region outside the frame accepted")
	}
	i420 := media.PackedSurface(media.I420, 4, 4, make([]byte, 24))
	if _, err := p.fill(dst, &i420, region{0, 0, 4, 4}); err == nil {
		t.Error("I420 accepted")
	}
}

func TestRegionOf(t *testing.T) {
	if r, ok := regionOf(media.Rect{Left: -5, Top: 2.5, Width: 20, Height: 3}, 10, 10); !ok || r != (region{0, 2, 10, 4}) {
		t.Errorf("%+v %v", r, ok)
	}
	if _, ok := regionOf(media.Rect{Left: 12, Top: 0, Width: 5, Height: 5}, 10, 10); ok {
		t.Error("outside region accepted")
	}
}

// Preprocessing a full HD frame into a 512x512 slot allocates nothing.
func TestPreprocessNoAllocation(t *testing.T) {
	s := surface(1920, 1080, func(x, y int) [3]byte { return [3]byte{byte(x), byte(y), 7} })
	cfg := DefaultConfig()
	cfg.ScalingFilter = 1
	cfg.MaintainAspectRatio = true
	p := newPreprocessor(cfg, 512, 512, 3, true)
	dst := make([]float32, 512*512*3)
	if n := testing.AllocsPerRun(3, func() { _, _ = p.fill(dst, s, region{0, 0, 1920, 1080}) }); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

func BenchmarkPreprocess(b *testing.B) {
	s := surface(1280, 720, func(x, y int) [3]byte { return [3]byte{byte(x), byte(y), 7} })
	cfg := DefaultConfig()
	cfg.ScalingFilter = 1
	p := newPreprocessor(cfg, 512, 512, 3, true)
	dst := make([]float32, 512*512*3)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = p.fill(dst, s, region{0, 0, 1280, 720})
	}
}
