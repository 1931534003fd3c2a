package infer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

func layersOf(spec ...any) []bbox.Layer {
	var out []bbox.Layer
	for i := 0; i < len(spec); i += 2 {
		out = append(out, bbox.Layer{Name: spec[i].(string), Dims: spec[i+1].([]int)})
	}
	return out
}

func namesDims(ls []bbox.Layer) ([]string, [][]int) {
	names := make([]string, len(ls))
	dims := make([][]int, len(ls))
	for i, l := range ls {
		names[i], dims[i] = l.Name, l.Dims
	}
	return names, dims
}

// The parser is chosen from the output layers when the config names none.
func TestDetectParserFromLayers(t *testing.T) {
	for _, c := range []struct {
		name   string
		layers []bbox.Layer
		want   string
	}{
		{"centernet", layersOf("heat", []int{80, 128, 128}, "wh", []int{4, 128, 128}), "centernet"},
		{"centernet by shape", layersOf("a", []int{4, 32, 32}, "b", []int{20, 32, 32}), "centernet"},
		{"trafficcamnet", layersOf("output_cov/Sigmoid", []int{4, 34, 60}, "output_bbox/BiasAdd", []int{16, 34, 60}), "detectnet"},
		{"trafficcamnet, boxes first", layersOf("output_bbox/BiasAdd:0", []int{16, 34, 60}, "output_cov/Sigmoid:0", []int{4, 34, 60}), "detectnet"},
		// One class: CenterNet's shapes, but DeepStream's names win.
		{"peoplesegnet-like 1 class", layersOf("output_cov/Sigmoid", []int{1, 34, 60}, "output_bbox/BiasAdd", []int{4, 34, 60}), "detectnet"},
		{"detectnet by shape", layersOf("x", []int{3, 34, 60}, "y", []int{12, 34, 60}), "detectnet"},
		{"tf od api", layersOf("detection_boxes", []int{100, 4}, "detection_classes", []int{100}, "detection_scores", []int{100}, "num_detections", []int{}), "ssd"},
		{"tf2 od api", layersOf("detection_anchor_indices", []int{100}, "detection_boxes", []int{100, 4}, "detection_classes", []int{100},
			"detection_multiclass_scores", []int{100, 91}, "detection_scores", []int{100}, "num_detections", []int{},
			"raw_detection_boxes", []int{1917, 4}, "raw_detection_scores", []int{1917, 91}), "ssd"},
		{"boxes and class scores by shape", layersOf("out0", []int{200, 4}, "out1", []int{200, 21}), "ssd"},
		{"yolo", layersOf("output0", []int{84, 8400}), "yolo"},
	} {
		names, dims := namesDims(c.layers)
		p, err := detectParser(names, dims)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if p.name != c.want {
			t.Errorf("%s: parser %s, want %s", c.name, p.name, c.want)
		}
		if _, err := p.classes(names, dims, 0); err != nil {
			t.Errorf("%s: classes: %v", c.name, err)
		}
	}
	names, dims := namesDims(layersOf("a", []int{10}, "b", []int{10}, "c", []int{10, 4}))
	if _, err := detectParser(names, dims); err == nil || !strings.Contains(err.Error(), "ssd") {
		t.Errorf("ambiguous SSD layers: %v", err)
	}
}

