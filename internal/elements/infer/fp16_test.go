package infer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// fp16Config makes an element of configs/config_infer_primary_gpu_fp16.yml
// (the GPU model with its network in float16), or skips.
func fp16Config(t testing.TB, props element.Props) *nvinfer {
	t.Helper()
	if _, err := os.Stat(filepath.Join(config.CacheDir(), "models/centernet/centernet_gpu_fp16.onnx")); err != nil {
		t.Skip("centernet_gpu_fp16.onnx not in the cache; run scripts/setup-model.sh")
	}
	needORT(t)
	data, err := os.ReadFile("../../../configs/config_infer_primary_gpu_fp16.yml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := newElement(t, t.TempDir(), "c.yml", string(data), props)
	if err != nil {
		t.Fatal(err)
	}
	if !e.plan.uint8In || e.parser.name != "centernet-topk" {
		t.Fatalf("plan uint8 %v, parser %s", e.plan.uint8In, e.parser.name)
	}
	return e
}

// sameObjectsNearThreshold is sameObjects for detectors of different
// precision: every object of one run is in the other (label, score within
// tol, box within boxTol pixels, any order), except objects scored within
// tol of the threshold, which may be on either side of it in the other.
func sameObjectsNearThreshold(t *testing.T, what string, got, want []*media.ObjectMeta, thr float32, tol, boxTol float64) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: nothing detected", what)
	}
	match := func(a, b []*media.ObjectMeta, side string) {
		for _, w := range unmatched(a, b, tol, boxTol) {
			if float64(w.Confidence) >= float64(thr)+tol {
				t.Errorf("%s: the %s run's %s %.4f %+v has no match among %d objects", what, side, w.Label, w.Confidence, w.Rect, len(b))
			}
		}
	}
	match(want, got, "float32")
	match(got, want, "float16")
}

// fp16Compare runs the float16 and the float32 GPU models on the photos
// and compares what they find.
func fp16Compare(t *testing.T, half, full *nvinfer) {
	t.Helper()
	rh, err := half.start()
	if err != nil {
		t.Fatal(err)
	}
	defer rh.close()
	rf, err := full.start()
	if err != nil {
		t.Fatal(err)
	}
	defer rf.close()
	for _, photo := range []string{"dog.jpg", "person.jpg", "horses.jpg"} {
		got, want := detectOn(t, rh, photo), detectOn(t, rf, photo)
		for _, o := range got {
			t.Logf("%s: %s %.3f %+v", photo, o.Label, o.Confidence, o.Rect)
		}
		sameObjectsNearThreshold(t, photo, got, want, half.threshold, 0.02, 2)
	}
}

// On the CPU (where ONNX Runtime runs float16 nodes it has no kernel for
// in float32) the float16 model finds what the float32 GPU model finds.
func TestFP16ModelOnCPU(t *testing.T) {
	props := func() element.Props {
		return element.Props{"execution-provider": "cpu", "batch-size": 2, "intra-op-threads": 1}
	}
	half := fp16Config(t, props())
	full, err := gpuConfig(t, props())
	if err != nil {
		t.Fatal(err)
	}
	fp16Compare(t, half, full)
}

// On a GPU the float16 model, run by the CUDA provider in half precision,
// finds what the float32 GPU model finds there: same objects, scores
// within 0.02, boxes within 2 pixels.
func TestFP16ModelOnGPU(t *testing.T) {
	if err := gpu.Load(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	half := fp16Config(t, element.Props{"batch-size": 2})
	if half.provider != "cuda" {
		t.Fatalf("provider %s", half.provider)
	}
	full, err := gpuConfig(t, element.Props{"batch-size": 2})
	if err != nil {
		t.Fatal(err)
	}
	fp16Compare(t, half, full)
}
