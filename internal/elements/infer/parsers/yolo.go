package parsers

import (
	"fmt"

	"github.com/vidflow/vidflow/bbox"
)

// YOLOLayout is how a YOLO model lays out the output of one image.
type YOLOLayout int

// YOLO output layouts. A is the number of candidate boxes (anchors), C
// the number of classes; boxes are centre x, centre y, width, height in
// input pixels.
const (
	// YOLOv5 (also v7 and most "objectness" exports): [A, 5+C] rows of
	// cx, cy, w, h, objectness, C class probabilities; score =
	// objectness × best class probability.
	YOLOv5 YOLOLayout = iota
	// YOLOv8 / YOLO11 as exported: [4+C, A], one column per box: cx, cy,
	// w, h, C class scores (no objectness).
	YOLOv8
	// YOLOv8T is YOLOv8 transposed by the exporter: [A, 4+C] rows.
	YOLOv8T
)

func (l YOLOLayout) String() string {
	switch l {
	case YOLOv5:
		return "yolov5 [A,5+C]"
	case YOLOv8:
		return "yolov8 [4+C,A]"
	case YOLOv8T:
		return "yolov8 [A,4+C]"
	}
	return fmt.Sprintf("YOLOLayout(%d)", int(l))
}

// YOLOConfig configures DecodeYOLO.
type YOLOConfig struct {
	Layout  YOLOLayout
	Anchors int // A
	Classes int // C
	// Threshold is the minimum score of a box.
	Threshold float32
}

// GuessYOLOLayout tells the layout of a YOLO output of one image from its
// two dimensions [d0, d1] and, when known (> 0), the number of classes.
// Without the class count the smaller dimension is taken as the box
// record: v8's [4+C, A] when it comes first, v5's [A, 5+C] otherwise.
func GuessYOLOLayout(d0, d1, classes int) (YOLOLayout, int, int, error) {
	if d0 <= 0 || d1 <= 0 {
		return 0, 0, 0, fmt.Errorf("parsers: YOLO output [%d,%d] is empty", d0, d1)
	}
	if classes > 0 {
		switch {
		case d0 == 4+classes && d1 != 4+classes:
			return YOLOv8, d1, classes, nil
		case d1 == 5+classes:
			return YOLOv5, d0, classes, nil
		case d1 == 4+classes:
			return YOLOv8T, d0, classes, nil
		case d0 == 4+classes:
			return YOLOv8, d1, classes, nil
		}
		return 0, 0, 0, fmt.Errorf("parsers: YOLO output [%d,%d] fits neither [4+%d,A], [A,5+%d] nor [A,4+%d]", d0, d1, classes, classes, classes)
	}
	if d0 < d1 {
		if d0 < 5 {
			return 0, 0, 0, fmt.Errorf("parsers: YOLO output [%d,%d] has no class scores", d0, d1)
		}
		return YOLOv8, d1, d0 - 4, nil
	}
	if d1 < 6 {
		return 0, 0, 0, fmt.Errorf("parsers: YOLO output [%d,%d] has no class scores", d0, d1)
	}
	return YOLOv5, d0, d1 - 5, nil
}

// DecodeYOLO decodes the raw output of one image of a YOLO model into
// boxes in input pixels (corners), keeping those whose score reaches
// cfg.Threshold. It does no NMS (the caller clusters) and appends to
// dst[:0] without other allocation.
func DecodeYOLO(dst []bbox.Detection, out []float32, cfg YOLOConfig) ([]bbox.Detection, error) {
	a, c := cfg.Anchors, cfg.Classes
	if a <= 0 || c <= 0 {
		return dst[:0], fmt.Errorf("parsers: invalid YOLO dimensions: %d boxes, %d classes", a, c)
	}
	rec := 4 + c
	if cfg.Layout == YOLOv5 {
		rec = 5 + c
	}
	if len(out) < a*rec {
		return dst[:0], fmt.Errorf("parsers: YOLO output has %d values, want %d (%v, %d boxes, %d classes)", len(out), a*rec, cfg.Layout, a, c)
	}
	dst = dst[:0]
	switch cfg.Layout {
	case YOLOv5, YOLOv8T:
		first := 4 // first class score
		if cfg.Layout == YOLOv5 {
			first = 5
		}
		for i := 0; i < a; i++ {
			r := out[i*rec : (i+1)*rec]
			obj := float32(1)
			if cfg.Layout == YOLOv5 {
				obj = r[4]
				if !(obj >= cfg.Threshold) { // also skips NaN
					continue
				}
			}
			best, score := argmax(r[first:])
			score *= obj
			if !(score >= cfg.Threshold) {
				continue
			}
			dst = append(dst, centreBox(best, score, r[0], r[1], r[2], r[3]))
		}
	case YOLOv8:
		for i := 0; i < a; i++ {
			best, score := -1, float32(0)
			for k := 0; k < c; k++ {
				if v := out[(4+k)*a+i]; best < 0 || v > score {
					best, score = k, v
				}
			}
			if !(score >= cfg.Threshold) {
				continue
			}
			dst = append(dst, centreBox(best, score, out[i], out[a+i], out[2*a+i], out[3*a+i]))
		}
	default:
		return dst, fmt.Errorf("parsers: unknown YOLO layout %v", cfg.Layout)
	}
	return dst, nil
}

func argmax(v []float32) (int, float32) {
	best, score := 0, v[0]
	for k, s := range v[1:] {
		if s > score {
			best, score = k+1, s
		}
	}
	return best, score
}

func centreBox(class int, score, cx, cy, w, h float32) bbox.Detection {
	return bbox.Detection{ClassID: class, Score: score, X1: cx - w/2, Y1: cy - h/2, X2: cx + w/2, Y2: cy + h/2}
}
