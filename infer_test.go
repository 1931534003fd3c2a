package vidflow_test

import (
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// End-to-end tests of Infer with the default detector on real photos.
// They need what scripts/setup-model.sh puts in the cache and skip
// otherwise.

const (
	yamlConfig = "configs/config_infer_primary.yml"
	iniConfig  = "configs/config_infer_primary.txt"
)

// needORT skips the test when the ONNX Runtime library is not found.
func needORT(t testing.TB) {
	t.Helper()
	if _, err := infer.InitORT(""); err != nil {
		t.Skipf("ONNX Runtime not available (%v); run scripts/setup-model.sh to enable this test", err)
	}
}

// needModel skips the test when the default detector, its labels or the
// sample photos are not in the cache. It returns the photos' folder.
func needModel(t testing.TB) string {
	t.Helper()
	dir := config.CacheDir()
	images := filepath.Join(dir, "media", "images")
	for _, p := range []string{
		filepath.Join(dir, "models", "centernet", "centernet.onnx"),
		filepath.Join(dir, "models", "centernet", "labels.txt"),
		filepath.Join(images, "dog.jpg"), filepath.Join(images, "person.jpg"), filepath.Join(images, "horses.jpg"),
	} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not in the cache; run scripts/setup-model.sh to enable this test", p)
		}
	}
	needORT(t)
	return images
}

// photoProvider generates n frames of one JPEG photo.
type photoProvider struct {
	data []byte
	n, i int
}

func photo(t testing.TB, dir, name string, n int) *photoProvider {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return &photoProvider{data: data, n: n}
}

func (p *photoProvider) Info() media.StreamInfo { return media.StreamInfo{Format: media.JPEG} }

func (p *photoProvider) Generate(context.Context) (*media.Buffer, error) {
	if p.i >= p.n {
		return nil, io.EOF
	}
	p.i++
	return media.NewBuffer(p.data), nil
}

// frameResult is what a retriever keeps of a frame.
type frameResult struct {
	source        int
	number        int64
	width, height int
	objects       []media.ObjectMeta
	tensors       []*media.TensorMeta
}

// results collects the frames reaching a Retrieve sink.
type results struct {
	mu     sync.Mutex
	frames []frameResult
}

func (r *results) Consume(b *media.Buffer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, fm := range b.Meta().Frames {
		fr := frameResult{source: fm.SourceID, number: fm.FrameNumber, width: fm.Width, height: fm.Height, tensors: fm.Tensors}
		for _, o := range fm.Objects {
			fr.objects = append(fr.objects, *o)
		}
		r.frames = append(r.frames, fr)
	}
	return nil
}

func (r *results) of(source int) []frameResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []frameResult
	for _, f := range r.frames {
		if f.source == source {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b frameResult) int { return int(a.number - b.number) })
	return out
}

// detect runs photos (one stream each, n frames) through Inject → Batch →
// Infer(config) → Retrieve.
func detect(t *testing.T, config string, providers []media.BufferProvider, batch []vidflow.Option, infer ...vidflow.Option) *results {
	t.Helper()
	g := runtime.NumGoroutine()
	res := &results{}
	p := vidflow.NewPipeline("infer-test")
	msgs := &messages{}
	p.OnMessage(msgs.add)
	f := vidflow.NewFlow(p).Inject(providers).
		Batch(append([]vidflow.Option{vidflow.BatchedPushTimeout(-1)}, batch...)...).
		Infer(config, infer...).
		Retrieve(res)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs.all() {
		if w, ok := m.(*element.WarningMessage); ok {
			t.Logf("warning from %s: %s", w.Element, w.Text)
		}
	}
	checkClean(t, g)
	return res
}

type wantObject struct {
	labels         []string // any of these
	x1, y1, x2, y2 float32  // reference box in the original photo's pixels
}

var (
	dogObjects = []wantObject{
		{[]string{"dog"}, 124, 207, 312, 543},
		{[]string{"bicycle"}, 111, 125, 564, 446},
		{[]string{"car", "truck"}, 473, 81, 684, 165},
	}
	personObjects = []wantObject{
		{[]string{"person"}, 187, 110, 276, 375},
		{[]string{"dog"}, 67, 264, 201, 348},
		{[]string{"horse", "sheep"}, 398, 136, 603, 342},
	}
)

