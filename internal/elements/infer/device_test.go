package infer

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// gpuConfig makes an element of configs/config_infer_primary_gpu.yml (the
// uint8-input model that finds its peaks on the device), or skips.
func gpuConfig(t testing.TB, props element.Props) (*nvinfer, error) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(config.CacheDir(), "models/centernet/centernet_gpu.onnx")); err != nil {
		t.Skip("centernet_gpu.onnx not in the cache; run scripts/setup-model.sh")
	}
	needORT(t)
	data, err := os.ReadFile("../../../configs/config_infer_primary_gpu.yml")
	if err != nil {
		t.Fatal(err)
	}
	return newElement(t, t.TempDir(), "c.yml", string(data), props)
}

// detectOn runs a started runner on a fresh batch of the photo and
// returns the objects of its first frame.
func detectOn(t *testing.T, r *runner, photo string) []*media.ObjectMeta {
	t.Helper()
	b := photoBatch(t, photo, 2)
	defer b.Release()
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	fms := b.Meta().Frames
	if len(fms[0].Objects) != len(fms[1].Objects) {
		t.Errorf("two copies of %s gave %d and %d objects", photo, len(fms[0].Objects), len(fms[1].Objects))
	}
	return fms[0].Objects
}

// sameObjects compares detections of two runs of a detector: the same
// objects (label, score within tol, box within boxTol pixels), in any
// order (near-equal scores may swap).
func sameObjects(t *testing.T, what string, got, want []*media.ObjectMeta, tol, boxTol float64) {
	t.Helper()
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%s: %d objects, want %d (and some)", what, len(got), len(want))
	}
	for _, w := range unmatched(want, got, tol, boxTol) {
		t.Errorf("%s: no %s %.4f %+v among %d objects", what, w.Label, w.Confidence, w.Rect, len(got))
	}
}

// unmatched returns the objects of a with no match in b: the same label,
// score within tol, box within boxTol pixels; each object of b matches once.
func unmatched(a, b []*media.ObjectMeta, tol, boxTol float64) []*media.ObjectMeta {
	var out []*media.ObjectMeta
	used := make([]bool, len(b))
	for _, w := range a {
		found := false
		for i, g := range b {
			d := math.Max(math.Max(math.Abs(float64(g.Rect.Left-w.Rect.Left)), math.Abs(float64(g.Rect.Top-w.Rect.Top))),
				math.Max(math.Abs(float64(g.Rect.Width-w.Rect.Width)), math.Abs(float64(g.Rect.Height-w.Rect.Height))))
			if !used[i] && g.Label == w.Label && math.Abs(float64(g.Confidence-w.Confidence)) <= tol && d <= boxTol {
				used[i], found = true, true
				break
			}
		}
		if !found {
			out = append(out, w)
		}
	}
	return out
}

// The GPU model (uint8 pixels in, peaks and top-K found inside the model)
// run on the CPU finds what the default model finds: the element feeds it
// bytes and its parser reads the reduced outputs.
func TestGPUModelOnCPUMatchesDefault(t *testing.T) {
	e, err := gpuConfig(t, element.Props{"execution-provider": "cpu", "batch-size": 2, "intra-op-threads": 1})
	if err != nil {
		t.Fatal(err)
	}
	if !e.plan.uint8In || e.parser.name != "centernet-topk" {
		t.Fatalf("plan uint8 %v, parser %s", e.plan.uint8In, e.parser.name)
	}
	r, err := e.start()
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	ref := centerNet(t, element.Props{"batch-size": 2, "intra-op-threads": 1})
	rr, err := ref.start()
	if err != nil {
		t.Fatal(err)
	}
	defer rr.close()
	for _, photo := range []string{"dog.jpg", "person.jpg", "horses.jpg"} {
		// Bytes are rounded where the float model sees fractions: scores
		// move in the third decimal, boxes by a fraction of a pixel.
		sameObjects(t, photo, detectOn(t, r, photo), detectOn(t, rr, photo), 0.02, 2)
	}
}

