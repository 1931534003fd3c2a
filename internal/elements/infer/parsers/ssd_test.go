package parsers

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
)

var nan = float32(math.NaN())

// ssdTensors is a crafted TF Object bbox.Detection API output of one image:
// five records, boxes y1,x1,y2,x2.
func ssdTensors() (boxes, scores, classes []float32) {
	boxes = []float32{
		0.1, 0.2, 0.5, 0.6, // 0: a box
		0.1, 0.1, 0.2, 0.2, // 1: score under the threshold
		0.3, 0.3, 0.4, 0.4, // 2: class NaN
		-0.1, 0.5, 1.2, 1.0, // 3: overflows the image: clipped
		0.0, 0.0, 0.5, 0.5, // 4: beyond num_detections
	}
	scores = []float32{0.9, 0.1, 0.9, 0.8, 0.95}
	classes = []float32{1, 2, nan, 3, 1}
	return
}

func checkDets(t *testing.T, got, want []bbox.Detection) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d detections %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ClassID != w.ClassID || !closeTo(g.Score, w.Score) || !closeTo(g.X1, w.X1) || !closeTo(g.Y1, w.Y1) || !closeTo(g.X2, w.X2) || !closeTo(g.Y2, w.Y2) {
			t.Errorf("detection %d = %+v, want %+v", i, g, w)
		}
	}
}

// closeTo compares box values: pixels are products of normalised values.
func closeTo(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-3 }

