package parsers

import (
	"math"
	"testing"

	"github.com/vidflow/vidflow/bbox"
)

func box(class int, score, x1, y1, x2, y2 float32) bbox.Detection {
	return bbox.Detection{ClassID: class, Score: score, X1: x1, Y1: y1, X2: x2, Y2: y2}
}

func TestIoU(t *testing.T) {
	cases := []struct {
		a, b bbox.Detection
		want float32
	}{
		{box(0, 1, 0, 0, 10, 10), box(0, 1, 0, 0, 10, 10), 1},
		{box(0, 1, 0, 0, 10, 10), box(0, 1, 5, 0, 15, 10), 50.0 / 150},
		{box(0, 1, 0, 0, 10, 10), box(0, 1, 10, 0, 20, 10), 0}, // touching
		{box(0, 1, 0, 0, 10, 10), box(0, 1, 20, 20, 30, 30), 0},
		{box(0, 1, 0, 0, 10, 10), box(0, 1, 2, 2, 4, 4), 4.0 / 100},
		{box(0, 1, 0, 0, 0, 0), box(0, 1, 0, 0, 0, 0), 0}, // degenerate
	}
	for i, c := range cases {
		if got := IoU(c.a, c.b); math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("case %d: IoU = %v, want %v", i, got, c.want)
		}
		if got := IoU(c.b, c.a); math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("case %d (swapped): IoU = %v, want %v", i, got, c.want)
		}
	}
}

func TestNMSClassWise(t *testing.T) {
	dets := []bbox.Detection{
		box(0, 0.6, 1, 1, 11, 11),     // overlaps the 0.9 box of class 0: dropped
		box(1, 0.8, 0, 0, 10, 10),     // other class: kept
		box(0, 0.9, 0, 0, 10, 10),     // best
		box(0, 0.7, 20, 20, 30, 30),   // separate: kept
		box(0, 0.5, 5, 0, 15, 10),     // IoU 1/3 with best: kept at 0.5
		box(1, 0.4, 0.5, 0, 10.5, 10), // overlaps class-1 box: dropped
	}
	got := NMS(dets, 0.5, 0)
	want := []float32{0.9, 0.8, 0.7, 0.5}
	if len(got) != len(want) {
		t.Fatalf("kept %d: %+v", len(got), got)
	}
	for i, s := range want {
		if got[i].Score != s {
			t.Errorf("kept[%d].Score = %v, want %v", i, got[i].Score, s)
		}
	}
	if &got[0] != &dets[0] {
		t.Error("NMS did not work in place")
	}
}

func TestNMSMaxOutAndAgnostic(t *testing.T) {
	mk := func() []bbox.Detection {
		return []bbox.Detection{
			box(0, 0.9, 0, 0, 10, 10),
			box(1, 0.8, 0, 0, 10, 10),
			box(2, 0.7, 50, 50, 60, 60),
			box(3, 0.6, 80, 80, 90, 90),
		}
	}
	if got := NMS(mk(), 0.5, 2); len(got) != 2 || got[1].ClassID != 1 {
		t.Errorf("maxOut 2: %+v", got)
	}
	got := NMSAgnostic(mk(), 0.5, 0)
	if len(got) != 3 || got[0].ClassID != 0 || got[1].ClassID != 2 || got[2].ClassID != 3 {
		t.Errorf("agnostic: %+v", got)
	}
	if got := NMS(nil, 0.5, 0); len(got) != 0 {
		t.Errorf("nil input: %+v", got)
	}
}

func TestNMSNoAllocs(t *testing.T) {
	src := []bbox.Detection{
		box(0, 0.6, 1, 1, 11, 11), box(1, 0.8, 0, 0, 10, 10), box(0, 0.9, 0, 0, 10, 10),
		box(0, 0.7, 20, 20, 30, 30), box(2, 0.3, 3, 3, 9, 9),
	}
	work := make([]bbox.Detection, len(src))
	allocs := testing.AllocsPerRun(10, func() {
		copy(work, src)
		_ = NMS(work, 0.5, 0)
	})
	if allocs != 0 {
		t.Errorf("NMS allocates %.0f times", allocs)
	}
}

func TestScaleDetections(t *testing.T) {
	d := []bbox.Detection{box(0, 1, 10, 20, 30, 40)}
	ScaleDetections(d, 2, 0.5)
	if d[0].X1 != 20 || d[0].X2 != 60 || d[0].Y1 != 10 || d[0].Y2 != 20 {
		t.Errorf("scaled = %+v", d[0])
	}
}
