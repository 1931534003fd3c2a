package parsers

import (
	"fmt"

	"github.com/vidflow/vidflow/bbox"
)

// CenterNetConfig configures DecodeCenterNet.
type CenterNetConfig struct {
	Classes int     // number of heat-map channels (80 for COCO)
	Height  int     // heat-map rows (128 for a 512x512 input)
	Width   int     // heat-map columns
	Stride  float32 // input pixels per heat-map cell (4); 0 means 4
	// Threshold is the minimum heat (sigmoid score) of a peak.
	Threshold float32
	// IoU is the class-wise NMS threshold (0.5 is usual); <= 0 disables NMS.
	IoU float32
	// TopK caps the number of detections returned (0: no cap).
	TopK int
	// ClipW / ClipH, when > 0, clamp boxes to [0,ClipW]x[0,ClipH].
	ClipW, ClipH float32
}

// DecodeCenterNet decodes the outputs of one image of a CenterNet model:
//
//	heat: Classes x Height x Width sigmoid class heat maps (NCHW, one image)
//	wh:   4 x Height x Width distances (left, top, right, bottom) in input pixels
//
// A peak is a cell whose heat is >= Threshold and equal to the maximum of
// its 3x3 neighbourhood (cells outside the map are ignored, as TF's SAME
// max-pool does). Its centre is (x*Stride, y*Stride) and its box is
// (cx-left, cy-top, cx+right, cy+bottom). Peaks then go through class-wise
// NMS and are returned by descending score.
//
// The result is appended to dst[:0] (pass a reused slice to avoid
// allocating); no other memory is allocated.
func DecodeCenterNet(dst []bbox.Detection, heat, wh []float32, cfg CenterNetConfig) ([]bbox.Detection, error) {
	c, h, w := cfg.Classes, cfg.Height, cfg.Width
	if c <= 0 || h <= 0 || w <= 0 {
		return dst[:0], fmt.Errorf("parsers: invalid CenterNet dimensions %dx%dx%d", c, h, w)
	}
	plane := h * w
	if len(heat) < c*plane {
		return dst[:0], fmt.Errorf("parsers: heat has %d values, want %d (%dx%dx%d)", len(heat), c*plane, c, h, w)
	}
	if len(wh) < 4*plane {
		return dst[:0], fmt.Errorf("parsers: wh has %d values, want %d (4x%dx%d)", len(wh), 4*plane, h, w)
	}
	stride := cfg.Stride
	if stride == 0 {
		stride = 4
	}
	dst = dst[:0]
	for k := 0; k < c; k++ {
		hm := heat[k*plane : (k+1)*plane]
		for y := 0; y < h; y++ {
			row := hm[y*w : (y+1)*w]
			for x, v := range row {
				if v < cfg.Threshold || v != v { // below threshold or NaN
					continue
				}
				if !isPeak(hm, w, h, x, y, v) {
					continue
				}
				i := y*w + x
				dst = append(dst, centerBox(&cfg, k, v, x, y, stride, wh[i], wh[plane+i], wh[2*plane+i], wh[3*plane+i]))
			}
		}
	}
	return centerNetEnd(dst, &cfg), nil
}

// centerBox is the detection of class k at heat-map cell (x, y) with score
// v and box distances l, t, r, b, clipped as cfg says.
func centerBox(cfg *CenterNetConfig, k int, v float32, x, y int, stride, l, t, r, b float32) bbox.Detection {
	cx, cy := float32(x)*stride, float32(y)*stride
	d := bbox.Detection{ClassID: k, Score: v, X1: cx - l, Y1: cy - t, X2: cx + r, Y2: cy + b}
	if cfg.ClipW > 0 {
		d.X1, d.X2 = clamp(d.X1, 0, cfg.ClipW), clamp(d.X2, 0, cfg.ClipW)
	}
	if cfg.ClipH > 0 {
		d.Y1, d.Y2 = clamp(d.Y1, 0, cfg.ClipH), clamp(d.Y2, 0, cfg.ClipH)
	}
	return d
}

// centerNetEnd is the end of both CenterNet decoders: class-wise NMS (or
// sorting by score) and the TopK cap. SortByScore's order does not depend
// on the order peaks were found in, but for exact ties of score, class,
// y1 and x1.
func centerNetEnd(dst []bbox.Detection, cfg *CenterNetConfig) []bbox.Detection {
	if cfg.IoU > 0 {
		return NMS(dst, cfg.IoU, cfg.TopK)
	}
	SortByScore(dst)
	if cfg.TopK > 0 && len(dst) > cfg.TopK {
		dst = dst[:cfg.TopK]
	}
	return dst
}

// isPeak reports whether v (at x, y) is the maximum of its 3x3 neighbourhood.
func isPeak(hm []float32, w, h, x, y int, v float32) bool {
	for yy := max(y-1, 0); yy <= min(y+1, h-1); yy++ {
		row := hm[yy*w : (yy+1)*w]
		for xx := max(x-1, 0); xx <= min(x+1, w-1); xx++ {
			if row[xx] > v {
				return false
			}
		}
	}
	return true
}

func clamp(v, lo, hi float32) float32 {
	return min(max(v, lo), hi)
}

// ScaleDetections maps boxes from model-input pixels to image pixels by
// multiplying x by sx and y by sy (e.g. sx = imageWidth/512 after a
// stretch resize).
func ScaleDetections(dets []bbox.Detection, sx, sy float32) {
	for i := range dets {
		dets[i].X1 *= sx
		dets[i].X2 *= sx
		dets[i].Y1 *= sy
		dets[i].Y2 *= sy
	}
}
