package parsers

import (
	"math"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
)

type yoloBox struct {
	cx, cy, w, h float32
	obj          float32 // v5 only
	class        int
	score        float32
}

// yoloOutput writes boxes into a tensor of the given layout; every other
// box slot is background (scores 0.01).
func yoloOutput(layout YOLOLayout, anchors, classes int, boxes map[int]yoloBox) []float32 {
	rec := 4 + classes
	if layout == YOLOv5 {
		rec = 5 + classes
	}
	out := make([]float32, anchors*rec)
	set := func(i, field int, v float32) {
		if layout == YOLOv8 {
			out[field*anchors+i] = v
		} else {
			out[i*rec+field] = v
		}
	}
	first := 4
	if layout == YOLOv5 {
		first = 5
	}
	for i := 0; i < anchors; i++ {
		b, ok := boxes[i]
		if !ok {
			b = yoloBox{cx: 5, cy: 5, w: 2, h: 2, obj: 0.01}
		}
		set(i, 0, b.cx)
		set(i, 1, b.cy)
		set(i, 2, b.w)
		set(i, 3, b.h)
		if layout == YOLOv5 {
			set(i, 4, b.obj)
		}
		for k := 0; k < classes; k++ {
			v := float32(0.01)
			if ok && k == b.class {
				v = b.score
			}
			set(i, first+k, v)
		}
	}
	return out
}

func TestDecodeYOLOLayouts(t *testing.T) {
	const anchors, classes = 50, 3
	boxes := map[int]yoloBox{
		7:  {cx: 100, cy: 80, w: 40, h: 20, obj: 0.9, class: 2, score: 0.8},
		30: {cx: 10, cy: 12, w: 8, h: 6, obj: 1, class: 0, score: 0.5},
		31: {cx: 50, cy: 50, w: 8, h: 6, obj: 0.2, class: 1, score: 0.9}, // v5: 0.18 < threshold
	}
	for _, layout := range []YOLOLayout{YOLOv5, YOLOv8, YOLOv8T} {
		t.Run(layout.String(), func(t *testing.T) {
			out := yoloOutput(layout, anchors, classes, boxes)
			dets, err := DecodeYOLO(nil, out, YOLOConfig{Layout: layout, Anchors: anchors, Classes: classes, Threshold: 0.3})
			if err != nil {
				t.Fatal(err)
			}
			SortByScore(dets)
			want := []bbox.Detection{
				{ClassID: 2, Score: 0.72, X1: 80, Y1: 70, X2: 120, Y2: 90},
				{ClassID: 0, Score: 0.5, X1: 6, Y1: 9, X2: 14, Y2: 15},
			}
			if layout != YOLOv5 {
				want = []bbox.Detection{
					{ClassID: 1, Score: 0.9, X1: 46, Y1: 47, X2: 54, Y2: 53},
					{ClassID: 2, Score: 0.8, X1: 80, Y1: 70, X2: 120, Y2: 90},
					{ClassID: 0, Score: 0.5, X1: 6, Y1: 9, X2: 14, Y2: 15},
				}
			}
			if len(dets) != len(want) {
				t.Fatalf("got %+v, want %+v", dets, want)
			}
			for i := range want {
				g, e := dets[i], want[i]
				if g.ClassID != e.ClassID || math.Abs(float64(g.Score-e.Score)) > 1e-5 || g.X1 != e.X1 || g.Y1 != e.Y1 || g.X2 != e.X2 || g.Y2 != e.Y2 {
					t.Errorf("det %d = %+v, want %+v", i, g, e)
				}
			}
		})
	}
}

func TestDecodeYOLONoAllocation(t *testing.T) {
	out := yoloOutput(YOLOv8, 100, 4, map[int]yoloBox{3: {cx: 5, cy: 5, w: 2, h: 2, class: 1, score: 0.9}})
	dst := make([]bbox.Detection, 0, 16)
	allocs := testing.AllocsPerRun(20, func() {
		dst, _ = DecodeYOLO(dst, out, YOLOConfig{Layout: YOLOv8, Anchors: 100, Classes: 4, Threshold: 0.5})
	})
	if allocs != 0 || len(dst) != 1 {
		t.Errorf("%v allocations, %d detections", allocs, len(dst))
	}
}

func TestDecodeYOLOBadInput(t *testing.T) {
	if _, err := DecodeYOLO(nil, make([]float32, 10), YOLOConfig{Layout: YOLOv5, Anchors: 5, Classes: 3}); err == nil || !strings.Contains(err.Error(), "want 40") {
		t.Errorf("short output: %v", err)
	}
	if _, err := DecodeYOLO(nil, nil, YOLOConfig{Anchors: 0, Classes: 3}); err == nil {
		t.Error("zero anchors accepted")
	}
	// NaN scores are skipped, not reported.
	out := yoloOutput(YOLOv8T, 4, 2, nil)
	out[4] = float32(math.NaN())
	dets, err := DecodeYOLO(nil, out, YOLOConfig{Layout: YOLOv8T, Anchors: 4, Classes: 2, Threshold: 0.5})
	if err != nil || len(dets) != 0 {
		t.Errorf("NaN: %v %v", dets, err)
	}
}

func TestGuessYOLOLayout(t *testing.T) {
	cases := []struct {
		d0, d1, classes int
		layout          YOLOLayout
		anchors, c      int
	}{
		{84, 8400, 0, YOLOv8, 8400, 80},
		{84, 8400, 80, YOLOv8, 8400, 80},
		{25200, 85, 0, YOLOv5, 25200, 80},
		{25200, 85, 80, YOLOv5, 25200, 80},
		{8400, 84, 80, YOLOv8T, 8400, 80},
		{8400, 84, 0, YOLOv5, 8400, 79}, // ambiguous without a class count
	}
	for _, c := range cases {
		l, a, k, err := GuessYOLOLayout(c.d0, c.d1, c.classes)
		if err != nil || l != c.layout || a != c.anchors || k != c.c {
			t.Errorf("Guess(%d,%d,%d) = %v %d %d %v", c.d0, c.d1, c.classes, l, a, k, err)
		}
	}
	for _, bad := range [][3]int{{0, 5, 0}, {3, 100, 0}, {100, 5, 0}, {84, 8400, 3}} {
		if _, _, _, err := GuessYOLOLayout(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Guess(%v) accepted", bad)
		}
	}
}
