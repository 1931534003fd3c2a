package parsers

import (
	"fmt"

	"github.com/vidflow/vidflow/bbox"
)

// DetectNet_v2 constants of DeepStream's parsers (nvinfer's default
// detector parser and NvDsInferParseCustomResnet).
const (
	// DetectNetBoxNorm is the bbox normalisation (bboxNormX/Y).
	DetectNetBoxNorm = 35.0
	// DetectNetOffset is the offset of a grid cell's centre (gcCentersX/Y).
	DetectNetOffset = 0.5
)

// DetectNetConfig configures DecodeDetectNet.
type DetectNetConfig struct {
	Classes int // C: coverage channels
	Height  int // grid rows (input height / 16 for TAO models)
	Width   int // grid columns
	// NetWidth and NetHeight are the network input's size, in pixels.
	NetWidth, NetHeight int
	// BoxNorm and Offset default to DetectNetBoxNorm and DetectNetOffset
	// when 0.
	BoxNorm, Offset float32
	// Threshold is the minimum coverage of a cell.
	Threshold float32
}

// DecodeDetectNet decodes the outputs of one image of a DetectNet_v2 model
// (NVIDIA TAO: TrafficCamNet, PeopleNet, DashCamNet, ...):
//
//	cov:  C x H x W coverage (output_cov/Sigmoid)
//	bbox: 4C x H x W box offsets (output_bbox/BiasAdd), for class c the
//	      planes 4c..4c+3: x1, y1, x2, y2
//
// as DeepStream does: the stride is the network size over the grid size
// (rounded up; 16 for TAO models), a cell's centre is
// ((x·strideX + Offset)/BoxNorm, (y·strideY + Offset)/BoxNorm), and a cell
// whose coverage reaches the threshold gives the box
//
//	x1 = (centreX − bx1)·BoxNorm   y1 = (centreY − by1)·BoxNorm
//	x2 = (centreX + bx2)·BoxNorm   y2 = (centreY + by2)·BoxNorm
//
// clipped to [0, NetWidth−1] x [0, NetHeight−1], with DeepStream's
// inclusive width (right = clipped x2 + 1). Boxes are not clustered
// (DetectNet gives one per covered cell: cluster them with cluster-mode).
// The result is appended to dst[:0] with no other allocation.
func DecodeDetectNet(dst []bbox.Detection, cov, boxes []float32, cfg DetectNetConfig) ([]bbox.Detection, error) {
	c, h, w := cfg.Classes, cfg.Height, cfg.Width
	if c <= 0 || h <= 0 || w <= 0 || cfg.NetWidth <= 0 || cfg.NetHeight <= 0 {
		return dst[:0], fmt.Errorf("parsers: invalid DetectNet dimensions: %dx%dx%d grid, %dx%d network", c, h, w, cfg.NetWidth, cfg.NetHeight)
	}
	plane := h * w
	if len(cov) < c*plane {
		return dst[:0], fmt.Errorf("parsers: DetectNet coverage has %d values, want %d (%dx%dx%d)", len(cov), c*plane, c, h, w)
	}
	if len(boxes) < 4*c*plane {
		return dst[:0], fmt.Errorf("parsers: DetectNet bbox has %d values, want %d (%dx%dx%d)", len(boxes), 4*c*plane, 4*c, h, w)
	}
	norm, off := cfg.BoxNorm, cfg.Offset
	if norm == 0 {
		norm = DetectNetBoxNorm
	}
	if off == 0 {
		off = DetectNetOffset
	}
	strideX := float32((cfg.NetWidth + w - 1) / w)
	strideY := float32((cfg.NetHeight + h - 1) / h)
	maxX, maxY := float32(cfg.NetWidth-1), float32(cfg.NetHeight-1)
	dst = dst[:0]
	for k := 0; k < c; k++ {
		cv := cov[k*plane : (k+1)*plane]
		b := boxes[4*k*plane : 4*(k+1)*plane]
		for y := 0; y < h; y++ {
			cy := (float32(y)*strideY + off) / norm
			for x := 0; x < w; x++ {
				i := y*w + x
				score := cv[i]
				if !(score >= cfg.Threshold) { // also NaN
					continue
				}
				cx := (float32(x)*strideX + off) / norm
				x1 := (b[i] - cx) * -norm
				y1 := (b[plane+i] - cy) * -norm
				x2 := (b[2*plane+i] + cx) * norm
				y2 := (b[3*plane+i] + cy) * norm
				left, top := clipTo(x1, maxX), clipTo(y1, maxY)
				right, bottom := clipTo(x2, maxX)+1, clipTo(y2, maxY)+1
				if !(right > left && bottom > top) {
					continue
				}
				dst = append(dst, bbox.Detection{ClassID: k, Score: score, X1: left, Y1: top, X2: right, Y2: bottom})
			}
		}
	}
	return dst, nil
}
