package infer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

func needORT(t testing.TB) {
	t.Helper()
	if _, err := InitORT(""); err != nil {
		t.Skipf("ONNX Runtime not available (%v); run scripts/setup-model.sh to enable this test", err)
	}
}

// newElement makes an nvinfer element for a config text written into dir.
// startRunner makes the element of config text (written as dir/name) and
// starts one runner, closed when the test ends.
func startRunner(t testing.TB, dir, name, text string, props element.Props) *runner {
	t.Helper()
	e, err := newElement(t, dir, name, text, props)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

func newElement(t testing.TB, dir, name, text string, props element.Props) (*nvinfer, error) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := testKinds().Lookup("infer")
	if err != nil {
		t.Fatal(err)
	}
	if props == nil {
		props = element.Props{}
	}
	props["config-file-path"] = path
	c, err := element.NewConfig(spec, "infer-test", props)
	if err != nil {
		return nil, err
	}
	e, err := New(c)
	if err != nil {
		return nil, err
	}
	return e.(*nvinfer), nil
}

// batch makes a buffer of black RGB frames of the given size.
func batch(n, w, h int) *media.Buffer {
	frames := make([]*media.Frame, n)
	for i := range frames {
		frames[i] = media.NewFrame(media.PackedSurface(media.RGB, w, h, make([]byte, w*h*3)), nil)
	}
	b := media.NewBatch(frames, nil)
	for i, fm := range b.Meta().Frames {
		fm.SourceID = i
	}
	return b
}

// yoloV8Output is a [4+C, A] output with one box (class 5, score 0.9)
// at centre (32, 32), 16x8 network pixels, and background elsewhere.
func yoloV8Output(classes, anchors int) []float32 {
	out := make([]float32, (4+classes)*anchors)
	out[0], out[anchors], out[2*anchors], out[3*anchors] = 32, 32, 16, 8
	out[(4+5)*anchors] = 0.9
	return out
}

func transpose(v []float32, rows, cols int) []float32 {
	t := make([]float32, len(v))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = v[r*cols+c]
		}
	}
	return t
}

// A YOLO detector's box comes back in frame pixels: stretched, or
// letterboxed (maintain-aspect-ratio, with and without symmetric padding).
func TestYOLODetectorMapsBoxesToFrames(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	const classes, anchors = 8, 3
	v8 := yoloV8Output(classes, anchors)
	// v5: [A, 5+C] rows with objectness 1.
	v5 := make([]float32, anchors*(5+classes))
	copy(v5, []float32{32, 32, 16, 8, 1})
	v5[5+5] = 0.9
	models := map[string]*onnxtest.Graph{
		"v8.onnx":  onnxtest.ConstantDetector(64, 4+classes, anchors, v8),
		"v8t.onnx": onnxtest.ConstantDetector(64, anchors, 4+classes, transpose(v8, 4+classes, anchors)),
		"v5.onnx":  onnxtest.ConstantDetector(64, anchors, 5+classes, v5),
	}
	for name, g := range models {
		if err := g.Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	labels := "a\nb\nc\nd\ne\nfive\ng\nh\n"
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), []byte(labels), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, model, extra string
		want               media.Rect
	}{
		// 128x96 frame stretched to 64x64: x ×2, y ×1.5.
		{"v8 stretch", "v8.onnx", "parse-bbox-func-name=yolov8\n", media.Rect{Left: 48, Top: 42, Width: 32, Height: 12}},
		{"v8 guessed", "v8.onnx", "", media.Rect{Left: 48, Top: 42, Width: 32, Height: 12}},
		{"v8 transposed", "v8t.onnx", "parse-bbox-func-name=NvDsInferParseYoloV8\n", media.Rect{Left: 48, Top: 42, Width: 32, Height: 12}},
		{"v5", "v5.onnx", "parse-bbox-func-name=NvDsInferParseCustomYoloV5\n", media.Rect{Left: 48, Top: 42, Width: 32, Height: 12}},
		// Letterboxed: scale 0.5, the image fills rows 0..48 (or 8..56).
		{"v8 letterbox", "v8.onnx", "maintain-aspect-ratio=1\n", media.Rect{Left: 48, Top: 56, Width: 32, Height: 16}},
		{"v8 letterbox symmetric", "v8.onnx", "maintain-aspect-ratio=1\nsymmetric-padding=1\n", media.Rect{Left: 48, Top: 40, Width: 32, Height: 16}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := "[property]\nonnx-file=" + c.model + "\nlabelfile-path=labels.txt\nnum-detected-classes=8\ncluster-mode=2\ngie-unique-id=4\nbatch-size=2\n" + c.extra
			r := startRunner(t, dir, "c.txt", text, nil)
			b := batch(3, 128, 96) // two runs: 2 frames, then 1
			defer b.Release()
			if err := r.process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			for i, fm := range b.Meta().Frames {
				if len(fm.Objects) != 1 {
					t.Fatalf("frame %d: %d objects", i, len(fm.Objects))
				}
				o := fm.Objects[0]
				if o.ClassID != 5 || o.Label != "five" || o.ComponentID != 4 || !approx(o.Confidence, 0.9) || !rectNear(o.Rect, c.want) {
					t.Errorf("frame %d: %+v, want box %+v", i, o, c.want)
				}
			}
		})
	}
}