// checkObjects checks each wanted object was found with IoU > 0.5; the
// reference boxes are scaled from the photo (pw×ph) to the frame's size.
func checkObjects(t *testing.T, name string, fr frameResult, pw, ph int, want []wantObject) {
	t.Helper()
	sx, sy := float32(fr.width)/float32(pw), float32(fr.height)/float32(ph)
	var b strings.Builder
	for _, o := range fr.objects {
		fmt.Fprintf(&b, "\n  %-10s %.3f (%.0f,%.0f)-(%.0f,%.0f) id %d", o.Label, o.Confidence, o.Rect.Left, o.Rect.Top, o.Rect.Right(), o.Rect.Bottom(), o.ComponentID)
	}
	t.Logf("%s in a %dx%d frame: %d objects%s", name, fr.width, fr.height, len(fr.objects), b.String())
	for _, w := range want {
		ref := media.Rect{Left: w.x1 * sx, Top: w.y1 * sy, Width: (w.x2 - w.x1) * sx, Height: (w.y2 - w.y1) * sy}
		best := float32(0)
		for _, o := range fr.objects {
			if slices.Contains(w.labels, o.Label) {
				best = max(best, o.Rect.IoU(ref))
			}
		}
		if best <= 0.5 {
			t.Errorf("%s: no %v with IoU > 0.5 near (%.0f,%.0f)-(%.0f,%.0f) (best %.2f)", name, w.labels, ref.Left, ref.Top, ref.Right(), ref.Bottom(), best)
		}
	}
	for _, o := range fr.objects {
		if o.ComponentID != 1 || o.TrackID != media.UntrackedID || o.Rect.Left < 0 || o.Rect.Top < 0 ||
			o.Rect.Right() > float32(fr.width)+0.01 || o.Rect.Bottom() > float32(fr.height)+0.01 {
			t.Errorf("%s: bad object %+v", name, o)
		}
	}
}

func TestInferDetectsObjectsInPhotos(t *testing.T) {
	dir := needModel(t)
	for _, c := range []struct {
		photo  string
		w, h   int
		want   []wantObject
		config string
	}{
		{"dog.jpg", 768, 576, dogObjects, yamlConfig},
		{"person.jpg", 640, 424, personObjects, yamlConfig},
	} {
		t.Run(c.photo, func(t *testing.T) {
			res := detect(t, c.config, []media.BufferProvider{photo(t, dir, c.photo, 1)}, nil)
			frames := res.of(0)
			if len(frames) != 1 {
				t.Fatalf("%d frames", len(frames))
			}
			if frames[0].width != c.w || frames[0].height != c.h {
				t.Fatalf("frame is %dx%d, want the photo's %dx%d", frames[0].width, frames[0].height, c.w, c.h)
			}
			checkObjects(t, c.photo, frames[0], c.w, c.h, c.want)
		})
	}
}

// Photos of different sizes in one batch: the batcher scales them to one
// size, the boxes come back in the batch's pixels.
func TestInferBatchOfPhotosOfDifferentSizes(t *testing.T) {
	dir := needModel(t)
	providers := []media.BufferProvider{
		photo(t, dir, "dog.jpg", 2), photo(t, dir, "person.jpg", 2), photo(t, dir, "horses.jpg", 2),
	}
	res := detect(t, yamlConfig, providers, []vidflow.Option{vidflow.Width(640), vidflow.Height(480)})
	for src, c := range []struct {
		name string
		w, h int
		want []wantObject
	}{{"dog.jpg", 768, 576, dogObjects}, {"person.jpg", 640, 424, personObjects}, {"horses.jpg", 773, 512, nil}} {
		frames := res.of(src)
		if len(frames) != 2 {
			t.Fatalf("%s: %d frames, want 2", c.name, len(frames))
		}
		for _, fr := range frames {
			if fr.width != 640 || fr.height != 480 {
				t.Errorf("%s: frame is %dx%d", c.name, fr.width, fr.height)
			}
			checkObjects(t, c.name, fr, c.w, c.h, c.want)
		}
		if c.name == "horses.jpg" {
			horses := 0
			for _, o := range frames[0].objects {
				if o.Label == "horse" {
					horses++
				}
			}
			if horses < 2 {
				t.Errorf("horses.jpg: %d horses found, want several", horses)
			}
		}
	}
}

