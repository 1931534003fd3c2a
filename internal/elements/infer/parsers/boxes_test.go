package parsers

import (
	"math"
	"testing"

	"github.com/vidflow/vidflow/bbox"
)

func nearly(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-3 }

func TestDecodeBoxRows(t *testing.T) {
	rows := []float32{
		10, 20, 110, 220, 0.9, 2, // kept
		-5, -5, 700, 700, 0.8, 0, // clipped to 640x640
		0, 0, 100, 100, 0.1, 1, // below threshold
		5, 5, 5.5, 50, 0.9, 1, // under a pixel wide
	}
	got, err := DecodeBoxRows(nil, rows, 640, 640, 0.25)
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	if w := (bbox.Detection{ClassID: 2, Score: 0.9, X1: 10, Y1: 20, X2: 110, Y2: 220}); got[0] != w {
		t.Errorf("row 0: %+v, want %+v", got[0], w)
	}
	if g := got[1]; g.X1 != 0 || g.Y1 != 0 || g.X2 != 640 || g.Y2 != 640 || g.ClassID != 0 {
		t.Errorf("row 1 not clipped: %+v", g)
	}
	if _, err := DecodeBoxRows(nil, rows[:7], 640, 640, 0.25); err == nil {
		t.Error("7 values accepted as rows of 6")
	}
}

func TestDecodeNMSed(t *testing.T) {
	boxes := []float32{0.1, 0.2, 0.5, 0.6, 0, 0, 1, 1, 0.2, 0.2, 0.3, 0.3}
	scores := []float32{0.9, 0.3, 0.95}
	classes := []float32{3, 1, 2}
	got, err := DecodeNMSed(nil, boxes, scores, classes, 2, 416, 416, 80, 0.4) // only 2 valid rows
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if g := got[0]; g.ClassID != 3 || !nearly(g.X1, 41.6) || !nearly(g.Y1, 83.2) || !nearly(g.X2, 208) || !nearly(g.Y2, 249.6) {
		t.Errorf("%+v", g)
	}
	if got, _ = DecodeNMSed(nil, boxes, scores, classes, -1, 416, 416, 80, 0.4); len(got) != 2 {
		t.Errorf("without a count: %d boxes, want 2", len(got))
	}
	if _, err := DecodeNMSed(nil, boxes[:8], scores, classes, -1, 416, 416, 80, 0.4); err == nil {
		t.Error("mismatched layers accepted")
	}
}

func TestDecodeDDETR(t *testing.T) {
	// 3 queries, 3 classes (0 is the background TAO's parser drops).
	boxes := []float32{0.5, 0.5, 0.2, 0.4, 0.25, 0.25, 0.1, 0.1, 0.9, 0.9, 0.1, 0.1}
	logits := []float32{-3, 2, 0, 5, -1, -1, -2, -2, -0.5}
	// Query 0: class 1, sigmoid(2) = 0.88; query 1: the background;
	// query 2: sigmoid(-0.5) = 0.38, below 0.4.
	got, err := DecodeDDETR(nil, boxes, logits, 3, 3, 960, 544, 0.4)
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	g := got[0]
	if g.ClassID != 1 || !nearly(g.Score, 0.8808) || !nearly(g.X1, 384) || !nearly(g.Y1, 163.2) || !nearly(g.X2, 576) || !nearly(g.Y2, 380.8) {
		t.Errorf("%+v", g)
	}
}
