package parsers

import (
	"math"
	"testing"

	"github.com/vidflow/vidflow/bbox"
)

type peak struct {
	class, x, y int
	score       float32
	l, t, r, b  float32
}

// makeMaps builds C x H x W heat maps with the given peaks, each surrounded
// by a lower ring (as a real Gaussian blob would be), and the wh maps.
func makeMaps(c, h, w int, peaks []peak) (heat, wh []float32) {
	heat = make([]float32, c*h*w)
	wh = make([]float32, 4*h*w)
	for _, p := range peaks {
		base := p.class * h * w
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				x, y := p.x+dx, p.y+dy
				if x < 0 || y < 0 || x >= w || y >= h {
					continue
				}
				v := p.score * 0.6
				if dx == 0 && dy == 0 {
					v = p.score
				}
				if v > heat[base+y*w+x] {
					heat[base+y*w+x] = v
				}
			}
		}
		i := p.y*w + p.x
		wh[i], wh[h*w+i], wh[2*h*w+i], wh[3*h*w+i] = p.l, p.t, p.r, p.b
	}
	return heat, wh
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-4 }

func TestDecodeCenterNetPeaks(t *testing.T) {
	const c, h, w = 3, 16, 20
	heat, wh := makeMaps(c, h, w, []peak{
		{class: 0, x: 5, y: 4, score: 0.9, l: 8, t: 6, r: 10, b: 12},
		{class: 2, x: 15, y: 10, score: 0.7, l: 4, t: 4, r: 4, b: 4},
		{class: 1, x: 0, y: 0, score: 0.5, l: 1, t: 2, r: 3, b: 4},   // corner peak
		{class: 1, x: 10, y: 10, score: 0.2, l: 1, t: 1, r: 1, b: 1}, // below threshold
	})
	dets, err := DecodeCenterNet(nil, heat, wh, CenterNetConfig{Classes: c, Height: h, Width: w, Stride: 4, Threshold: 0.3, IoU: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	want := []bbox.Detection{
		{ClassID: 0, Score: 0.9, X1: 20 - 8, Y1: 16 - 6, X2: 20 + 10, Y2: 16 + 12},
		{ClassID: 2, Score: 0.7, X1: 60 - 4, Y1: 40 - 4, X2: 60 + 4, Y2: 40 + 4},
		{ClassID: 1, Score: 0.5, X1: -1, Y1: -2, X2: 3, Y2: 4},
	}
	if len(dets) != len(want) {
		t.Fatalf("got %d detections %+v, want %d", len(dets), dets, len(want))
	}
	for i := range want {
		g, e := dets[i], want[i]
		if g.ClassID != e.ClassID || !near(g.Score, e.Score) || !near(g.X1, e.X1) || !near(g.Y1, e.Y1) || !near(g.X2, e.X2) || !near(g.Y2, e.Y2) {
			t.Errorf("detection %d = %+v, want %+v", i, g, e)
		}
	}

	// Clipping.
	dets, err = DecodeCenterNet(dets, heat, wh, CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.3, IoU: 0.5, ClipW: 64, ClipH: 42})
	if err != nil {
		t.Fatal(err)
	}
	if d := dets[2]; d.X1 != 0 || d.Y1 != 0 {
		t.Errorf("clipped corner box = %+v", d)
	}
	if d := dets[1]; d.X2 != 64 || d.Y2 != 42 {
		t.Errorf("clipped box = %+v", d)
	}
}

func TestDecodeCenterNetNeighbourIsNotPeak(t *testing.T) {
	const c, h, w = 1, 8, 8
	heat := make([]float32, c*h*w)
	wh := make([]float32, 4*h*w)
	heat[3*w+3] = 0.8
	heat[3*w+4] = 0.79 // adjacent, lower: not a peak
	heat[3*w+6] = 0.6  // two cells away, neighbours lower: a peak
	dets, err := DecodeCenterNet(nil, heat, wh, CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 2 || dets[0].Score != 0.8 || dets[1].Score != 0.6 {
		t.Fatalf("got %+v", dets)
	}
	// Plateau: equal neighbours are both peaks (TF max-pool equality) and
	// NMS merges their identical boxes.
	heat[3*w+4] = 0.8
	for i := range wh {
		wh[i] = 10
	}
	dets, _ = DecodeCenterNet(dets, heat, wh, CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.5})
	if len(dets) != 3 {
		t.Fatalf("without NMS got %d, want 3: %+v", len(dets), dets)
	}
	dets, _ = DecodeCenterNet(dets, heat, wh, CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.5, IoU: 0.5})
	if len(dets) != 2 {
		t.Fatalf("with NMS got %d, want 2: %+v", len(dets), dets)
	}
}

