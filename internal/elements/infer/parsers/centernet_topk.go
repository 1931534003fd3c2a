package parsers

import (
	"fmt"

	"github.com/vidflow/vidflow/bbox"
)

// DecodeCenterNetTopK decodes the outputs of one image of the device-decoded
// CenterNet variant (tfjs2onnx -device-decode; modelconv.DeviceDecode),
// whose graph already keeps the peaks of the heat map and their K best:
//
//	scores:  K peak scores, descending; 0 for a cell that is not a peak
//	indices: K flat heat-map indices class*Height*Width + y*Width + x (float32, exact integers)
//	boxes:   K x 4 distances (left, top, right, bottom) in input pixels at those cells
//
// cfg is DecodeCenterNet's: Classes, Height and Width are the heat map's
// (they turn an index into a class and a cell), Stride, Threshold, IoU,
// TopK, ClipW and ClipH mean the same. The result is what DecodeCenterNet
// returns for the full heat and wh outputs (same classes, scores, boxes,
// NMS and order) as long as at most K peaks reach the threshold: the graph
// drops the others, and when scores[K-1] >= Threshold some may have been
// dropped. A zero score is never a detection (its cell is not a peak), so
// with Threshold <= 0 a peak of heat exactly 0 is the only difference.
//
// Reading stops at the first score under Threshold (scores are sorted);
// NaN scores are skipped. The result is appended to dst[:0]; no other
// memory is allocated.
func DecodeCenterNetTopK(dst []bbox.Detection, scores, indices, boxes []float32, cfg CenterNetConfig) ([]bbox.Detection, error) {
	c, h, w := cfg.Classes, cfg.Height, cfg.Width
	if c <= 0 || h <= 0 || w <= 0 {
		return dst[:0], fmt.Errorf("parsers: invalid CenterNet dimensions %dx%dx%d", c, h, w)
	}
	k := len(scores)
	if len(indices) < k {
		return dst[:0], fmt.Errorf("parsers: indices has %d values, want %d (one per score)", len(indices), k)
	}
	if len(boxes) < 4*k {
		return dst[:0], fmt.Errorf("parsers: boxes has %d values, want %d (%dx4)", len(boxes), 4*k, k)
	}
	stride := cfg.Stride
	if stride == 0 {
		stride = 4
	}
	plane := h * w
	dst = dst[:0]
	for j, v := range scores {
		if v != v { // NaN
			continue
		}
		if v < cfg.Threshold || v <= 0 {
			break
		}
		f := indices[j]
		i := int(f)
		if float32(i) != f || i < 0 || i >= c*plane {
			return dst[:0], fmt.Errorf("parsers: index %v at %d is not a cell of the %dx%dx%d heat map", f, j, c, h, w)
		}
		cell := i % plane
		b := boxes[4*j : 4*j+4]
		dst = append(dst, centerBox(&cfg, i/plane, v, cell%w, cell/w, stride, b[0], b[1], b[2], b[3]))
	}
	return centerNetEnd(dst, &cfg), nil
}
