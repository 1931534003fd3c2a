package parsers

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vidflow/vidflow/bbox"
)

// deviceTopK computes in Go what the device-decoded CenterNet graph
// outputs (modelconv.DeviceDecode): non-peak cells zeroed, the K largest
// cells by descending score, their flat indices as float32 and their wh
// distances [K,4].
func deviceTopK(heat, wh []float32, c, h, w, k int) (scores, indices, boxes []float32) {
	plane := h * w
	peaks := make([]float32, len(heat))
	for i, v := range heat {
		cell := i % plane
		if isPeak(heat[i-cell:i-cell+plane], w, h, cell%w, cell/w, v) {
			peaks[i] = v
		}
	}
	order := make([]int, len(peaks))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(peaks[b], peaks[a]) })
	for _, i := range order[:k] {
		cell := i % plane
		scores = append(scores, peaks[i])
		indices = append(indices, float32(i))
		boxes = append(boxes, wh[cell], wh[plane+cell], wh[2*plane+cell], wh[3*plane+cell])
	}
	return scores, indices, boxes
}

func sameDets(t *testing.T, what string, got, want []bbox.Detection) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d detections %+v, want %d %+v", what, len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: detection %d = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// On random heat maps DecodeCenterNetTopK gives DecodeCenterNet's
// detections, with and without NMS, clipping and a detection cap.
func TestDecodeCenterNetTopKMatchesFullDecode(t *testing.T) {
	const c, h, w = 4, 16, 24
	rng := rand.New(rand.NewPCG(7, 8))
	heat := make([]float32, c*h*w)
	wh := make([]float32, 4*h*w)
	for i := range heat {
		heat[i] = rng.Float32()
	}
	for i := range wh {
		wh[i] = rng.Float32() * 30
	}
	scores, indices, boxes := deviceTopK(heat, wh, c, h, w, c*h*w)
	for _, cfg := range []CenterNetConfig{
		{Threshold: 0.5},
		{Threshold: 0.8, IoU: 0.5},
		{Threshold: 0.3, IoU: 0.3, TopK: 10},
		{Threshold: 0.6, Stride: 2, ClipW: 40, ClipH: 30},
	} {
		cfg.Classes, cfg.Height, cfg.Width = c, h, w
		want, err := DecodeCenterNet(nil, heat, wh, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeCenterNetTopK(nil, scores, indices, boxes, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 5 {
			t.Fatalf("%+v: only %d detections, the test checks little", cfg, len(want))
		}
		sameDets(t, "random maps", got, want)
	}
}

// Reading stops at the first score under the threshold; zero scores
// (cells that are not peaks) are never detections.
func TestDecodeCenterNetTopKThresholdStop(t *testing.T) {
	cfg := CenterNetConfig{Classes: 2, Height: 4, Width: 4, Stride: 4, Threshold: 0.5}
	scores := []float32{0.9, 0.6, 0.4, 0.7, 0, 0} // 0.7 after 0.4 is not read
	indices := []float32{5, 16 + 10, 3, 1, 0, 2}  // class 0 (5, 3, 1) and 1 (10)
	boxes := make([]float32, 4*len(scores))
	for i := range boxes {
		boxes[i] = 1
	}
	dets, err := DecodeCenterNetTopK(nil, scores, indices, boxes, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []bbox.Detection{
		{ClassID: 0, Score: 0.9, X1: 4 - 1, Y1: 4 - 1, X2: 4 + 1, Y2: 4 + 1}, // index 5: x 1, y 1
		{ClassID: 1, Score: 0.6, X1: 8 - 1, Y1: 8 - 1, X2: 8 + 1, Y2: 8 + 1}, // index 16+10: x 2, y 2
	}
	sameDets(t, "threshold 0.5", dets, want)

	// Threshold 0: zero scores still end the list.
	cfg.Threshold = 0
	dets, _ = DecodeCenterNetTopK(dets, scores, indices, boxes, cfg)
	if len(dets) != 4 {
		t.Errorf("threshold 0: got %d detections, want 4: %+v", len(dets), dets)
	}

	// NaN scores are skipped, not a stop.
	cfg.Threshold = 0.5
	nan := float32(math.NaN())
	dets, _ = DecodeCenterNetTopK(dets, []float32{nan, 0.9, 0.6}, indices[:3], boxes[:12], cfg)
	if len(dets) != 2 || dets[0].Score != 0.9 {
		t.Errorf("NaN first: %+v", dets)
	}
}

// With more peaks over the threshold than K, the K best come back: the
// full decode at a threshold just over the K-th score.
func TestDecodeCenterNetTopKLimit(t *testing.T) {
	const c, h, w = 3, 32, 32
	var ps []peak
	for i := range 12 {
		ps = append(ps, peak{class: i % c, x: 2 + 5*(i%6), y: 3 + 12*(i/6), score: 0.4 + 0.04*float32(i), l: 3, t: 4, r: 5, b: 6})
	}
	heat, wh := makeMaps(c, h, w, ps)
	const k = 5
	scores, indices, boxes := deviceTopK(heat, wh, c, h, w, k)
	cfg := CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.3, IoU: 0.5}
	got, err := DecodeCenterNetTopK(nil, scores, indices, boxes, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != k {
		t.Fatalf("got %d detections, want K = %d", len(got), k)
	}
	full, _ := DecodeCenterNet(nil, heat, wh, cfg)
	if len(full) != len(ps) {
		t.Fatalf("full decode: %d detections, want %d", len(full), len(ps))
	}
	sameDets(t, "K best", got, full[:k])
	cfg.Threshold = math.Nextafter32(scores[k-1], 2)
	cut, _ := DecodeCenterNet(nil, heat, wh, cfg)
	got, _ = DecodeCenterNetTopK(got, scores, indices, boxes, cfg)
	sameDets(t, "threshold over the K-th score", got, cut)
}

// Class-wise NMS as DecodeCenterNet's (TestDecodeCenterNetNMSAndTopK's maps).
func TestDecodeCenterNetTopKNMS(t *testing.T) {
	const c, h, w = 2, 32, 32
	heat, wh := makeMaps(c, h, w, []peak{
		{class: 0, x: 10, y: 10, score: 0.9, l: 20, t: 20, r: 20, b: 20},
		{class: 0, x: 12, y: 10, score: 0.8, l: 28, t: 20, r: 12, b: 20},
		{class: 1, x: 10, y: 10, score: 0.85, l: 20, t: 20, r: 20, b: 20},
		{class: 0, x: 25, y: 25, score: 0.6, l: 5, t: 5, r: 5, b: 5},
	})
	scores, indices, boxes := deviceTopK(heat, wh, c, h, w, 100)
	for _, cfg := range []CenterNetConfig{
		{Threshold: 0.3, IoU: 0.5},
		{Threshold: 0.3, IoU: 0.5, TopK: 2},
		{Threshold: 0.3},
	} {
		cfg.Classes, cfg.Height, cfg.Width = c, h, w
		want, _ := DecodeCenterNet(nil, heat, wh, cfg)
		got, err := DecodeCenterNetTopK(nil, scores, indices, boxes, cfg)
		if err != nil {
			t.Fatal(err)
		}
		sameDets(t, "NMS", got, want)
	}
	cfg := CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.3, IoU: 0.5}
	got, _ := DecodeCenterNetTopK(nil, scores, indices, boxes, cfg)
	if len(got) != 3 || got[0].Score != 0.9 || got[1].ClassID != 1 || got[2].Score != 0.6 {
		t.Errorf("NMS kept %+v", got)
	}
}

func TestDecodeCenterNetTopKErrors(t *testing.T) {
	cfg := CenterNetConfig{Classes: 2, Height: 2, Width: 5, Threshold: 0.1}
	one := []float32{0.5}
	box := []float32{1, 1, 1, 1}
	if _, err := DecodeCenterNetTopK(nil, one, one, box, CenterNetConfig{}); err == nil {
		t.Error("zero dimensions accepted")
	}
	if _, err := DecodeCenterNetTopK(nil, []float32{0.5, 0.4}, one, make([]float32, 8), cfg); err == nil {
		t.Error("short indices accepted")
	}
	if _, err := DecodeCenterNetTopK(nil, one, one, box[:3], cfg); err == nil {
		t.Error("short boxes accepted")
	}
	for _, bad := range []float32{20, -1, 2.5, float32(math.NaN())} {
		if _, err := DecodeCenterNetTopK(nil, one, []float32{bad}, box, cfg); err == nil {
			t.Errorf("index %v accepted", bad)
		}
	}
	if dets, err := DecodeCenterNetTopK(nil, one, []float32{19}, box, cfg); err != nil || len(dets) != 1 || dets[0].ClassID != 1 {
		t.Errorf("last cell: %+v %v", dets, err)
	}
}

func TestDecodeCenterNetTopKNoAllocs(t *testing.T) {
	const c, h, w = 80, 128, 128
	scores := make([]float32, 100)
	indices := make([]float32, 100)
	boxes := make([]float32, 400)
	for i := range 5 {
		scores[i] = 0.9 - 0.1*float32(i)
		indices[i] = float32(i * 20000)
	}
	cfg := CenterNetConfig{Classes: c, Height: h, Width: w, Threshold: 0.3, IoU: 0.5, TopK: 100}
	dst := make([]bbox.Detection, 0, 16)
	allocs := testing.AllocsPerRun(5, func() {
		var err error
		dst, err = DecodeCenterNetTopK(dst, scores, indices, boxes, cfg)
		if err != nil || len(dst) != 5 {
			t.Fatalf("decode: %v %+v", err, dst)
		}
	})
	if allocs != 0 {
		t.Errorf("DecodeCenterNetTopK with a reused slice allocates %.0f times", allocs)
	}
}
