package infer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// samplesDir holds NVIDIA's and DeepStream-Yolo's sample files (see its
// README for sources and licences).
const samplesDir = "../../deepstream/samples/testdata"

// copySample copies sample files into dir, returning the first's path.
func copySample(t *testing.T, dir string, rel ...string) string {
	t.Helper()
	var first string
	for _, r := range rel {
		data, err := os.ReadFile(filepath.Join(samplesDir, r))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(r))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = p
		}
	}
	return first
}

// Every ONNX config of DeepStream-Yolo runs unchanged (its C library's
// NvDsInferParseYolo is built in; model-engine-file, custom-lib-path,
// engine-create-func-name have no effect) on a stand-in of its exports:
// input "input" [N,3,640,640], output "output" [N,A,6] of x1,y1,x2,y2,
// score,class in network pixels. The configs' letterboxing
// (maintain-aspect-ratio, symmetric-padding) maps the boxes back to the
// frame; their labels name them. The two Darknet configs
// (custom-network-config) are refused by the loader (samples test).
func TestDeepStreamYoloConfigsRun(t *testing.T) {
	needORT(t)
	configs, err := filepath.Glob(filepath.Join(samplesDir, "DeepStream-Yolo", "config_infer_primary_*.txt"))
	if err != nil || len(configs) < 21 {
		t.Fatalf("%d DeepStream-Yolo configs: %v", len(configs), err)
	}
	rows := []float32{
		100, 170, 300, 310, 0.9, 2, // a car
		400, 200, 500, 300, 0.1, 0, // below pre-cluster-threshold
		102, 172, 298, 308, 0.8, 2, // NMS drops it (cluster-mode 2)
	}
	ran := 0
	for _, path := range configs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := copySample(t, dir, "DeepStream-Yolo/"+filepath.Base(path), "DeepStream-Yolo/labels.txt")
			cfg, err := LoadConfig(cfgPath)
			switch {
			case errors.Is(err, ErrTensorRTOnly):
				t.Skipf("a Darknet config: %v", err)
			case !errors.Is(err, ErrModelMissing):
				t.Fatalf("want only the model missing, got %v", err)
			}
			g := onnxtest.ConstantOutputsNamed("input", 640, 640, onnxtest.Const{Name: "output", Dims: []int64{3, 6}, Data: rows})
			if err := g.Write(filepath.Join(dir, filepath.Base(onnxName(t, cfgPath)))); err != nil {
				t.Fatal(err)
			}
			if cfg, err = LoadConfig(cfgPath); err != nil {
				t.Fatal(err)
			}
			if len(cfg.Unknown) != 0 {
				t.Errorf("unknown keys: %q", cfg.Unknown)
			}
			text, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			r := startRunner(t, dir, filepath.Base(cfgPath), string(text), nil)
			b := batch(1, 1280, 640)
			defer b.Release()
			if err := r.process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			// 1280x640 into 640x640: stretched (x/2, y unchanged), or
			// letterboxed at scale 1/2 with 160 rows of padding above
			// (symmetric) or 320 below.
			want := media.Rect{Left: 200, Top: 170, Width: 400, Height: 140}
			switch {
			case cfg.MaintainAspectRatio && cfg.SymmetricPadding:
				want = media.Rect{Left: 200, Top: 20, Width: 400, Height: 280}
			case cfg.MaintainAspectRatio:
				want = media.Rect{Left: 200, Top: 340, Width: 400, Height: 280}
			}
			objs := b.Meta().Frames[0].Objects
			// cluster-mode=4 (dfine, rtdetr, yoloV10: models that do
			// their own NMS) clusters nothing, as in DeepStream: the
			// overlapping second car stays.
			wantN := 1
			if cfg.ClusterMode == ClusterNone {
				wantN = 2
			}
			if len(objs) != wantN {
				t.Fatalf("%d objects, want %d: %+v", len(objs), wantN, objs)
			}
			if wantN == 2 && (objs[1].ClassID != 2 || !approx(objs[1].Confidence, 0.8)) {
				t.Errorf("second object %d %.2f, want the 0.8 car", objs[1].ClassID, objs[1].Confidence)
			}
			o := objs[0]
			if o.ClassID != 2 || o.Label != "car" || !approx(o.Confidence, 0.9) || !rectNear(o.Rect, want) {
				t.Errorf("object %d %q %.2f %+v, want car 0.9 %+v", o.ClassID, o.Label, o.Confidence, o.Rect, want)
			}
			ran++
		})
	}
	if ran < 21 {
		t.Errorf("%d DeepStream-Yolo configs ran, want 21", ran)
	}
}

// onnxName is the onnx-file a config names.
func onnxName(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && strings.TrimSpace(k) == "onnx-file" {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s names no onnx-file", path)
	return ""
}