// On a GPU, the element runs the GPU model through I/O binding and finds
// what it finds on the CPU.
func TestGPUModelOnGPU(t *testing.T) {
	if err := gpu.Load(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	e, err := gpuConfig(t, element.Props{"batch-size": 2})
	if err != nil {
		t.Fatal(err)
	}
	if e.provider != "cuda" {
		t.Fatalf("provider %s", e.provider)
	}
	r, err := e.start()
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := gpuConfig(t, element.Props{"execution-provider": "cpu", "batch-size": 2})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cpu.start()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.close()
	for _, photo := range []string{"dog.jpg", "person.jpg", "horses.jpg"} {
		// TF32 convolutions on the GPU: scores agree to ~1e-3.
		sameObjects(t, photo, detectOn(t, r, photo), detectOn(t, rc, photo), 0.01, 1)
	}
	r.close()

	// Tensor metadata on the GPU: device tensors (kDLCUDA) holding what
	// the CPU run read, freed with their frame.
	e, err = gpuConfig(t, element.Props{"batch-size": 2, "output-tensor-meta": true})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.start(); err != nil {
		t.Fatal(err)
	}
	b := photoBatch(t, "dog.jpg", 2)
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	rb := photoBatch(t, "dog.jpg", 2)
	rc.cfg.OutputTensorMeta = true
	if err := rc.process(context.Background(), rb); err != nil {
		t.Fatal(err)
	}
	for name, dt := range b.Meta().Frames[1].Tensors[0].Layers {
		if dt.Device() != "cuda:0" {
			t.Fatalf("layer %s on %s, want cuda:0", name, dt.Device())
		}
		host, err := dt.CloneErr()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := media.Data[float32](host)
		want, _ := media.Data[float32](rb.Meta().Frames[1].Tensors[0].Layers[name])
		if len(got) != len(want) {
			t.Fatalf("layer %s: %d values, CPU %d", name, len(got), len(want))
		}
		if name == "scores" && math.Abs(float64(got[0]-want[0])) > 0.01 {
			t.Errorf("best score %v on the GPU, %v on the CPU", got[0], want[0])
		}
	}
	if d, _ := gpu.Allocations(); d < 6 {
		t.Errorf("%d device allocations with the tensors of 2 frames alive", d)
	}
	b.Release()
	rb.Release()
	r.close()
	if d, h := gpu.Allocations(); d != 0 || h != 0 {
		t.Errorf("%d device and %d host allocations left after close", d, h)
	}
}

// execution-provider cuda without a usable GPU is an error naming the key
// and the cause; auto runs on the CPU and says why.
func TestCUDAWithoutGPU(t *testing.T) {
	if gpu.Load() == nil {
		t.Skip("this machine has a GPU")
	}
	_, err := gpuConfig(t, nil)
	if err == nil || !strings.Contains(err.Error(), "execution-provider") || !strings.Contains(err.Error(), "no CUDA GPU") {
		t.Fatalf("execution-provider cuda without a GPU: %v", err)
	}
	e, err := gpuConfig(t, element.Props{"execution-provider": "auto", "batch-size": 2})
	if err != nil {
		t.Fatal(err)
	}
	if e.provider != "cpu" || !strings.Contains(e.fallback, "on the CPU") || !strings.Contains(e.fallback, "no CUDA GPU") {
		t.Fatalf("auto: provider %s, fallback %q", e.provider, e.fallback)
	}
	r, err := e.start()
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if objs := detectOn(t, r, "dog.jpg"); len(objs) < 3 {
		t.Errorf("auto on the CPU: %d objects on dog.jpg", len(objs))
	}
	if _, err := gpuConfig(t, element.Props{"execution-provider": "tpu"}); err == nil || !strings.Contains(err.Error(), "execution-provider") {
		t.Errorf("execution-provider tpu: %v", err)
	}
}

// Images scaled by several goroutines land in the same slots, with the
// same results, as scaled one after another.
func TestPreprocessWorkers(t *testing.T) {
	objects := func(workers int) [][]*media.ObjectMeta {
		e := centerNet(t, element.Props{"batch-size": 4, "intra-op-threads": 1, "preprocess-workers": workers})
		r, err := e.start()
		if err != nil {
			t.Fatal(err)
		}
		defer r.close()
		b := photoBatch(t, "dog.jpg", 4)
		defer b.Release()
		// Different images in the slots: a frame cropped differently each.
		for i, fm := range b.Meta().Frames {
			fm.Width -= 40 * i
			s, _ := b.Surface(i)
			s.Width = fm.Width
		}
		if err := r.process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		var out [][]*media.ObjectMeta
		for _, fm := range b.Meta().Frames {
			out = append(out, fm.Objects)
		}
		return out
	}
	one, three := objects(1), objects(3)
	for i := range one {
		sameObjects(t, "frame "+string(rune('0'+i)), three[i], one[i], 0, 0)
	}
	if _, err := newElement(t, t.TempDir(), "c.yml", "property:\n  onnx-file: m.onnx\n", element.Props{"preprocess-workers": -1}); err == nil {
		t.Error("preprocess-workers -1 accepted")
	}
}

// BenchmarkPreprocessWorkers scales a batch of 8 photos into the input
// tensor with 1 and 2 goroutines.
func BenchmarkPreprocessWorkers(b *testing.B) {
	for _, w := range []int{1, 2} {
		b.Run(string(rune('0'+w)), func(b *testing.B) {
			e := centerNet(b, element.Props{"batch-size": 8, "intra-op-threads": 1, "preprocess-workers": w})
			r, err := e.start()
			if err != nil {
				b.Fatal(err)
			}
			defer r.close()
			buf := photoBatch(b, "dog.jpg", 8)
			defer buf.Release()
			slots := make([]slot, 8)
			for i, fm := range buf.Meta().Frames {
				slots[i] = slot{fm: fm, roi: region{0, 0, fm.Width, fm.Height}}
			}
			b.ResetTimer()
			for range b.N {
				if err := r.fillAll(buf, slots); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*8), "µs/image")
		})
	}
}