func rectNear(a, b media.Rect) bool {
	return approx(a.Left, b.Left) && approx(a.Top, b.Top) && approx(a.Width, b.Width) && approx(a.Height, b.Height)
}

// A secondary detector finds objects inside objects: boxes are mapped from
// the crop into the frame and point to their parent.
func TestSecondaryDetector(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	if err := onnxtest.ConstantDetector(64, 12, 3, yoloV8Output(8, 3)).Write(filepath.Join(dir, "v8.onnx")); err != nil {
		t.Fatal(err)
	}
	e, err := newElement(t, dir, "c.yml", `property:
  onnx-file: v8.onnx
  process-mode: 2
  gie-unique-id: 2
  operate-on-gie-id: 1
  input-object-min-width: 10
  cluster-mode: 4
  num-detected-classes: 8
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.start()
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	b := batch(1, 200, 100)
	defer b.Release()
	fm := b.Meta().Frames[0]
	parent := media.NewObject(0, "car", 0.8, media.Rect{Left: 100, Top: 20, Width: 64, Height: 32})
	parent.ComponentID = 1
	small := media.NewObject(0, "car", 0.8, media.Rect{Left: 0, Top: 0, Width: 8, Height: 8})
	small.ComponentID = 1
	other := media.NewObject(0, "car", 0.8, media.Rect{Left: 0, Top: 50, Width: 64, Height: 32})
	other.ComponentID = 3
	fm.Objects = []*media.ObjectMeta{parent, small, other}
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(fm.Objects) != 4 {
		t.Fatalf("%d objects", len(fm.Objects))
	}
	child := fm.Objects[3]
	// Crop 64x32 → 64x64: x ×1, y ×0.5, offset (100, 20).
	want := media.Rect{Left: 124, Top: 34, Width: 16, Height: 4}
	if child.Parent != parent || child.ComponentID != 2 || !rectNear(child.Rect, want) {
		t.Errorf("child %+v, want box %+v with parent", child, want)
	}
}

// A Go parser registered by name is used by configs naming it.
func TestRegisteredParser(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	if err := onnxtest.ConstantDetector(64, 2, 3, []float32{1, 2, 3, 4, 5, 6}).Write(filepath.Join(dir, "m.onnx")); err != nil {
		t.Fatal(err)
	}
	err := RegisterBBoxParser("testCorners", func(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
		if len(layers) != 1 || !slices.Equal(layers[0].Dims, []int{2, 3}) || info.NetWidth != 64 || info.Classes != 1 {
			panic("unexpected layers")
		}
		d := layers[0].Data
		return append(dst[:0], bbox.Detection{ClassID: 0, Score: 0.5, X1: d[0], Y1: d[1], X2: d[3] * 10, Y2: d[5] * 10}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := RegisterBBoxParser("TESTCORNERS", nil); err == nil {
		t.Error("registered nil / twice")
	}
	r := startRunner(t, dir, "c.txt", "[property]\nonnx-file=m.onnx\nparse-bbox-func-name=testcorners\nnum-detected-classes=1\ncluster-mode=4\n", nil)
	b := batch(1, 64, 64)
	defer b.Release()
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if o := b.Meta().Frames[0].Objects; len(o) != 1 || o[0].Rect != (media.Rect{Left: 1, Top: 2, Width: 39, Height: 58}) {
		t.Errorf("objects %+v", o)
	}
	// A parser that panics is an error, not a crash.
	r.nvinfer.cfg.NumDetectedClasses = 2
	if err := r.process(context.Background(), b); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("panicking parser: %v", err)
	}
}

func TestElementPropsOverrideConfig(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	if err := onnxtest.MeanColorClassifier(8).Write(filepath.Join(dir, "m.onnx")); err != nil {
		t.Fatal(err)
	}
	e, err := newElement(t, dir, "c.txt", "[property]\nonnx-file=m.onnx\nnetwork-type=1\nbatch-size=2\n", element.Props{
		"batch-size": 8, "unique-id": 9, "process-mode": 2, "infer-on-gie-id": 1, "operate-on-class-ids": "0:2",
		"interval": 3, "output-tensor-meta": true, "intra-op-threads": 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := e.cfg
	if c.BatchSize != 8 || c.UniqueID != 9 || c.ProcessMode != 2 || c.OperateOnGIEID != 1 || !slices.Equal(c.OperateOnClassIDs, []int{0, 2}) ||
		c.Interval != 3 || !c.OutputTensorMeta || c.IntraOpThreads != 1 {
		t.Errorf("config %+v", c)
	}
	for _, bad := range []element.Props{{"process-mode": 3}, {"operate-on-class-ids": "a:b"}, {"execution-provider": "tpu"}, {"interval": -1}} {
		if _, err := newElement(t, dir, "c.txt", "[property]\nonnx-file=m.onnx\nnetwork-type=1\n", bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := newElement(t, dir, "c.txt", "[property]\nonnx-file=m.onnx\nnetwork-type=1\n", element.Props{"ort-library": "/nonexistent/libonnxruntime.so"}); err == nil {
		t.Error("another ORT library accepted")
	}
}

// A model with a fixed batch size runs padded batches; a larger
// configured batch is split.
func TestFixedBatchModel(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	g := &onnxtest.Graph{}
	g.Input("input", 2, 3, 8, 8)
	g.Output("probs", 2, 3)
	g.Floats("k", nil, []float32{20})
	g.Node("ReduceMean", []string{"input"}, []string{"mean"}, onnxtest.IntsAttr("axes", 2, 3), onnxtest.IntAttr("keepdims", 0))
	g.Node("Mul", []string{"mean", "k"}, []string{"logits"})
	g.Node("Softmax", []string{"logits"}, []string{"probs"}, onnxtest.IntAttr("axis", 1))
	if err := g.Write(filepath.Join(dir, "m.onnx")); err != nil {
		t.Fatal(err)
	}
	r := startRunner(t, dir, "c.txt", "[property]\nonnx-file=m.onnx\nnetwork-type=1\nnet-scale-factor=0.0039215686\n", element.Props{"batch-size": 3})
	if r.batch != 2 {
		t.Errorf("run batch %d, want the model's 2", r.batch)
	}
	b := batch(3, 16, 16)
	defer b.Release()
	for i := 0; i < 3; i++ { // frame i is pure red, green or blue
		s, _ := b.Surface(i)
		for p := i; p < len(s.Data); p += 3 {
			s.Data[p] = 255
		}
	}
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for i, fm := range b.Meta().Frames {
		cls, _ := fm.User[media.UserClassifications].([]media.Classification)
		if len(cls) != 1 || cls[0].ClassID != i {
			t.Errorf("frame %d: %+v", i, cls)
		}
	}
}

func TestORTLibrarySearch(t *testing.T) {
	t.Setenv(EnvORTLibrary, "/nonexistent/libonnxruntime.so.1")
	if _, err := findORTLibrary(""); err == nil || !strings.Contains(err.Error(), "VIDFLOW_ORT_LIB") {
		t.Errorf("bad env: %v", err)
	}
	if _, err := findORTLibrary("/nonexistent/x.so"); err == nil || !strings.Contains(err.Error(), "ort-library") {
		t.Errorf("bad explicit: %v", err)
	}
	t.Setenv(EnvORTLibrary, "")
	t.Setenv("VIDFLOW_CACHE", t.TempDir())
	t.Setenv("LD_LIBRARY_PATH", "")
	lib, err := findORTLibrary("")
	if err == nil {
		t.Logf("found a system library: %s", lib)
	} else if !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "setup-model.sh") {
		t.Errorf("missing library: %v", err)
	}
	c := ORTLibraryCandidates("/x/lib.so")
	if c[0] != "/x/lib.so" || !strings.HasPrefix(c[1], config.CacheDir()) {
		t.Errorf("candidates %v", c)
	}
}

// centerNet returns an element running the default detector from the
// cache, or skips.
func centerNet(t testing.TB, props element.Props) *nvinfer {
	t.Helper()
	dir := config.CacheDir()
	for _, p := range []string{"models/centernet/centernet.onnx", "models/centernet/labels.txt"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Skipf("%s not in the cache; run scripts/setup-model.sh", p)
		}
	}
	needORT(t)
	data, err := os.ReadFile("../../../configs/config_infer_primary.yml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := newElement(t, t.TempDir(), "c.yml", string(data), props)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The hot path allocates only the metadata it attaches: no memory per
// frame for pixels or tensors.
func TestCenterNetHotPathAllocations(t *testing.T) {
	e := centerNet(t, element.Props{"batch-size": 2, "intra-op-threads": 1})
	r, err := e.start()
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	b := batch(2, 640, 360)
	defer b.Release()
	allocs := testing.AllocsPerRun(3, func() {
		for _, fm := range b.Meta().Frames {
			fm.Objects = fm.Objects[:0]
		}
		if err := r.process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	})
	objects := len(b.Meta().Frames[0].Objects) + len(b.Meta().Frames[1].Objects)
	t.Logf("%.0f allocations per batch of 2 (%d objects)", allocs, objects)
	if allocs > float64(objects) { // one ObjectMeta each, nothing else
		t.Errorf("%.0f allocations per batch of 2 frames", allocs)
	}
}

// A detector's labels and num-detected-classes must agree with its outputs.
func TestDetectorClassChecks(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	if err := onnxtest.ConstantDetector(64, 12, 3, yoloV8Output(8, 3)).Write(filepath.Join(dir, "v8.onnx")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "three.txt"), []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ extra, want string }{
		{"labelfile-path=three.txt\nnum-detected-classes=8\n", "c.txt:3: [property] labelfile-path: " + filepath.Join(dir, "three.txt") + " has 3 labels, the model has 8 classes"},
		{"parse-bbox-func-name=yolov8\nnum-detected-classes=5\n", "YOLOv8 output [12 3] is neither [4+C, A] nor [A, 4+C] (C = 5)"},
		{"parse-bbox-func-name=yolov5\n", "YOLOv5 output [12 3] is not [A, 5+C]"},
		{"parse-bbox-func-name=centernet\n", "CenterNet needs a heat-map layer"},
	} {
		_, err := newElement(t, dir, "c.txt", "[property]\nonnx-file=v8.onnx\n"+c.extra, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.extra, err, c.want)
		}
	}
}

// testKinds is a registry of this package's kinds.
func testKinds() *element.Registry {
	r := element.NewRegistry()
	Register(r)
	return r
}
