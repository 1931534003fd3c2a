package infer

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/config"
)

// Fuzz tests. Without -fuzz they run their seeds as ordinary tests; with
// it, for example
//
//	go test ./internal/infer -run '^$' -fuzz '^FuzzConfigYAML$' -fuzztime 30s
//
// they look for inputs that panic or break the checks below.

// fuzzDir makes a folder with placeholder model and labels files, found
// by relative paths (m.onnx, labels.txt) and through ${VIDFLOW_CACHE}
// (models/centernet/...), so that configs naming them get past the file
// checks to the later ones.
func fuzzDir(f *testing.F) string {
	dir := f.TempDir()
	m := filepath.Join(dir, "models", "centernet")
	if err := os.MkdirAll(m, 0o755); err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{"m.onnx", "labels.txt", "models/centernet/centernet.onnx", "models/centernet/labels.txt"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x\n"), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Setenv("VIDFLOW_CACHE", dir)
	return dir
}

// addConfigSeeds adds the repository's configs of the given extensions and
// a few DeepStream-style ones.
func addConfigSeeds(f *testing.F, exts []string, extra ...string) {
	n := 0
	for _, ext := range exts {
		files, err := filepath.Glob(filepath.Join("..", "..", "..", "configs", "*"+ext))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed configs %v in configs/", exts)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// checkConfig parses data as the config file path and checks that a
// config read without error is within the documented ranges, and that an
// error names the file.
func checkConfig(t *testing.T, path string, data []byte) {
	cf, err := config.Parse(path, data)
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("parse error %q does not name the file", err)
		}
		return
	}
	c, err := FromFile(cf)
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("error %q does not name the file", err)
		}
		return
	}
	switch {
	case c.ONNXFile == "":
		t.Fatal("config without onnx-file accepted")
	case c.BatchSize < 1 || c.BatchSize > 1024:
		t.Fatalf("batch-size %d accepted", c.BatchSize)
	case c.ProcessMode != 1 && c.ProcessMode != 2:
		t.Fatalf("process-mode %d accepted", c.ProcessMode)
	case c.InputOrder != 0 && c.InputOrder != 1, c.ModelColorFormat < 0 || c.ModelColorFormat > 2:
		t.Fatalf("input order %d / colour format %d accepted", c.InputOrder, c.ModelColorFormat)
	case c.NetworkType == NetworkSegmentation || c.NetworkType == NetworkInstanceSeg:
		t.Fatalf("network-type %d accepted", c.NetworkType)
	case c.NetworkType == NetworkDetector && c.ClusterMode == ClusterGroupRectangles:
		t.Fatal("cluster-mode 0 not replaced for a detector")
	case c.InferDims != nil && (len(c.InferDims) != 3 || c.InferDims[0] <= 0 || c.InferDims[1] <= 0 || c.InferDims[2] <= 0):
		t.Fatalf("infer-dims %v accepted", c.InferDims)
	case c.Offsets != nil && len(c.Offsets) != 1 && len(c.Offsets) != 3:
		t.Fatalf("offsets %v accepted", c.Offsets)
	case c.ExecutionProvider != "cpu" && c.ExecutionProvider != "cuda" && c.ExecutionProvider != "auto":
		t.Fatalf("execution-provider %q accepted", c.ExecutionProvider)
	case c.Interval < 0 || c.IntraOpThreads < 0 || c.OperateOnGIEID < -1:
		t.Fatalf("negative interval %d / threads %d / gie id %d accepted", c.Interval, c.IntraOpThreads, c.OperateOnGIEID)
	}
	if math.IsNaN(float64(c.NetScaleFactor)) || math.IsInf(float64(c.NetScaleFactor), 0) {
		t.Fatalf("net-scale-factor %v accepted", c.NetScaleFactor)
	}
	for _, id := range append(append([]int(nil), c.OperateOnClassIDs...), c.FilterOutClassIDs...) {
		if id < 0 {
			t.Fatalf("class id %d accepted", id)
		}
	}
	attrs := []ClassAttrs{c.ClassAttrs}
	for id, a := range c.PerClass {
		if id < 0 {
			t.Fatalf("class-attrs-%d accepted", id)
		}
		attrs = append(attrs, a)
	}
	for _, a := range attrs {
		if !(a.PreClusterThreshold >= 0 && a.PreClusterThreshold <= 1) || !(a.NMSIoUThreshold >= 0 && a.NMSIoUThreshold <= 1) ||
			!(a.PostClusterThreshold >= 0 && a.PostClusterThreshold <= 1) || !(a.Eps >= 0 && a.Eps <= 1) || a.TopK < -1 ||
			a.MinBoxes < 0 || a.DetectedMinW < 0 || a.DetectedMinH < 0 || a.DetectedMaxW < 0 || a.DetectedMaxH < 0 {
			t.Fatalf("class attributes %+v accepted", a)
		}
	}
	// The element's own use of the config must not panic either.
	_ = c.Class(0)
	dets := []bbox.Detection{{ClassID: 0, Score: 0.9, X2: 10, Y2: 10}, {ClassID: 3, Score: 0.5, X1: 1, Y1: 1, X2: 11, Y2: 11}}
	dets = c.filter(dets, 0, 64)
	if c.ClusterMode != ClusterDBSCAN && c.ClusterMode != ClusterDBSCANNMS {
		_, _ = c.cluster(dets, nil)
	}
}

