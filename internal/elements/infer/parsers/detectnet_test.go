package parsers

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
)

// detectNetGrid makes DetectNet_v2 outputs of one image: coverage
// [c,h,w] (all 0.01) and bbox [4c,h,w] (all 0).
func detectNetGrid(c, h, w int) (cov, boxes []float32) {
	cov = make([]float32, c*h*w)
	for i := range cov {
		cov[i] = 0.01
	}
	return cov, make([]float32, 4*c*h*w)
}

// setCell puts a box x1,y1,x2,y2 (network pixels) of the given coverage in
// cell (x, y) of class k, encoded as DeepStream decodes it (stride 16).
func setCell(cov, boxes []float32, h, w, k, x, y int, score, x1, y1, x2, y2 float32) {
	plane := h * w
	i := y*w + x
	cx := (float32(x)*16 + 0.5) / 35
	cy := (float32(y)*16 + 0.5) / 35
	cov[k*plane+i] = score
	b := boxes[4*k*plane:]
	b[i] = cx - x1/35
	b[plane+i] = cy - y1/35
	b[2*plane+i] = x2/35 - cx
	b[3*plane+i] = y2/35 - cy
}

func TestDecodeDetectNet(t *testing.T) {
	// A TrafficCamNet-like layout, small: 4 classes, 96x64 input, 6x4 grid.
	const c, h, w = 4, 4, 6
	cov, boxes := detectNetGrid(c, h, w)
	setCell(cov, boxes, h, w, 2, 2, 1, 0.8, 20, 5, 50, 30)  // a person
	setCell(cov, boxes, h, w, 0, 0, 0, 0.6, -10, 3, 200, 9) // overflows: clipped
	setCell(cov, boxes, h, w, 1, 5, 3, 0.2, 70, 40, 90, 60) // under the threshold
	setCell(cov, boxes, h, w, 3, 4, 2, nan, 70, 40, 90, 60) // NaN coverage
	setCell(cov, boxes, h, w, 3, 3, 2, 0.9, 60, 40, 50, 60) // inverted: dropped
	cfg := DetectNetConfig{Classes: c, Height: h, Width: w, NetWidth: 96, NetHeight: 64, Threshold: 0.3}
	dets, err := DecodeDetectNet(nil, cov, boxes, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// DeepStream's boxes are inclusive: right = x2 + 1.
	checkDets(t, dets, []bbox.Detection{
		{ClassID: 0, Score: 0.6, X1: 0, Y1: 3, X2: 96, Y2: 10},
		{ClassID: 2, Score: 0.8, X1: 20, Y1: 5, X2: 51, Y2: 31},
	})
	cfg.Threshold = 0.1
	dets, _ = DecodeDetectNet(dets, cov, boxes, cfg)
	if len(dets) != 3 || dets[1].ClassID != 1 {
		t.Errorf("threshold 0.1: %+v", dets)
	}
}

func TestDecodeDetectNetBadInput(t *testing.T) {
	cov, boxes := detectNetGrid(2, 3, 4)
	for _, c := range []struct {
		cov, boxes []float32
		cfg        DetectNetConfig
		want       string
	}{
		{cov, boxes, DetectNetConfig{Classes: 2, Height: 3, Width: 4}, "invalid"},
		{cov[:20], boxes, DetectNetConfig{Classes: 2, Height: 3, Width: 4, NetWidth: 64, NetHeight: 48}, "coverage has 20 values, want 24"},
		{cov, boxes[:90], DetectNetConfig{Classes: 2, Height: 3, Width: 4, NetWidth: 64, NetHeight: 48}, "bbox has 90 values, want 96"},
		{cov, boxes, DetectNetConfig{Classes: 0, Height: 3, Width: 4, NetWidth: 64, NetHeight: 48}, "invalid"},
	} {
		if _, err := DecodeDetectNet(nil, c.cov, c.boxes, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// resnetReference is DeepStream's NvDsInferParseCustomResnet (the
// DetectNet_v2 parser of nvdsinfer_custombboxparser.cpp) written plainly,
// returning corners (left, top, left+width, top+height).
func resnetReference(cov, boxes []float32, c, gh, gw, netW, netH int, threshold float32) []bbox.Detection {
	gridSize := gw * gh
	strideX := (netW + gw - 1) / gw
	strideY := (netH + gh - 1) / gh
	const norm = 35.0
	centersX := make([]float32, gw)
	centersY := make([]float32, gh)
	for i := range centersX {
		centersX[i] = (float32(i*strideX) + 0.5) / norm
	}
	for i := range centersY {
		centersY[i] = (float32(i*strideY) + 0.5) / norm
	}
	clip := func(v, lo, hi float32) float32 { return min(max(v, lo), hi) }
	var out []bbox.Detection
	for k := 0; k < c; k++ {
		x1s := boxes[k*4*gridSize:]
		y1s := x1s[gridSize:]
		x2s := y1s[gridSize:]
		y2s := x2s[gridSize:]
		for y := 0; y < gh; y++ {
			for x := 0; x < gw; x++ {
				i := x + y*gw
				if cov[k*gridSize+i] < threshold {
					continue
				}
				rx1 := (x1s[i] - centersX[x]) * -norm
				ry1 := (y1s[i] - centersY[y]) * -norm
				rx2 := (x2s[i] + centersX[x]) * norm
				ry2 := (y2s[i] + centersY[y]) * norm
				left := clip(rx1, 0, float32(netW-1))
				top := clip(ry1, 0, float32(netH-1))
				width := clip(rx2, 0, float32(netW-1)) - left + 1
				height := clip(ry2, 0, float32(netH-1)) - top + 1
				if width <= 0 || height <= 0 { // vidflow drops empty boxes
					continue
				}
				out = append(out, bbox.Detection{ClassID: k, Score: cov[k*gridSize+i], X1: left, Y1: top, X2: left + width, Y2: top + height})
			}
		}
	}
	return out
}

// On random outputs of TrafficCamNet's size (4 classes, 960x544 input,
// 60x34 grid), the decoder gives DeepStream's boxes.
func TestDecodeDetectNetMatchesDeepStream(t *testing.T) {
	const c, h, w = 4, 34, 60
	r := rand.New(rand.NewPCG(5, 6))
	cov, boxes := detectNetGrid(c, h, w)
	for trial := 0; trial < 5; trial++ {
		for i := range cov {
			cov[i] = r.Float32() * r.Float32()
		}
		for i := range boxes {
			boxes[i] = r.Float32()*4 - 1
		}
		want := resnetReference(cov, boxes, c, h, w, 960, 544, 0.4)
		got, err := DecodeDetectNet(nil, cov, boxes, DetectNetConfig{Classes: c, Height: h, Width: w, NetWidth: 960, NetHeight: 544, Threshold: 0.4})
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 100 {
			t.Fatalf("only %d reference boxes", len(want))
		}
		checkDets(t, got, want)
	}
}

func TestDecodeDetectNetNoAllocation(t *testing.T) {
	const c, h, w = 4, 34, 60
	cov, boxes := detectNetGrid(c, h, w)
	setCell(cov, boxes, h, w, 2, 10, 10, 0.8, 150, 150, 190, 250)
	dst := make([]bbox.Detection, 0, 8)
	allocs := testing.AllocsPerRun(20, func() {
		dst, _ = DecodeDetectNet(dst, cov, boxes, DetectNetConfig{Classes: c, Height: h, Width: w, NetWidth: 960, NetHeight: 544, Threshold: 0.4})
	})
	if allocs != 0 || len(dst) != 1 {
		t.Errorf("%v allocations, %d detections", allocs, len(dst))
	}
}

func BenchmarkDecodeDetectNet(b *testing.B) {
	const c, h, w = 4, 34, 60
	cov, boxes := detectNetGrid(c, h, w)
	setCell(cov, boxes, h, w, 2, 10, 10, 0.8, 150, 150, 190, 250)
	dst := make([]bbox.Detection, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = DecodeDetectNet(dst, cov, boxes, DetectNetConfig{Classes: c, Height: h, Width: w, NetWidth: 960, NetHeight: 544, Threshold: 0.4})
	}
}