func TestSSDLayers(t *testing.T) {
	l, err := ssdLayers(layersOf("num_detections:0", []int{1}, "detection_scores:0", []int{50}, "detection_boxes:0", []int{50, 4}, "detection_classes:0", []int{50}))
	if err != nil || l.num != 0 || l.scores != 1 || l.boxes != 2 || l.classes != 3 || l.k != 50 || l.scoreClasses != 0 {
		t.Errorf("TF names: %+v %v", l, err)
	}
	// Unnamed: [K,4] boxes, one [K] layer beside named scores is the classes.
	l, err = ssdLayers(layersOf("scores", []int{50}, "o1", []int{50, 4}, "o2", []int{50}))
	if err != nil || l.boxes != 1 || l.classes != 2 {
		t.Errorf("by shape: %+v %v", l, err)
	}
	// Class scores [K,C] give the class count.
	n, err := ssdClasses([]string{"boxes", "scores"}, [][]int{{10, 4}, {10, 21}}, 0)
	if err != nil || n != 21 {
		t.Errorf("classes %d %v", n, err)
	}
	// A DetectionOutput [1,K,7] (named NMS, as DeepStream's SSD sample).
	l, err = ssdLayers(layersOf("NMS", []int{1, 100, 7}))
	if err != nil || l.detOut != 0 || l.k != 100 {
		t.Errorf("DetectionOutput: %+v %v", l, err)
	}
	for _, c := range []struct {
		layers []bbox.Layer
		want   string
	}{
		{layersOf("detection_boxes", []int{10, 4}, "boxes2", []int{10, 4}), "both"},
		{layersOf("detection_boxes", []int{10, 5}, "detection_scores", []int{10}, "detection_classes", []int{10}), "want [K,4]"},
		{layersOf("detection_boxes", []int{10, 4}, "detection_scores", []int{9}, "detection_classes", []int{10}), "want [10] or [10,C]"},
		{layersOf("detection_boxes", []int{10, 4}, "detection_scores", []int{10}), "needs a classes layer"},
		{layersOf("detection_boxes", []int{10, 4}, "detection_classes", []int{10}), "needs a scores layer"},
		{layersOf("detection_boxes", []int{10, 4}, "detection_scores", []int{10}, "detection_classes", []int{10}, "num_detections", []int{2}), "want one value"},
		{layersOf("x", []int{3, 3}), "needs a boxes layer"},
	} {
		if _, err := ssdLayers(c.layers); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.layers, err, c.want)
		}
	}
}

