package parsers

import (
	"fmt"
	"math"
	"sort"

	"github.com/vidflow/vidflow/bbox"
)

// DecodeBoxRows decodes DeepStream-Yolo's output (its ONNX exports end in
// a layer doing the decoding): rows of x1, y1, x2, y2, score, class in
// network-input pixels, data [A×6]. Boxes are clipped to the input
// (w×h); rows scoring below threshold, or under a pixel wide or high,
// are dropped, as NvDsInferParseYolo does.
func DecodeBoxRows(dst []bbox.Detection, data []float32, w, h int, threshold float32) ([]bbox.Detection, error) {
	dst = dst[:0]
	if len(data)%6 != 0 {
		return dst, fmt.Errorf("output has %d values, not rows of 6 (x1,y1,x2,y2,score,class)", len(data))
	}
	fw, fh := float32(w), float32(h)
	for i := 0; i+6 <= len(data); i += 6 {
		r := data[i : i+6]
		if !(r[4] >= threshold) {
			continue
		}
		d := bbox.Detection{ClassID: int(r[5]), Score: r[4],
			X1: clip(r[0], fw), Y1: clip(r[1], fh), X2: clip(r[2], fw), Y2: clip(r[3], fh)}
		if d.X2-d.X1 < 1 || d.Y2-d.Y1 < 1 || r[5] < 0 {
			continue
		}
		dst = append(dst, d)
	}
	return dst, nil
}

// DecodeNMSed decodes the outputs of a model ending in batched NMS (the
// YOLOv4 exports of NVIDIA's samples, NvDsInferParseCustomYoloV4): boxes
// [K×4] x1, y1, x2, y2 normalised to 0..1, scores [K], classes [K] (as
// floats). n (when ≥ 0) is how many rows are valid; the rest are padding.
func DecodeNMSed(dst []bbox.Detection, boxes, scores, classes []float32, n, w, h, numClasses int, threshold float32) ([]bbox.Detection, error) {
	dst = dst[:0]
	k := len(scores)
	if len(boxes) != 4*k || len(classes) != k {
		return dst, fmt.Errorf("boxes (%d values), scores (%d) and classes (%d) do not match: want [K,4], [K], [K]", len(boxes), k, len(classes))
	}
	if n >= 0 && n < k {
		k = n
	}
	fw, fh := float32(w), float32(h)
	for i := 0; i < k; i++ {
		c := int(classes[i])
		if c < 0 || (numClasses > 0 && c >= numClasses) || !(scores[i] >= threshold) {
			continue
		}
		b := boxes[4*i : 4*i+4]
		d := bbox.Detection{ClassID: c, Score: scores[i],
			X1: clip(b[0]*fw, fw), Y1: clip(b[1]*fh, fh), X2: clip(b[2]*fw, fw), Y2: clip(b[3]*fh, fh)}
		if d.X2-d.X1 < 1 || d.Y2-d.Y1 < 1 {
			continue
		}
		dst = append(dst, d)
	}
	return dst, nil
}

// DDETRTopK is how many detections NvDsInferParseCustomDDETRTAO keeps.
const DDETRTopK = 200

// DecodeDDETR decodes TAO's Deformable DETR / DINO / RT-DETR outputs
// (NvDsInferParseCustomDDETRTAO): pred_boxes [Q×4] centre x, centre y,
// width, height normalised to 0..1, and pred_logits [Q×C]. Each query's
// best class is kept when the sigmoid of its logit reaches threshold;
// the best DDETRTopK are returned, best first, class 0 (the background
// of TAO's exports) left out, as the TAO parser does.
func DecodeDDETR(dst []bbox.Detection, boxes, logits []float32, queries, classes, w, h int, threshold float32) ([]bbox.Detection, error) {
	dst = dst[:0]
	if queries <= 0 || classes <= 0 || len(boxes) != 4*queries || len(logits) != queries*classes {
		return dst, fmt.Errorf("pred_boxes (%d values) and pred_logits (%d) are not [Q,4] and [Q,C] with Q=%d, C=%d", len(boxes), len(logits), queries, classes)
	}
	fw, fh := float32(w), float32(h)
	for q := 0; q < queries; q++ {
		row := logits[q*classes : (q+1)*classes]
		best := 0
		for c, v := range row {
			if v > row[best] {
				best = c
			}
		}
		score := float32(1 / (1 + math.Exp(-float64(row[best]))))
		if !(score >= threshold) {
			continue
		}
		b := boxes[4*q : 4*q+4]
		x1 := (b[0] - b[2]/2) * fw
		y1 := (b[1] - b[3]/2) * fh
		x2, y2 := x1+b[2]*fw, y1+b[3]*fh
		dst = append(dst, bbox.Detection{ClassID: best, Score: score,
			X1: clip(x1, fw-1), Y1: clip(y1, fh-1), X2: clip(x2, fw-1), Y2: clip(y2, fh-1)})
	}
	sort.SliceStable(dst, func(i, j int) bool { return dst[i].Score > dst[j].Score })
	if len(dst) > DDETRTopK {
		dst = dst[:DDETRTopK]
	}
	kept := dst[:0]
	for _, d := range dst {
		if d.ClassID != 0 {
			kept = append(kept, d)
		}
	}
	return kept, nil
}

func clip(v, hi float32) float32 {
	return min(max(v, 0), hi)
}