func TestDecodeSSDTensorFlowLayout(t *testing.T) {
	boxes, scores, classes := ssdTensors()
	cfg := SSDConfig{Boxes: 5, Count: 4, Order: BoxYXYX, Width: 300, Height: 200, Threshold: 0.3}
	dets, err := DecodeSSD(nil, boxes, scores, classes, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkDets(t, dets, []bbox.Detection{
		{ClassID: 1, Score: 0.9, X1: 60, Y1: 20, X2: 180, Y2: 100},
		{ClassID: 3, Score: 0.8, X1: 150, Y1: 0, X2: 299, Y2: 199},
	})

	// No count: every record; record 4 comes too.
	cfg.Count = -1
	dets, _ = DecodeSSD(dets, boxes, scores, classes, cfg)
	if len(dets) != 3 || dets[2].ClassID != 1 || !closeTo(dets[2].X2, 150) || !closeTo(dets[2].Y2, 100) {
		t.Errorf("without a count: %+v", dets)
	}
	// num-detected-classes 3 drops class 3.
	cfg.Classes = 3
	dets, _ = DecodeSSD(dets, boxes, scores, classes, cfg)
	if len(dets) != 2 || dets[0].ClassID != 1 || dets[1].ClassID != 1 {
		t.Errorf("classes < 3: %+v", dets)
	}
}

func TestDecodeSSDCornerOrder(t *testing.T) {
	boxes, scores, classes := ssdTensors()
	// The same numbers read x1,y1,x2,y2.
	dets, err := DecodeSSD(nil, boxes, scores, classes, SSDConfig{Boxes: 5, Count: 1, Order: BoxXYXY, Width: 300, Height: 200, Threshold: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	checkDets(t, dets, []bbox.Detection{{ClassID: 1, Score: 0.9, X1: 30, Y1: 40, X2: 150, Y2: 120}})
	// Inverted corners make an empty box: dropped.
	boxes[3*4], boxes[3*4+2] = 0.9, 0.2
	dets, _ = DecodeSSD(dets, boxes, scores, classes, SSDConfig{Boxes: 5, Count: 4, Order: BoxXYXY, Width: 300, Height: 200, Threshold: 0.3})
	if len(dets) != 1 {
		t.Errorf("inverted box kept: %+v", dets)
	}
}

func TestDecodeSSDMultiClassScores(t *testing.T) {
	// Scores [K, C]: the class is the best column.
	boxes := []float32{0.1, 0.1, 0.3, 0.3, 0.5, 0.5, 0.9, 0.9, 0.2, 0.2, 0.4, 0.4}
	scores := []float32{
		0.1, 0.7, 0.2,
		0.05, 0.1, 0.2, // best 0.2 < 0.25
		0.6, nan, 0.1,
	}
	dets, err := DecodeSSD(nil, boxes, scores, nil, SSDConfig{Boxes: 3, ScoreClasses: 3, Count: -1, Width: 100, Height: 100, Threshold: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	checkDets(t, dets, []bbox.Detection{
		{ClassID: 1, Score: 0.7, X1: 10, Y1: 10, X2: 30, Y2: 30},
		{ClassID: 0, Score: 0.6, X1: 20, Y1: 20, X2: 40, Y2: 40},
	})
}

func TestDecodeSSDBadInput(t *testing.T) {
	boxes, scores, classes := ssdTensors()
	cfg := SSDConfig{Boxes: 5, Count: -1, Width: 300, Height: 200}
	for _, c := range []struct {
		boxes, scores, classes []float32
		cfg                    SSDConfig
		want                   string
	}{
		{boxes[:19], scores, classes, cfg, "boxes have 19 values, want 20"},
		{boxes, scores[:4], classes, cfg, "scores have 4 values, want 5"},
		{boxes, scores, nil, cfg, "classes have 0 values, want 5"},
		{boxes, scores, classes, SSDConfig{Boxes: 5, ScoreClasses: 2}, "scores have 5 values, want 10"},
		{boxes, scores, classes, SSDConfig{Boxes: -1}, "invalid"},
	} {
		if _, err := DecodeSSD(nil, c.boxes, c.scores, c.classes, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	// Huge, negative and infinite class ids are dropped, not used.
	dets, err := DecodeSSD(nil, boxes, scores, []float32{1e30, -1, float32(math.Inf(1)), 5e5, 7}, SSDConfig{Boxes: 5, Count: -1, Width: 300, Height: 200})
	if err != nil || len(dets) != 1 || dets[0].ClassID != 7 {
		t.Errorf("odd classes: %+v %v", dets, err)
	}
	// Zero boxes is fine.
	if dets, err := DecodeSSD(nil, nil, nil, nil, SSDConfig{}); err != nil || len(dets) != 0 {
		t.Errorf("empty: %v %v", dets, err)
	}
}

func TestCountOf(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want int
	}{{3, 3}, {3.9, 3}, {0, 0}, {-2, 0}, {nan, 0}, {100, 10}, {float32(math.Inf(1)), 10}, {1e20, 10}} {
		if got := CountOf(c.v, 10); got != c.want {
			t.Errorf("CountOf(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}

// tfSSDReference is DeepStream's NvDsInferParseCustomTfSSD loop, written
// plainly: the decoder must give the same boxes.
func tfSSDReference(boxes, scores, classes []float32, num float32, k, classesConfigured int, threshold, w, h float32) []bbox.Detection {
	n := int(num)
	if n > k {
		n = k
	}
	n = max(0, n)
	clip := func(v, lo, hi float32) float32 { return min(max(v, lo), hi) }
	var out []bbox.Detection
	for i := 0; i < n; i++ {
		score := scores[i]
		class := int(classes[i])
		if class >= classesConfigured || score < threshold {
			continue
		}
		x1 := clip(boxes[i*4+1]*w, 0, w-1)
		y1 := clip(boxes[i*4+0]*h, 0, h-1)
		x2 := clip(boxes[i*4+3]*w, 0, w-1)
		y2 := clip(boxes[i*4+2]*h, 0, h-1)
		if x2 <= x1 || y2 <= y1 {
			continue
		}
		out = append(out, bbox.Detection{ClassID: class, Score: score, X1: x1, Y1: y1, X2: x2, Y2: y2})
	}
	return out
}

func TestDecodeSSDMatchesDeepStream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const k, classes = 100, 91
	for trial := 0; trial < 50; trial++ {
		boxes := make([]float32, 4*k)
		scores := make([]float32, k)
		cls := make([]float32, k)
		for i := 0; i < k; i++ {
			y1, x1 := r.Float32()*1.2-0.1, r.Float32()*1.2-0.1
			boxes[4*i], boxes[4*i+1] = y1, x1
			boxes[4*i+2], boxes[4*i+3] = y1+r.Float32()*0.5-0.05, x1+r.Float32()*0.5-0.05
			scores[i] = r.Float32()
			cls[i] = float32(r.IntN(classes + 5))
		}
		num := float32(r.IntN(k + 20))
		want := tfSSDReference(boxes, scores, cls, num, k, classes, 0.3, 300, 300)
		got, err := DecodeSSD(nil, boxes, scores, cls, SSDConfig{Boxes: k, Count: CountOf(num, k), Width: 300, Height: 300, Threshold: 0.3, Classes: classes})
		if err != nil {
			t.Fatal(err)
		}
		checkDets(t, got, want)
	}
}

func TestDecodeDetectionOut(t *testing.T) {
	out := []float32{
		0, 1, 0.9, 0.1, 0.2, 0.5, 0.6,
		0, 2, 0.1, 0.1, 0.1, 0.2, 0.2, // low score
		0, 15, 0.7, -0.5, 0.5, 0.5, 1.5, // clipped
		-1, 0, 0, 0, 0, 0, 0, // end of the detections
		0, 1, 0.9, 0.1, 0.1, 0.2, 0.2,
	}
	cfg := SSDConfig{Boxes: 5, Width: 100, Height: 50, Threshold: 0.3}
	dets, err := DecodeDetectionOut(nil, out, -1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkDets(t, dets, []bbox.Detection{
		{ClassID: 1, Score: 0.9, X1: 10, Y1: 10, X2: 50, Y2: 30},
		{ClassID: 15, Score: 0.7, X1: 0, Y1: 25, X2: 50, Y2: 49},
	})
	// A count reads that many records, whatever their image id.
	dets, _ = DecodeDetectionOut(dets, out, 5, cfg)
	if len(dets) != 3 {
		t.Errorf("count 5: %+v", dets)
	}
	cfg.Classes = 10
	dets, _ = DecodeDetectionOut(dets, out, 1, cfg)
	if len(dets) != 1 || dets[0].ClassID != 1 {
		t.Errorf("count 1: %+v", dets)
	}
	if _, err := DecodeDetectionOut(nil, out[:30], -1, cfg); err == nil {
		t.Error("short output accepted")
	}
}

func TestDecodeSSDNoAllocation(t *testing.T) {
	boxes, scores, classes := ssdTensors()
	dst := make([]bbox.Detection, 0, 8)
	allocs := testing.AllocsPerRun(20, func() {
		dst, _ = DecodeSSD(dst, boxes, scores, classes, SSDConfig{Boxes: 5, Count: -1, Width: 300, Height: 200, Threshold: 0.3})
	})
	if allocs != 0 || len(dst) != 3 {
		t.Errorf("%v allocations, %d detections", allocs, len(dst))
	}
}

func BenchmarkDecodeSSD(b *testing.B) {
	const k = 100
	r := rand.New(rand.NewPCG(3, 4))
	boxes, scores, classes := make([]float32, 4*k), make([]float32, k), make([]float32, k)
	for i := range scores {
		boxes[4*i], boxes[4*i+1], boxes[4*i+2], boxes[4*i+3] = 0.1, 0.1, 0.5, 0.5
		scores[i], classes[i] = r.Float32(), float32(r.IntN(90))
	}
	dst := make([]bbox.Detection, 0, k)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = DecodeSSD(dst, boxes, scores, classes, SSDConfig{Boxes: k, Count: -1, Width: 300, Height: 300, Threshold: 0.3})
	}
}