const (
	dsPGIEYAML = `property:
  gpu-id: 0
  net-scale-factor: 0.00392156862745098
  onnx-file: m.onnx
  model-engine-file: m.onnx_b1_gpu0_fp16.engine
  labelfile-path: labels.txt
  batch-size: 1
  network-mode: 2
  num-detected-classes: 4
  interval: 0
  gie-unique-id: 1
  cluster-mode: 2
  infer-dims: 3;544;960
  output-blob-names: [output_cov/Sigmoid, output_bbox/BiasAdd]
class-attrs-all:
  pre-cluster-threshold: 0.2
  topk: 20
  nms-iou-threshold: 0.5
class-attrs-2:
  pre-cluster-threshold: 0.4
`
	dsSGIEYAML = `property:
  onnx-file: m.onnx
  labelfile-path: labels.txt
  process-mode: 2
  network-type: 1
  gie-unique-id: 2
  operate-on-gie-id: 1
  operate-on-class-ids: 0
  model-color-format: 1
  input-object-min-width: 64
  input-object-min-height: 64
  classifier-async-mode: 1
  classifier-threshold: 0.51
  batch-size: 16
`
	dsPGIEINI = `[property]
gpu-id=0
net-scale-factor=0.0039215697906911373
onnx-file=m.onnx
labelfile-path=labels.txt
batch-size=1
network-mode=1
num-detected-classes=4
interval=0
gie-unique-id=1
uff-input-order=0
parse-bbox-func-name=NvDsInferParseCustomTfSSD
cluster-mode=3
offsets=123.675;116.28;103.53
maintain-aspect-ratio=1
symmetric-padding=1

[class-attrs-all]
pre-cluster-threshold=0.2
eps=0.2
group-threshold=1
minBoxes=3

[class-attrs-0]
detected-min-w=32
roi-top-offset=10
`
)

func FuzzConfigYAML(f *testing.F) {
	dir := fuzzDir(f)
	path := filepath.Join(dir, "fuzz.yml")
	addConfigSeeds(f, []string{".yml", ".yaml"}, dsPGIEYAML, dsSGIEYAML,
		"property:\n  onnx-file: m.onnx\n  offsets: [1, 2, 3]\n  infer-dims: [3, 8, 8]\n",
		"property:\n  onnx-file: &a m.onnx\n  labelfile-path: *a\n",
		"property: {onnx-file: m.onnx, batch-size: 0}\n",
		"property:\n  onnx-file: ${NOPE}/m.onnx\n",
		"", "property:\n", "- a\n- b\n", "property:\n  onnx-file:\n    deep: map\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkConfig(t, path, data)
	})
}

func FuzzConfigINI(f *testing.F) {
	dir := fuzzDir(f)
	path := filepath.Join(dir, "fuzz.txt")
	addConfigSeeds(f, []string{".txt"}, dsPGIEINI,
		"[property]\nonnx-file=m.onnx\nbatch-size=four\n",
		"[property]\nonnx-file=m.onnx\n[class-attrs-x]\n",
		"[property]\nonnx-file=m.onnx\n[class-attrs-99999999999999999999]\nthreshold=0.5\n",
		"[property]\nonnx-file=m.onnx\nnetwork-type=100\ncluster-mode=0\n",
		"\ufeff[property]\nonnx-file=~/m.onnx\n", "[property", "key=value\n", "\xff\xfe")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkConfig(t, path, data)
	})
}

