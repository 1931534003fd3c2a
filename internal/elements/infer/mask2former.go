package infer

import (
	"fmt"

	"github.com/vidflow/vidflow/bbox"
)

// parseMask2Former is TAO's NvDsInferParseCustomMask2Former: pred_masks
// [Q,H,W] binary masks (1 inside) at the network's resolution,
// pred_scores [Q], pred_classes [Q] (int); each query scoring at least the
// threshold gives an object boxed by its mask's pixels, with the mask's
// part inside that box. (The C parser's box is one pixel narrower and
// misplaces masks touching the left or top edge; this one does not.)
func parseMask2Former(layers []bbox.Layer, info bbox.Info, dst []bbox.InstanceDetection) ([]bbox.InstanceDetection, error) {
	var masks, scores, classes *bbox.Layer
	for i := range layers {
		switch layers[i].Name {
		case "pred_masks":
			masks = &layers[i]
		case "pred_scores":
			scores = &layers[i]
		case "pred_classes":
			classes = &layers[i]
		}
	}
	if masks == nil || scores == nil || classes == nil || len(masks.Dims) != 3 {
		return dst, fmt.Errorf("NvDsInferParseCustomMask2Former needs pred_masks [Q,H,W], pred_scores [Q] and pred_classes [Q] (output-blob-names)")
	}
	q, h, w := masks.Dims[0], masks.Dims[1], masks.Dims[2]
	q = min(q, len(scores.Data), len(classes.Data))
	sx, sy := float32(info.NetWidth)/float32(w), float32(info.NetHeight)/float32(h)
	for i := 0; i < q; i++ {
		s := scores.Data[i]
		if !(s >= info.Threshold) {
			continue
		}
		m := masks.Data[i*w*h : (i+1)*w*h]
		x0, y0, x1, y1 := w, h, -1, -1
		for y := 0; y < h; y++ {
			for x, v := range m[y*w : (y+1)*w] {
				if v == 1 {
					x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
				}
			}
		}
		if x1 < x0 || y1 < y0 {
			continue
		}
		mw, mh := x1-x0+1, y1-y0+1
		crop := make([]float32, 0, mw*mh)
		for y := y0; y <= y1; y++ {
			crop = append(crop, m[y*w+x0:y*w+x1+1]...)
		}
		dst = append(dst, bbox.InstanceDetection{
			Detection: bbox.Detection{ClassID: int(classes.Data[i]), Score: s,
				X1: float32(x0) * sx, Y1: float32(y0) * sy, X2: float32(x1+1) * sx, Y2: float32(y1+1) * sy},
			MaskWidth: mw, MaskHeight: mh, Mask: crop})
	}
	return dst, nil
}