// The YAML and INI forms of the default config give the same objects.
func TestInferConfigFormsAgree(t *testing.T) {
	dir := needModel(t)
	run := func(config string) []media.ObjectMeta {
		res := detect(t, config, []media.BufferProvider{photo(t, dir, "dog.jpg", 1)}, nil)
		return res.of(0)[0].objects
	}
	a, b := run(yamlConfig), run(iniConfig)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("YAML found %d objects, INI %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Label != b[i].Label || a[i].Rect != b[i].Rect || a[i].Confidence != b[i].Confidence {
			t.Errorf("object %d: YAML %+v, INI %+v", i, a[i], b[i])
		}
	}
}

// interval 2 infers every third batch; the others carry no objects.
func TestInferInterval(t *testing.T) {
	dir := needModel(t)
	res := detect(t, yamlConfig, []media.BufferProvider{photo(t, dir, "dog.jpg", 7)}, nil, vidflow.Props{"interval": 2})
	frames := res.of(0)
	if len(frames) != 7 {
		t.Fatalf("%d frames", len(frames))
	}
	for i, fr := range frames {
		if inferred := i%3 == 0; inferred != (len(fr.objects) > 0) {
			t.Errorf("frame %d: %d objects (inferred: %v)", i, len(fr.objects), inferred)
		}
	}
}

// The Service Maker quick start's tensor probe, in Go: with
// output-tensor-meta the raw layers reach a probe, which reads them.
func TestInferOutputTensorMeta(t *testing.T) {
	dir := needModel(t)
	var mu sync.Mutex
	var peaks []float32
	probe := vidflow.NewProbe("tensor-reader", func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			for _, tm := range fm.Tensors {
				heat := tm.Layers["heat"]
				if heat == nil {
					continue
				}
				data, err := media.Data[float32](heat)
				if err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				peaks = append(peaks, slices.Max(data))
				mu.Unlock()
			}
		}
	})
	res := &results{}
	p := vidflow.NewPipeline("tensor-meta")
	f := vidflow.NewFlow(p).Inject([]media.BufferProvider{photo(t, dir, "dog.jpg", 2)}).Batch().
		Infer(yamlConfig, vidflow.Props{"output_tensor_meta": true}).Attach(probe).Retrieve(res)
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, fr := range res.of(0) {
		if len(fr.tensors) != 1 {
			t.Fatalf("%d tensor metas", len(fr.tensors))
		}
		tm := fr.tensors[0]
		if tm.ComponentID != 1 || !slices.Equal(tm.Layers["heat"].Shape(), []int{80, 128, 128}) || !slices.Equal(tm.Layers["wh"].Shape(), []int{4, 128, 128}) {
			t.Errorf("tensor meta: id %d, heat %v, wh %v", tm.ComponentID, tm.Layers["heat"].Shape(), tm.Layers["wh"].Shape())
		}
	}
	// The car is the most confident object of dog.jpg (0.55).
	if len(peaks) != 2 || peaks[0] < 0.5 || peaks[0] != peaks[1] {
		t.Errorf("heat-map peaks %v", peaks)
	}
}