// The SSD and DetectNet parsers run through the element: boxes come back
// in frame pixels, named by the labels.
func TestSSDAndDetectNetDetectors(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// TF Object Detection API outputs (with a TF2 raw layer to skip): two
	// detections counted of three records, y1,x1,y2,x2.
	ssd := onnxtest.ConstantOutputs(64,
		onnxtest.Const{Name: "detection_boxes", Dims: []int64{3, 4}, Data: []float32{0.25, 0.5, 0.75, 1.0, 0, 0, 0.25, 0.25, 0.1, 0.1, 0.9, 0.9}},
		onnxtest.Const{Name: "detection_scores", Dims: []int64{3}, Data: []float32{0.9, 0.8, 0.99}},
		onnxtest.Const{Name: "detection_classes", Dims: []int64{3}, Data: []float32{1, 2, 1}},
		onnxtest.Const{Name: "num_detections", Data: []float32{2}},
		onnxtest.Const{Name: "raw_detection_boxes", Dims: []int64{5, 4}, Data: make([]float32, 20)},
	)
	if err := ssd.Write(filepath.Join(dir, "ssd.onnx")); err != nil {
		t.Fatal(err)
	}
	write("ssd.txt", "unlabeled\nperson\ncar\n")
	// DetectNet_v2: 2 classes, 64x64 input, 4x4 grid; one person at
	// (10,12)-(40,50) network pixels, in cell (1,1).
	cov, boxes := make([]float32, 2*16), make([]float32, 8*16)
	cx, cy := (16+0.5)/35.0, (16+0.5)/35.0
	i := 1*4 + 1
	cov[16+i] = 0.7
	boxes[4*16+i], boxes[5*16+i], boxes[6*16+i], boxes[7*16+i] = float32(cx-10/35.0), float32(cy-12/35.0), float32(40/35.0-cx), float32(50/35.0-cy)
	dn := onnxtest.ConstantOutputs(64,
		onnxtest.Const{Name: "output_cov/Sigmoid", Dims: []int64{2, 4, 4}, Data: cov},
		onnxtest.Const{Name: "output_bbox/BiasAdd", Dims: []int64{8, 4, 4}, Data: boxes},
	)
	if err := dn.Write(filepath.Join(dir, "dn.onnx")); err != nil {
		t.Fatal(err)
	}
	write("dn.txt", "car\nperson\n")

	type obj struct {
		label string
		score float32
		rect  media.Rect
	}
	// 128x96 frames stretched to 64x64: x ×2, y ×1.5.
	tfWant := []obj{{"person", 0.9, media.Rect{Left: 64, Top: 24, Width: 62, Height: 48}}, {"car", 0.8, media.Rect{Left: 0, Top: 0, Width: 32, Height: 24}}}
	for _, c := range []struct {
		name, config string
		want         []obj
	}{
		{"tf ssd guessed", "onnx-file=ssd.onnx\nlabelfile-path=ssd.txt\nnum-detected-classes=3\n", tfWant},
		{"NvDsInferParseCustomTfSSD", "onnx-file=ssd.onnx\nlabelfile-path=ssd.txt\nnum-detected-classes=3\nparse-bbox-func-name=NvDsInferParseCustomTfSSD\n", tfWant},
		{"ssd x1,y1,x2,y2", "onnx-file=ssd.onnx\nlabelfile-path=ssd.txt\nparse-bbox-func-name=ssd-xyxy\noutput-blob-names=detection_boxes;detection_scores;detection_classes;num_detections\n",
			[]obj{{"person", 0.9, media.Rect{Left: 32, Top: 48, Width: 64, Height: 46.5}}, {"car", 0.8, media.Rect{Left: 0, Top: 0, Width: 32, Height: 24}}}},
		{"detectnet default", "onnx-file=dn.onnx\nlabelfile-path=dn.txt\nnum-detected-classes=2\n", []obj{{"person", 0.7, media.Rect{Left: 20, Top: 18, Width: 62, Height: 58.5}}}},
		{"NvDsInferParseCustomResnet", "onnx-file=dn.onnx\nlabelfile-path=dn.txt\nparse-bbox-func-name=NvDsInferParseCustomResnet\n", []obj{{"person", 0.7, media.Rect{Left: 20, Top: 18, Width: 62, Height: 58.5}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := startRunner(t, dir, "c.txt", "[property]\ncluster-mode=2\nbatch-size=2\n"+c.config, nil)
			b := batch(3, 128, 96)
			defer b.Release()
			if err := r.process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			for n, fm := range b.Meta().Frames {
				if len(fm.Objects) != len(c.want) {
					t.Fatalf("frame %d: %d objects, want %d", n, len(fm.Objects), len(c.want))
				}
				for k, w := range c.want {
					o := fm.Objects[k]
					if o.Label != w.label || !approx(o.Confidence, w.score) || !rectNear(o.Rect, w.rect) {
						t.Errorf("frame %d object %d: %s %.2f %+v, want %s %.2f %+v", n, k, o.Label, o.Confidence, o.Rect, w.label, w.score, w.rect)
					}
				}
			}
		})
	}
	// Labels that do not match the class scores' columns, and a class count
	// the grids contradict, are errors when the element is made.
	if _, err := newElement(t, dir, "c.txt", "[property]\nonnx-file=dn.onnx\nnum-detected-classes=3\n", nil); err == nil || !strings.Contains(err.Error(), "num-detected-classes") {
		t.Errorf("detectnet classes: %v", err)
	}
	if _, err := newElement(t, dir, "c.txt", "[property]\nonnx-file=ssd.onnx\nlabelfile-path=dn.txt\nnum-detected-classes=3\n", nil); err == nil || !strings.Contains(err.Error(), "2 labels") {
		t.Errorf("ssd labels: %v", err)
	}
}

// The SSD and DetectNet parsers, called as the element calls them, do not
// allocate when the destination has room.
func TestSSDAndDetectNetParsersDoNotAllocate(t *testing.T) {
	ssd := []bbox.Layer{
		{Name: "detection_boxes", Dims: []int{2, 4}, Data: []float32{0.1, 0.1, 0.5, 0.5, 0.2, 0.2, 0.6, 0.6}},
		{Name: "detection_scores", Dims: []int{2}, Data: []float32{0.9, 0.8}},
		{Name: "detection_classes", Dims: []int{2}, Data: []float32{1, 2}},
		{Name: "num_detections", Dims: []int{}, Data: []float32{2}},
	}
	cov, boxes := make([]float32, 4*34*60), make([]float32, 16*34*60)
	cov[100] = 0.9
	dn := []bbox.Layer{{Name: "output_cov/Sigmoid", Dims: []int{4, 34, 60}, Data: cov}, {Name: "output_bbox/BiasAdd", Dims: []int{16, 34, 60}, Data: boxes}}
	for _, c := range []struct {
		parser string
		layers []bbox.Layer
		info   bbox.Info
	}{
		{"ssd", ssd, bbox.Info{NetWidth: 300, NetHeight: 300, Threshold: 0.5}},
		{"detectnet", dn, bbox.Info{NetWidth: 960, NetHeight: 544, Classes: 4, Threshold: 0.5}},
	} {
		p, _ := lookupParser(c.parser)
		dst := make([]bbox.Detection, 0, 8)
		allocs := testing.AllocsPerRun(20, func() {
			var err error
			if dst, err = p.fn(c.layers, c.info, dst); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 || len(dst) == 0 {
			t.Errorf("%s: %v allocations, %d detections", c.parser, allocs, len(dst))
		}
	}
}