// FuzzDetectionParsers feeds each built-in detection parser layers of
// arbitrary shapes and values (shapes and sizes agreeing, as the element
// guarantees): a parser may return an error, never panic, and its boxes
// must lie in the network input with a real score.
func FuzzDetectionParsers(f *testing.F) {
	f.Add([]byte{2, 3, 80, 8, 8, 3, 4, 8, 8}, []byte{1, 2, 3, 4}, uint8(0), uint16(512), uint16(512))
	f.Add([]byte{1, 2, 84, 20}, []byte{200, 100, 50}, uint8(3), uint16(640), uint16(640))
	f.Add([]byte{4, 2, 10, 4, 1, 10, 1, 10, 0}, []byte{0, 0, 128, 64, 200, 255, 7}, uint8(5), uint16(300), uint16(300))
	f.Add([]byte{2, 3, 4, 6, 10, 3, 16, 6, 10}, []byte{255, 0, 1, 2, 128}, uint8(7), uint16(160), uint16(96))
	f.Add([]byte{1, 3, 1, 20, 7}, []byte{0, 1, 200, 10, 20, 100, 120}, uint8(6), uint16(300), uint16(300))
	names := []string{"centernet", "yolov5", "yolov8", "yolo", "ssd", "ssd-xyxy", "detectnet", "detectnet"}
	layerNames := [][]string{
		{"heat", "wh"}, {"output0"}, {"output0"}, {"output0"},
		{"detection_boxes", "detection_scores", "detection_classes", "num_detections"},
		{"boxes", "scores", "labels", "num"}, {"output_cov/Sigmoid", "output_bbox/BiasAdd"}, {"a", "b"},
	}
	f.Fuzz(func(t *testing.T, shape, values []byte, which uint8, netW, netH uint16) {
		k := int(which) % len(names)
		p, ok := lookupParser(names[k])
		if !ok {
			t.Fatalf("no parser %s", names[k])
		}
		// shape: layer count, then for each layer its rank and dimensions.
		var layers []bbox.Layer
		if len(shape) == 0 {
			return
		}
		n, shape := int(shape[0])%5, shape[1:]
		total := 0
		for i := 0; i < n && len(shape) > 0; i++ {
			rank := int(shape[0]) % 4
			shape = shape[1:]
			if len(shape) < rank {
				return
			}
			dims := make([]int, rank)
			size := 1
			for d := range dims {
				dims[d] = int(shape[d])
				size *= dims[d]
			}
			shape = shape[rank:]
			total += size
			if total > 1<<18 {
				return
			}
			name := "layer"
			if l := layerNames[k]; i < len(l) {
				name = l[i]
			}
			data := make([]float32, size)
			for j := range data {
				if len(values) > 0 {
					v := values[j%len(values)]
					switch v {
					case 255:
						data[j] = float32(math.NaN())
					case 254:
						data[j] = float32(math.Inf(1))
					default:
						data[j] = float32(v)/64 - 1 + float32(j%7)
					}
				}
			}
			layers = append(layers, bbox.Layer{Name: name, Dims: dims, Data: data})
		}
		info := bbox.Info{NetWidth: int(netW%2048) + 1, NetHeight: int(netH%2048) + 1, Threshold: 0.1}
		if len(values) >= 4 {
			info.Classes = int(binary.LittleEndian.Uint16(values) % 100)
		}
		dets, err := p.fn(layers, info, nil)
		if err != nil {
			return
		}
		for _, d := range dets {
			if d.ClassID < 0 || !(d.Score >= info.Threshold) {
				t.Fatalf("%s: detection %+v", names[k], d)
			}
			if (names[k] == "ssd" || names[k] == "ssd-xyxy" || names[k] == "detectnet") &&
				(d.X1 < 0 || d.Y1 < 0 || d.X2 > float32(info.NetWidth) || d.Y2 > float32(info.NetHeight) || !(d.X2 > d.X1) || !(d.Y2 > d.Y1)) {
				t.Fatalf("%s: box %+v outside the %dx%d input", names[k], d, info.NetWidth, info.NetHeight)
			}
		}
	})
}