// colorConfig writes a secondary classifier config for a mean-colour
// classifier of 16x16 crops.
func colorConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	if err := onnxtest.MeanColorClassifier(16).Write(filepath.Join(dir, "color.onnx")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "colors.txt"), []byte("red;green;blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `property:
  onnx-file: color.onnx
  labelfile-path: colors.txt
  net-scale-factor: 0.00392156862745098
  network-type: 1
  process-mode: 2
  gie-unique-id: 2
  batch-size: 4
  classifier-threshold: 0.5
  classifier-type: color
` + extra
	path := filepath.Join(dir, "color.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// stripes are frames of three vertical stripes, red, green and blue, with
// an object on each stripe (and one more on blue, of another class).
type stripes struct{ n, i int }

func (s *stripes) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: 90, Height: 40}
}

func (s *stripes) Generate(context.Context) (*media.Buffer, error) {
	if s.i >= s.n {
		return nil, io.EOF
	}
	s.i++
	data := make([]byte, 90*40*3)
	for y := 0; y < 40; y++ {
		for x := 0; x < 90; x++ {
			data[(y*90+x)*3+x/30] = 200
		}
	}
	b := media.NewBuffer(data)
	for i, c := range []int{0, 0, 0, 7} {
		x := float32(i*30 + 5)
		if i == 3 {
			x = 65
		}
		o := media.NewObject(c, "thing", 0.9, media.Rect{Left: x, Top: 5, Width: 20, Height: 30})
		o.ComponentID = 1
		b.Meta().Frames[0].Objects = append(b.Meta().Frames[0].Objects, o)
	}
	return b, nil
}

// A secondary classifier (process-mode 2) labels the objects of the
// primary element (operate-on-gie-id 1, class 0 only).
func TestInferSecondaryClassifier(t *testing.T) {
	needORT(t)
	config := colorConfig(t, "  operate-on-gie-id: 1\n  operate-on-class-ids: 0\n")
	res := detect(t, config, []media.BufferProvider{&stripes{n: 3}}, nil)
	frames := res.of(0)
	if len(frames) != 3 {
		t.Fatalf("%d frames", len(frames))
	}
	for _, fr := range frames {
		for i, o := range fr.objects {
			want := []string{"red", "green", "blue", ""}[i]
			got := ""
			if len(o.Classifications) == 1 {
				c := o.Classifications[0]
				got = c.Label
				if c.ComponentID != 2 || c.Confidence < 0.9 || c.ClassID != i {
					t.Errorf("object %d: classification %+v", i, c)
				}
			} else if len(o.Classifications) > 1 {
				t.Errorf("object %d: %d classifications", i, len(o.Classifications))
			}
			if got != want {
				t.Errorf("frame %d object %d: classified %q, want %q", fr.number, i, got, want)
			}
		}
	}
}

// A detector then a secondary classifier, as in DeepStream's test2: every
// dog and car gets a colour verdict.
func TestInferPrimaryThenSecondary(t *testing.T) {
	dir := needModel(t)
	config := colorConfig(t, "  operate-on-gie-id: 1\n  operate-on-class-ids: 2;16\n  classifier-threshold: 0\n")
	res := &results{}
	p := vidflow.NewPipeline("pgie-sgie")
	f := vidflow.NewFlow(p).Inject([]media.BufferProvider{photo(t, dir, "dog.jpg", 1)}).Batch().
		Infer(yamlConfig).Infer(config).Retrieve(res)
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	classified := 0
	for _, o := range res.of(0)[0].objects {
		want := o.ClassID == 2 || o.ClassID == 16 // car, dog
		if got := len(o.Classifications) == 1; got != want {
			t.Errorf("%s: %d classifications", o.Label, len(o.Classifications))
		}
		if want {
			classified++
			t.Logf("%s looks %s (%.2f)", o.Label, o.Classifications[0].Label, o.Classifications[0].Confidence)
		}
	}
	if classified < 2 {
		t.Errorf("%d objects classified, want the dog and the car", classified)
	}
}

// Keys of DeepStream's engine that have no effect here are accepted and
// reported once, as a warning.
func TestInferWarnsOfIgnoredKeys(t *testing.T) {
	needORT(t)
	config := colorConfig(t, "  model-engine-file: color.onnx_b4_gpu0_fp16.engine\n  network-mode: 2\n")
	p := vidflow.NewPipeline("ignored")
	msgs := &messages{}
	p.OnMessage(msgs.add)
	f := vidflow.NewFlow(p).Inject([]media.BufferProvider{&stripes{n: 3}}).Batch().Infer(config).Retrieve(&results{})
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs.all() {
		if w, ok := m.(*element.WarningMessage); ok && strings.Contains(w.Text, "property/model-engine-file, property/network-mode") {
			n++
			if w.Element != "infer-infer-0" || !strings.Contains(w.Text, "color.yml") {
				t.Errorf("warning %+v", w)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d warnings about ignored keys, want 1", n)
	}
}

func TestInferBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := onnxtest.MeanColorClassifier(16).Write(filepath.Join(dir, "color.onnx")); err != nil {
		t.Fatal(err)
	}
	write("colors.txt", "red;green;blue\n")
	write("two.txt", "red\ngreen\n")
	base := "[property]\nonnx-file=color.onnx\nnetwork-type=1\n"
	cases := []struct {
		name, config string
		want         []string
	}{
		{"missing config", filepath.Join(dir, "nope.yml"), []string{"nope.yml", "doesn't exist"}},
		{"unknown key", write("unknown.txt", base+"batch-sise=4\n"), []string{"unknown.txt:4", "batch-sise", "unknown key", `did you mean "batch-size"`}},
		{"unknown class key", write("unknown2.yml", "property:\n  onnx-file: color.onnx\nclass-attrs-all:\n  min-boxes: 3\n"), []string{"unknown2.yml:4", "min-boxes", "minBoxes"}},
		{"malformed int", write("bad1.txt", base+"batch-size=four\n"), []string{"bad1.txt:4", "batch-size", "want an integer", "four"}},
		{"out of range", write("bad2.txt", base+"network-input-order=2\n"), []string{"bad2.txt:4", "network-input-order", "want one of 0, 1"}},
		{"malformed list", write("bad3.txt", base+"offsets=1;x;3\n"), []string{"bad3.txt:4", "offsets", "list of numbers"}},
		{"bad threshold", write("bad4.yml", "property:\n  onnx-file: color.onnx\nclass-attrs-all:\n  nms-iou-threshold: 1.5\n"), []string{"bad4.yml:4", "nms-iou-threshold", "out of range"}},
		{"missing onnx", write("noonnx.txt", "[property]\nonnx-file=missing.onnx\n"), []string{"noonnx.txt:2", "onnx-file", "missing.onnx", "does not exist"}},
		{"no onnx key", write("nokey.txt", "[property]\nmodel-engine-file=m.engine\n"), []string{"nokey.txt", "onnx-file", "vidflow runs ONNX models", "TensorRT engine"}},
		{"labels count", write("labels.txt", base+"labelfile-path=two.txt\n"), []string{"labels.txt:4", "labelfile-path", "2 labels", "3 classes"}},
		{"input shape", write("dims.txt", base+"infer-dims=3;32;32\n"), []string{"dims.txt:4", "infer-dims", "does not match", "[?,3,16,16]"}},
		{"input order", write("order.txt", base+"network-input-order=1\n"), []string{"order.txt:4", "network-input-order", "16 channels", "NCHW"}},
		{"corrupt model", write("corrupt.txt", "[property]\nonnx-file=two.txt\n"), []string{"corrupt.txt:2", "onnx-file", "cannot load model"}},
		{"unknown parser", write("parser.txt", "[property]\nonnx-file=color.onnx\nparse-bbox-func-name=NvDsInferParseMine\n"), []string{"parser.txt:3", "NvDsInferParseMine", "no parser"}},
		{"no group", write("nogroup.yml", "onnx-file: color.onnx\n"), []string{"nogroup.yml", "want a mapping of keys"}},
	}
	// These need ONNX Runtime to read the model; the others fail before.
	needModel := map[string]bool{"labels count": true, "input shape": true, "input order": true, "corrupt model": true, "unknown parser": true}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if needModel[c.name] {
				needORT(t)
			}
			p := vidflow.NewPipeline("bad")
			// Unknown keys are warnings, as in DeepStream; strict-config
			// makes them the errors these cases check.
			f := vidflow.NewFlow(p).Inject([]media.BufferProvider{&stripes{n: 1}}).Batch().
				Infer(c.config, vidflow.Props{"strict-config": true}).Retrieve(&results{})
			err := f.Err()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("not batched", func(t *testing.T) {
		p := vidflow.NewPipeline("bad")
		err := vidflow.NewFlow(p).Inject([]media.BufferProvider{&stripes{n: 1}}).Infer(write("ok.txt", base)).Err()
		if err == nil || !strings.Contains(err.Error(), "not batched") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("unknown property", func(t *testing.T) {
		p := vidflow.NewPipeline("bad")
		err := vidflow.NewFlow(p).Inject([]media.BufferProvider{&stripes{n: 1}}).Batch().
			Infer(write("ok.txt", base), vidflow.Props{"bogus-prop": 1}).Err()
		if err == nil || !strings.Contains(err.Error(), "bogus-prop") {
			t.Errorf("error %v", err)
		}
	})
}

// rawProvider hands out the same decoded RGB pixels n times, so that a
// benchmark measures the pipeline, not JPEG decoding.
type rawProvider struct {
	data []byte
	w, h int
	n, i int
}

func (p *rawProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: p.w, Height: p.h}
}

func (p *rawProvider) Generate(context.Context) (*media.Buffer, error) {
	if p.i >= p.n {
		return nil, io.EOF
	}
	p.i++
	return media.NewBuffer(p.data), nil
}

func decodeRGB(b *testing.B, path string) (data []byte, w, h int) {
	b.Helper()
	fh, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	img, err := jpeg.Decode(fh)
	if err != nil {
		b.Fatal(err)
	}
	r := img.Bounds()
	w, h = r.Dx(), r.Dy()
	data = make([]byte, 0, w*h*3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			data = append(data, byte(cr>>8), byte(cg>>8), byte(cb>>8))
		}
	}
	return data, w, h
}

// BenchmarkInferCenterNet measures the default detector through the
// pipeline (Inject → Batch → Infer → Retrieve, 768x576 frames of dog.jpg,
// so preprocessing, inference and parsing) at batch 1 and 4, with 1 and 2
// intra-op threads, beside the same model run bare by ONNX Runtime on a
// ready input tensor ("bare"). Metrics: ms/frame, and allocations per
// batch (b.N counts batches).
func BenchmarkInferCenterNet(b *testing.B) {
	dir := needModel(b)
	data, w, h := decodeRGB(b, filepath.Join(dir, "dog.jpg"))
	model := filepath.Join(config.CacheDir(), "models", "centernet", "centernet.onnx")
	for _, threads := range []int{1, 2} {
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("threads%d/batch%d/pipeline", threads, batch), func(b *testing.B) {
				// One more batch than measured: the timer starts when the
				// first leaves, after the session was opened and warmed up.
				providers := make([]media.BufferProvider, batch)
				for i := range providers {
					providers[i] = &rawProvider{data: data, w: w, h: h, n: b.N + 1}
				}
				res := &countRetriever{first: make(chan struct{})}
				p := vidflow.NewPipeline("bench")
				f := vidflow.NewFlow(p).Inject(providers).Batch(vidflow.BatchedPushTimeout(-1)).
					Infer(yamlConfig, vidflow.Props{"intra-op-threads": threads}).Retrieve(res)
				if err := f.Err(); err != nil {
					b.Fatal(err)
				}
				if err := p.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				<-res.first
				b.ReportAllocs()
				b.ResetTimer()
				if err := p.Wait(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if frames := batch * (b.N + 1); res.frames != frames || res.objects < 3*frames {
					b.Fatalf("%d frames, %d objects; want %d frames with objects", res.frames, res.objects, frames)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(batch*b.N), "ms/frame")
			})
			b.Run(fmt.Sprintf("threads%d/batch%d/bare", threads, batch), func(b *testing.B) {
				opts, err := ort.NewSessionOptions()
				if err != nil {
					b.Fatal(err)
				}
				defer opts.Destroy()
				if err := opts.SetIntraOpNumThreads(threads); err != nil {
					b.Fatal(err)
				}
				if err := opts.SetInterOpNumThreads(1); err != nil {
					b.Fatal(err)
				}
				in, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), 512, 512, 3))
				if err != nil {
					b.Fatal(err)
				}
				defer in.Destroy()
				heat, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), 80, 128, 128))
				if err != nil {
					b.Fatal(err)
				}
				defer heat.Destroy()
				wh, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), 4, 128, 128))
				if err != nil {
					b.Fatal(err)
				}
				defer wh.Destroy()
				s, err := ort.NewAdvancedSession(model, []string{"images"}, []string{"heat", "wh"}, []ort.Value{in}, []ort.Value{heat, wh}, opts)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Destroy()
				if err := s.Run(); err != nil { // warm-up, as the element does
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := s.Run(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(batch*b.N), "ms/frame")
			})
		}
	}
}

type countRetriever struct {
	frames, objects int
	first           chan struct{} // closed when the first buffer arrives, if not nil
}

func (c *countRetriever) Consume(b *media.Buffer) error {
	if c.frames == 0 && c.first != nil {
		close(c.first)
	}
	c.frames += b.BatchSize()
	for _, fm := range b.Meta().Frames {
		c.objects += len(fm.Objects)
	}
	return nil
}

// The default detector on a real video: OpenCV's vtest clip (768x576, 795
// frames of people walking in a street) through BatchCapture → Infer →
// probe. interval 3 infers one batch (frame) in four, which keeps the test
// near 16 s on two cores; the skipped frames must carry no objects.
func TestInferFindsPeopleInVideo(t *testing.T) {
	clip := mediaFile(t, "media/vtest.mp4")
	dir := config.CacheDir()
	for _, p := range []string{"models/centernet/centernet.onnx", "models/centernet/labels.txt"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Skipf("%s is not in the cache; run scripts/setup-model.sh to enable this test", filepath.Join(dir, p))
		}
	}
	needORT(t)
	const interval = 3
	var (
		mu       sync.Mutex
		batches  int
		persons  []int // per inferred frame
		skipped  int   // frames not inferred
		stray    int   // objects on frames not inferred
		inferred []int64
	)
	probe := vidflow.NewProbe("people", func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		infers := batches%(interval+1) == 0
		batches++
		for _, fm := range m.Frames {
			if !infers {
				skipped++
				stray += len(fm.Objects)
				continue
			}
			n := 0
			for _, o := range fm.Objects {
				if o.Label == "person" {
					n++
				}
			}
			persons = append(persons, n)
			inferred = append(inferred, fm.FrameNumber)
		}
	})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := vidflow.NewFlow(vidflow.NewPipeline("vtest-people")).
		BatchCapture([]string{clip}, vidflow.Width(768), vidflow.Height(576)).
		Infer(yamlConfig, vidflow.Props{"interval": interval}).
		Attach(probe).
		Render(vidflow.RenderDiscard).
		Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(persons)+skipped != 795 || len(persons) != (795+interval)/(interval+1) {
		t.Fatalf("%d frames inferred, %d skipped; want 795 frames, one in %d inferred", len(persons), skipped, interval+1)
	}
	if stray != 0 {
		t.Errorf("%d objects on frames that interval %d skips", stray, interval)
	}
	withPeople, threeOrMore, total := 0, 0, 0
	for _, n := range persons {
		total += n
		if n > 0 {
			withPeople++
		}
		if n >= 3 {
			threeOrMore++
		}
	}
	sorted := slices.Clone(persons)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	frac := float64(withPeople) / float64(len(persons))
	t.Logf("%d frames inferred in %v: people found in %.1f%%, 3+ people in %.1f%%, %.2f people a frame (median %d, max %d)",
		len(persons), elapsed.Round(time.Millisecond), 100*frac, 100*float64(threeOrMore)/float64(len(persons)),
		float64(total)/float64(len(persons)), median, sorted[len(sorted)-1])
	if frac <= 0.8 {
		t.Errorf("people found in %.1f%% of the inferred frames, want > 80%%", 100*frac)
	}
	if median < 3 {
		t.Errorf("median of %d people a frame, want 3 or more", median)
	}
	if inferred[0] != 0 || inferred[1] != interval+1 {
		t.Errorf("inferred frames start %v, want 0, %d, ...", inferred[:2], interval+1)
	}
}

// Pipeline.SetProperty reaches an element's runtime setter (nvinfer's
// interval) and names what it cannot change.
func TestSetProperty(t *testing.T) {
	dir := needModel(t)
	p := vidflow.NewPipeline("set-property")
	vidflow.NewFlow(p).Inject([]media.BufferProvider{photo(t, dir, "dog.jpg", 1)}).Batch().Infer(yamlConfig).Retrieve(&results{})
	names := p.Elements()
	infer, batcher := "", ""
	for _, n := range names {
		switch {
		case strings.Contains(n, "infer"):
			infer = n
		case strings.Contains(n, "batch"):
			batcher = n
		}
	}
	if err := p.SetProperty(infer, "interval", 3); err != nil {
		t.Errorf("SetProperty(%s, interval): %v", infer, err)
	}
	for _, c := range []struct {
		element, prop, want string
	}{
		{infer, "batch-size", `property "batch-size" cannot change while running`},
		{batcher, "width", `property "width" cannot change while running`},
		{"nope", "interval", `no element "nope"`},
	} {
		if err := p.SetProperty(c.element, c.prop, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetProperty(%s, %s): %v, want %q", c.element, c.prop, err, c.want)
		}
	}
}