func TestDecodeCenterNetNMSAndTopK(t *testing.T) {
	const c, h, w = 2, 32, 32
	// Two peaks of the same class with nearly the same box, one of another
	// class with the same box, and a separate box.
	heat, wh := makeMaps(c, h, w, []peak{
		{class: 0, x: 10, y: 10, score: 0.9, l: 20, t: 20, r: 20, b: 20},
		{class: 0, x: 12, y: 10, score: 0.8, l: 28, t: 20, r: 12, b: 20},
		{class: 1, x: 10, y: 10, score: 0.85, l: 20, t: 20, r: 20, b: 20},
		{class: 0, x: 25, y: 25, score: 0.6, l: 5, t: 5, r: 5, b: 5},
	})
	cfg := CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.3, IoU: 0.5}
	dets, err := DecodeCenterNet(nil, heat, wh, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 3 {
		t.Fatalf("got %d detections, want 3: %+v", len(dets), dets)
	}
	if dets[0].Score != 0.9 || dets[1].ClassID != 1 || dets[2].Score != 0.6 {
		t.Errorf("unexpected order/contents: %+v", dets)
	}
	cfg.TopK = 2
	dets, _ = DecodeCenterNet(dets, heat, wh, cfg)
	if len(dets) != 2 || dets[1].ClassID != 1 {
		t.Errorf("topk 2: %+v", dets)
	}
	cfg.IoU, cfg.TopK = 0, 0
	dets, _ = DecodeCenterNet(dets, heat, wh, cfg)
	if len(dets) != 4 {
		t.Errorf("no NMS: got %d, want 4", len(dets))
	}
}

func TestDecodeCenterNetErrors(t *testing.T) {
	if _, err := DecodeCenterNet(nil, make([]float32, 10), make([]float32, 40), CenterNetConfig{Classes: 2, Height: 2, Width: 5}); err == nil {
		t.Error("short heat accepted")
	}
	if _, err := DecodeCenterNet(nil, make([]float32, 20), make([]float32, 39), CenterNetConfig{Classes: 2, Height: 2, Width: 5}); err == nil {
		t.Error("short wh accepted")
	}
	if _, err := DecodeCenterNet(nil, nil, nil, CenterNetConfig{}); err == nil {
		t.Error("zero dimensions accepted")
	}
}

func TestDecodeCenterNetNoAllocs(t *testing.T) {
	const c, h, w = 80, 128, 128
	heat, wh := makeMaps(c, h, w, []peak{
		{class: 0, x: 10, y: 10, score: 0.9, l: 20, t: 20, r: 20, b: 20},
		{class: 16, x: 50, y: 70, score: 0.8, l: 10, t: 20, r: 30, b: 40},
		{class: 16, x: 52, y: 70, score: 0.7, l: 12, t: 20, r: 28, b: 40},
	})
	cfg := CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.3, IoU: 0.5, TopK: 100}
	dst := make([]bbox.Detection, 0, 16)
	allocs := testing.AllocsPerRun(5, func() {
		var err error
		dst, err = DecodeCenterNet(dst, heat, wh, cfg)
		if err != nil || len(dst) != 2 {
			t.Fatalf("decode: %v %+v", err, dst)
		}
	})
	if allocs != 0 {
		t.Errorf("DecodeCenterNet with a reused slice allocates %.0f times", allocs)
	}
}

func BenchmarkDecodeCenterNet(b *testing.B) {
	const c, h, w = 80, 128, 128
	heat, wh := makeMaps(c, h, w, []peak{{class: 3, x: 40, y: 40, score: 0.9, l: 9, t: 9, r: 9, b: 9}})
	cfg := CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.3, IoU: 0.5, TopK: 100}
	dst := make([]bbox.Detection, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = DecodeCenterNet(dst, heat, wh, cfg)
	}
}
