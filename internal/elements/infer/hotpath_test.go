package infer

import (
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// The per-batch hot path (preprocessing into the input tensor, the ONNX
// Runtime call through an IoBinding, parsing, clustering, mapping) must
// allocate nothing but the objects it attaches: one ObjectMeta each. The
// frames' Objects slices are kept between runs here, so that their growth
// does not count (in a pipeline each buffer's slice grows once).

// countObjects empties the frames' object lists, keeping their memory, and
// returns how many objects they had.
func resetObjects(b *media.Buffer) int {
	n := 0
	for _, fm := range b.Meta().Frames {
		n += len(fm.Objects)
		clear(fm.Objects)
		fm.Objects = fm.Objects[:0]
	}
	return n
}

// steadyAllocs runs process on b until it is warm, then returns the
// allocations per batch beyond one per object, and the objects per batch.
func steadyAllocs(t testing.TB, r *runner, b *media.Buffer) (extra float64, objects int) {
	t.Helper()
	for i := 0; i < 2; i++ {
		resetObjects(b)
		if err := r.process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	objects = resetObjects(b)
	allocs := testing.AllocsPerRun(5, func() {
		resetObjects(b)
		if err := r.process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	})
	return allocs - float64(objects), objects
}

// hotPathModels writes constant-output detectors of each built-in family
// but CenterNet (SSD, DetectNet_v2, YOLOv8) and returns their configs.
func hotPathModels(t testing.TB, dir string) map[string]string {
	t.Helper()
	cov, bbox := make([]float32, 2*16), make([]float32, 8*16)
	for _, cell := range []int{1, 6, 11} { // three boxes of class 1
		cov[16+cell] = 0.8
		for k := 4; k < 8; k++ {
			bbox[k*16+cell] = 0.2
		}
	}
	models := map[string]*onnxtest.Graph{
		"ssd.onnx": onnxtest.ConstantOutputs(64,
			onnxtest.Const{Name: "detection_boxes", Dims: []int64{3, 4}, Data: []float32{0.1, 0.1, 0.4, 0.4, 0.5, 0.5, 0.9, 0.9, 0.1, 0.6, 0.3, 0.9}},
			onnxtest.Const{Name: "detection_scores", Dims: []int64{3}, Data: []float32{0.9, 0.8, 0.7}},
			onnxtest.Const{Name: "detection_classes", Dims: []int64{3}, Data: []float32{1, 2, 1}},
			onnxtest.Const{Name: "num_detections", Data: []float32{3}}),
		"dn.onnx": onnxtest.ConstantOutputs(64,
			onnxtest.Const{Name: "output_cov/Sigmoid", Dims: []int64{2, 4, 4}, Data: cov},
			onnxtest.Const{Name: "output_bbox/BiasAdd", Dims: []int64{8, 4, 4}, Data: bbox}),
		"v8.onnx": onnxtest.ConstantDetector(64, 12, 3, yoloV8Output(8, 3)),
	}
	for name, g := range models {
		if err := g.Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{
		"ssd":       "[property]\nonnx-file=ssd.onnx\nnum-detected-classes=3\ncluster-mode=2\n",
		"detectnet": "[property]\nonnx-file=dn.onnx\ncluster-mode=2\n",
		"yolov8":    "[property]\nonnx-file=v8.onnx\nnum-detected-classes=8\n", // cluster-mode 0: NMS, topk 20
	}
}

func TestHotPathAllocatesOnlyObjects(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	for name, cfg := range hotPathModels(t, dir) {
		t.Run(name, func(t *testing.T) {
			r := startRunner(t, dir, name+".txt", cfg, element.Props{"batch-size": 2, "intra-op-threads": 1})
			b := batch(3, 160, 120) // two runs: 2 frames, then 1
			defer b.Release()
			extra, objects := steadyAllocs(t, r, b)
			t.Logf("%d objects a batch of 3 frames, %.1f allocations beyond them", objects, extra)
			if objects < 3 || extra != 0 {
				t.Errorf("%d objects, %.1f allocations beyond one per object", objects, extra)
			}
		})
	}
	t.Run("centernet", func(t *testing.T) {
		r, b := centerNetOnPhoto(t)
		defer r.close()
		defer b.Release()
		extra, objects := steadyAllocs(t, r, b)
		t.Logf("%d objects a batch of 2 frames of dog.jpg, %.1f allocations beyond them", objects, extra)
		if objects < 6 || extra != 0 {
			t.Errorf("%d objects, %.1f allocations beyond one per object", objects, extra)
		}
	})
}

// centerNetOnPhoto returns a started default detector (batch 2, one
// thread) and a batch of two frames of darknet's dog.jpg, or skips.
func centerNetOnPhoto(t testing.TB) (*runner, *media.Buffer) {
	t.Helper()
	e := centerNet(t, element.Props{"batch-size": 2, "intra-op-threads": 1})
	b := photoBatch(t, "dog.jpg", 2)
	r, err := e.start()
	if err != nil {
		b.Release()
		t.Fatal(err)
	}
	return r, b
}

// photoBatch returns a batch of n frames of one of darknet's photos from
// the set-up cache, or skips.
func photoBatch(t testing.TB, name string, n int) *media.Buffer {
	t.Helper()
	photo := filepath.Join(config.CacheDir(), "media", "images", name)
	fh, err := os.Open(photo)
	if err != nil {
		t.Skipf("%s: %v; run scripts/setup.sh", photo, err)
	}
	defer fh.Close()
	img, err := jpeg.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	b := batch(n, w, h)
	for i := 0; i < n; i++ {
		s, _ := b.Surface(i)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				p := s.Data[y*s.Strides[0]+3*x:]
				p[0], p[1], p[2] = byte(cr>>8), byte(cg>>8), byte(cb>>8)
			}
		}
	}
	return b
}

// benchProcess measures runner.process on one batch, over and over. The
// objects are counted as attached, then dropped (their list kept).
func benchProcess(b *testing.B, r *runner, buf *media.Buffer) {
	b.Helper()
	resetObjects(buf)
	if err := r.process(context.Background(), buf); err != nil { // first use: tensors made
		b.Fatal(err)
	}
	objects := resetObjects(buf)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resetObjects(buf)
		if err := r.process(context.Background(), buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(objects), "objects/op")
}

// BenchmarkProcess runs the element on one batch in a loop: the default
// detector on 2 frames of dog.jpg (when the set-up cache has it), and the
// constant-output SSD, DetectNet_v2 and YOLOv8 models on 3 frames.
// allocs/op must equal objects/op.
func BenchmarkProcess(b *testing.B) {
	b.Run("centernet", func(b *testing.B) {
		r, buf := centerNetOnPhoto(b)
		defer r.close()
		defer buf.Release()
		benchProcess(b, r, buf)
	})
	needORT(b)
	dir := b.TempDir()
	for _, name := range []string{"ssd", "detectnet", "yolov8"} {
		cfg := hotPathModels(b, dir)[name]
		b.Run(name, func(b *testing.B) {
			e, err := newElement(b, dir, name+".txt", cfg, element.Props{"batch-size": 2, "intra-op-threads": 1})
			if err != nil {
				b.Fatal(err)
			}
			r, err := e.start()
			if err != nil {
				b.Fatal(err)
			}
			defer r.close()
			buf := batch(3, 160, 120)
			defer buf.Release()
			benchProcess(b, r, buf)
		})
	}
}
