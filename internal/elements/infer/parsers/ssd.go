package parsers

import (
	"fmt"
	"math"

	"github.com/vidflow/vidflow/bbox"
)

// BoxOrder is the order of the four coordinates of an SSD box.
type BoxOrder int

const (
	// BoxYXYX is y1, x1, y2, x2: the TensorFlow Object bbox.Detection API's
	// detection_boxes (DeepStream's NvDsInferParseCustomTfSSD).
	BoxYXYX BoxOrder = iota
	// BoxXYXY is x1, y1, x2, y2 (DeepStream's NvDsInferParseCustomSSD,
	// most PyTorch exports).
	BoxXYXY
)

func (o BoxOrder) String() string {
	switch o {
	case BoxYXYX:
		return "y1,x1,y2,x2"
	case BoxXYXY:
		return "x1,y1,x2,y2"
	}
	return fmt.Sprintf("BoxOrder(%d)", int(o))
}

// MaxClassID bounds the class ids decoders accept when the class count is
// not known: a garbage class value must not make callers size per-class
// tables by it.
const MaxClassID = 1 << 16

// SSDConfig configures DecodeSSD.
type SSDConfig struct {
	// Boxes is K, the number of box records of the image.
	Boxes int
	// ScoreClasses is C when the scores are [K, C] (the class of a box is
	// its best column); 0 when they are [K] and the class ids come from
	// the classes layer.
	ScoreClasses int
	// Count is the number of valid records (num_detections); < 0 or > K
	// means K.
	Count int
	// Order is the order of the box coordinates, normalised to 0..1.
	Order BoxOrder
	// Width and Height are the network input's size: normalised
	// coordinates are multiplied by them.
	Width, Height float32
	// Threshold is the minimum score of a box.
	Threshold float32
	// Classes, when > 0, drops class ids >= Classes (DeepStream's
	// num-detected-classes); otherwise ids >= MaxClassID are dropped.
	Classes int
}

// DecodeSSD decodes the post-processed outputs of one image of an SSD-style
// detector (boxes, scores, classes after the model's own NMS, as the
// TensorFlow Object bbox.Detection API exports them):
//
//	boxes:   K x 4 normalised corners in cfg.Order
//	scores:  K (with classes) or K x C (class = best column)
//	classes: K class ids as floats (ignored when scores are K x C; may be nil then)
//
// As DeepStream's NvDsInferParseCustomTfSSD, the first cfg.Count records
// are read, a record whose score is below the threshold or whose class is
// negative or out of range is skipped, corners are scaled to network
// pixels, clipped to [0, Width-1] x [0, Height-1], and empty boxes are
// dropped. Class ids are used as the model gives them (the TF API's are
// 1-based: 0 is the background, as in DeepStream's labels files). The
// result is appended to dst[:0] with no other allocation.
func DecodeSSD(dst []bbox.Detection, boxes, scores, classes []float32, cfg SSDConfig) ([]bbox.Detection, error) {
	k := cfg.Boxes
	if k < 0 || cfg.ScoreClasses < 0 {
		return dst[:0], fmt.Errorf("parsers: invalid SSD dimensions: %d boxes, %d score columns", k, cfg.ScoreClasses)
	}
	if len(boxes) < 4*k {
		return dst[:0], fmt.Errorf("parsers: SSD boxes have %d values, want %d (%d boxes x 4)", len(boxes), 4*k, k)
	}
	cols := max(cfg.ScoreClasses, 1)
	if len(scores) < k*cols {
		return dst[:0], fmt.Errorf("parsers: SSD scores have %d values, want %d (%d boxes x %d)", len(scores), k*cols, k, cols)
	}
	if cfg.ScoreClasses == 0 && len(classes) < k {
		return dst[:0], fmt.Errorf("parsers: SSD classes have %d values, want %d", len(classes), k)
	}
	n := k
	if cfg.Count >= 0 && cfg.Count < k {
		n = cfg.Count
	}
	maxClass := MaxClassID
	if cfg.Classes > 0 {
		maxClass = cfg.Classes
	}
	w, h := cfg.Width, cfg.Height
	dst = dst[:0]
	for i := 0; i < n; i++ {
		var class int
		var score float32
		if cfg.ScoreClasses > 0 {
			class, score = argmax(scores[i*cols : (i+1)*cols])
		} else {
			score = scores[i]
			c := classes[i]
			if !(c >= 0 && c < float32(maxClass)) { // also NaN
				continue
			}
			class = int(c)
		}
		if !(score >= cfg.Threshold) || class >= maxClass {
			continue
		}
		b := boxes[4*i : 4*i+4]
		x1, y1, x2, y2 := b[0], b[1], b[2], b[3]
		if cfg.Order == BoxYXYX {
			x1, y1, x2, y2 = b[1], b[0], b[3], b[2]
		}
		x1, x2 = clipTo(x1*w, w-1), clipTo(x2*w, w-1)
		y1, y2 = clipTo(y1*h, h-1), clipTo(y2*h, h-1)
		if !(x2 > x1 && y2 > y1) {
			continue
		}
		dst = append(dst, bbox.Detection{ClassID: class, Score: score, X1: x1, Y1: y1, X2: x2, Y2: y2})
	}
	return dst, nil
}

// DecodeDetectionOut decodes a Caffe/TensorRT SSD "DetectionOutput" (NMS
// plugin) layer of one image: K records of 7 values, image id, class id,
// score, then x1, y1, x2, y2 normalised. As DeepStream's
// NvDsInferParseCustomSSD, the first count records are read (count < 0:
// all, stopping early at a record whose image id is -1), and boxes are
// scaled, clipped and filtered as DecodeSSD does.
func DecodeDetectionOut(dst []bbox.Detection, out []float32, count int, cfg SSDConfig) ([]bbox.Detection, error) {
	k := cfg.Boxes
	if k < 0 || len(out) < 7*k {
		return dst[:0], fmt.Errorf("parsers: SSD detection output has %d values, want %d (%d records x 7)", len(out), 7*k, k)
	}
	n := k
	if count >= 0 && count < k {
		n = count
	}
	maxClass := MaxClassID
	if cfg.Classes > 0 {
		maxClass = cfg.Classes
	}
	w, h := cfg.Width, cfg.Height
	dst = dst[:0]
	for i := 0; i < n; i++ {
		r := out[7*i : 7*i+7]
		if count < 0 && r[0] == -1 {
			break
		}
		c, score := r[1], r[2]
		if !(c >= 0 && c < float32(maxClass)) || !(score >= cfg.Threshold) {
			continue
		}
		x1, x2 := clipTo(r[3]*w, w-1), clipTo(r[5]*w, w-1)
		y1, y2 := clipTo(r[4]*h, h-1), clipTo(r[6]*h, h-1)
		if !(x2 > x1 && y2 > y1) {
			continue
		}
		dst = append(dst, bbox.Detection{ClassID: int(c), Score: score, X1: x1, Y1: y1, X2: x2, Y2: y2})
	}
	return dst, nil
}

// clipTo clamps v to [0, hi]; NaN becomes 0.
func clipTo(v, hi float32) float32 {
	if !(v > 0) {
		return 0
	}
	return min(v, max(hi, 0))
}

// CountOf reads a num_detections value: its integer part, 0 when it is
// negative or not a number, capped at limit.
func CountOf(v float32, limit int) int {
	if !(v > 0) {
		return 0
	}
	if float64(v) >= float64(limit) || math.IsInf(float64(v), 1) {
		return limit
	}
	return int(v)
}
