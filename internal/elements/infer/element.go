// Package infer is vidflow's inference element, DeepStream's nvinfer on
// ONNX Runtime: it reads an nvinfer config file (YAML or INI), runs an
// ONNX model on the frames of each batch (primary mode) or on the objects
// found in them (secondary mode), and turns the outputs into object,
// classification and tensor metadata.
//
// Per batch, frames (or object crops) are scaled and normalised straight
// into one input tensor allocated when the pipeline starts, the model runs
// once per batch-size images, and the outputs (also allocated once) are
// parsed in place: the hot path allocates only the metadata it attaches.
// See docs/infer.md for the config keys, parsers and performance notes.
package infer

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// UserClassifications is the FrameMeta.User key under which a primary
// classifier (process-mode 1, network-type 1) puts its verdicts on the
// whole frame, a []media.Classification.
const UserClassifications = "classifications"

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvinfer",
		Aliases: []string{"infer"},
		Doc: "Runs an ONNX model with ONNX Runtime on each batch's frames (primary) or objects (secondary), " +
			"configured by a DeepStream nvinfer config file; adds objects, classifications and tensor metadata.",
		Role: element.RoleTransform,
		Props: []element.PropSpec{
			{Name: "config-file-path", Type: element.String, Default: "", Doc: "the nvinfer config file, YAML (.yml, .yaml) or INI"},
			{Name: "batch-size", Type: element.Int, Default: 0, Doc: "images per inference; overrides the config's when > 0 (Flow.Infer sets the flow's)"},
			{Name: "unique-id", Type: element.Int, Default: 15, Doc: "component id of the results; overrides gie-unique-id when set"},
			{Name: "process-mode", Type: element.Int, Default: 1, Doc: "1 primary (frames), 2 secondary (objects); overrides the config's when set"},
			{Name: "interval", Type: element.Int, Default: 0, Doc: "batches skipped between inferences; overrides the config's when set"},
			{Name: "infer-on-gie-id", Type: element.Int, Default: -1, Doc: "secondary: objects of this component only; overrides operate-on-gie-id when set"},
			{Name: "operate-on-class-ids", Type: element.String, Default: "", Doc: "secondary: objects of these classes only (\"0:2\" or \"0;2\"); overrides the config's when set"},
			{Name: "filter-out-class-ids", Type: element.String, Default: "", Doc: "detector: drop these classes; overrides the config's when set"},
			{Name: "output-tensor-meta", Type: element.Bool, Default: false, Doc: "attach the raw output layers as TensorMeta; overrides the config's when set"},
			{Name: "gpu-id", Type: element.Int, Default: 0, Doc: "GPU of the CUDA execution provider; overrides the config's when set"},
			{Name: "execution-provider", Type: element.String, Default: "", Doc: "vidflow: cpu, cuda (GPU required) or auto (GPU when usable, else CPU with a warning); overrides the config's when set"},
			{Name: "intra-op-threads", Type: element.Int, Default: 0, Doc: "vidflow: ONNX Runtime intra-op threads; overrides the config's when set"},
			{Name: "sessions", Type: element.Int, Default: 1, Doc: "vidflow: ONNX Runtime sessions run in parallel on successive batches (each with intra-op-threads threads; batches keep their order)"},
			{Name: "preprocess-workers", Type: element.Int, Default: 0, Doc: "vidflow: goroutines scaling a run's images into the input tensor; 0: one on the CPU provider (ONNX Runtime's threads use the cores), up to 8 on a GPU"},
			{Name: "ort-library", Type: element.String, Default: "", Doc: "vidflow: path of libonnxruntime.so (else $VIDFLOW_ORT_LIB, the set-up cache, system folders)"},
			{Name: "model-engine-file", Type: element.String, Default: "", Ignored: true, Doc: "TensorRT engine: vidflow runs the config's onnx-file"},
			{Name: "input-tensor-meta", Type: element.Bool, Default: false, Ignored: true, Doc: "nvdspreprocess tensors are not consumed"},
			{Name: "raw-output-file-write", Type: element.Bool, Default: false, Ignored: true},
			{Name: "crop-objects-to-roi-boundary", Type: element.Bool, Default: false, Ignored: true},
			{Name: "qos", Type: element.Bool, Default: false, Ignored: true},
		},
		New: New,
	})
}

// element is an nvinfer element, ready to run.
type nvinfer struct {
	name      string
	cfg       *Config
	plan      *plan
	labels    [][]string
	parser    *parser      // detectors
	classes   int          // detector classes; 0 while unknown
	threshold float32      // lowest pre-cluster-threshold
	sessions  int          // runners in parallel (parallel.go)
	provider  string       // where the model runs: "cpu" or "cuda"
	workers   int          // preprocess-workers (0: auto)
	fallback  string       // why execution-provider auto runs on the CPU
	interval  atomic.Int64 // batches skipped between inferences (SetProperty changes it while running)
}

// New makes an nvinfer element from its properties: it reads the config,
// loads ONNX Runtime and checks the model against the config, so that
// mistakes are reported when the pipeline is built. The session itself is
// opened when the pipeline starts.
func New(c *element.Config) (element.Element, error) {
	path := c.String("config-file-path")
	if path == "" {
		return nil, fmt.Errorf("property \"config-file-path\" is not set: give the nvinfer config file")
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if err := applyProps(cfg, c); err != nil {
		return nil, err
	}
	if _, err := InitORT(c.String("ort-library")); err != nil {
		return nil, err
	}
	mi, err := readModelInfo(cfg.ONNXFile)
	if err != nil {
		return nil, cfg.keyError("onnx-file", "%v", err)
	}
	pl, err := makePlan(cfg, mi)
	if err != nil {
		return nil, err
	}
	e := &nvinfer{name: c.Element, cfg: cfg, plan: pl, threshold: cfg.ClassAttrs.PreClusterThreshold, sessions: c.Int("sessions")}
	e.interval.Store(int64(cfg.Interval))
	if e.sessions < 1 {
		return nil, fmt.Errorf("property \"sessions\" must be at least 1, got %d", e.sessions)
	}
	if e.provider, e.fallback, err = resolveProvider(cfg); err != nil {
		return nil, err
	}
	if e.workers = c.Int("preprocess-workers"); e.workers < 0 {
		return nil, fmt.Errorf("property \"preprocess-workers\" must not be negative, got %d", e.workers)
	}
	for _, a := range cfg.PerClass {
		e.threshold = min(e.threshold, a.PreClusterThreshold)
	}
	if cfg.LabelFile != "" {
		if e.labels, err = ReadLabels(cfg.LabelFile); err != nil {
			return nil, cfg.keyError("labelfile-path", "%v", err)
		}
	}
	if cfg.NetworkType == NetworkDetector {
		if name := cfg.ParseBboxFuncName; name != "" {
			p, ok := lookupParser(name)
			if !ok {
				return nil, cfg.keyError("parse-bbox-func-name", "no parser %q (built-in: centernet, yolov5, yolov8, yolo11, ssd, ssd-xyxy, detectnet; C libraries cannot be loaded: register a Go parser with RegisterBBoxParser)", name)
			}
			e.parser = p
		}
	}
	if !pl.dynamicOut {
		if err := e.checkOutputs(pl.outDims); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// applyProps applies the element properties that override config keys.
func applyProps(cfg *Config, c *element.Config) error {
	if n := c.Int("batch-size"); n > 0 {
		cfg.BatchSize = n
	} else if n < 0 {
		return fmt.Errorf("property \"batch-size\" must not be negative, got %d", n)
	}
	if c.IsSet("unique-id") {
		cfg.UniqueID = c.Int("unique-id")
	}
	if c.IsSet("process-mode") {
		if m := c.Int("process-mode"); m != 1 && m != 2 {
			return fmt.Errorf("property \"process-mode\" must be 1 (primary) or 2 (secondary), got %d", m)
		}
		cfg.ProcessMode = c.Int("process-mode")
	}
	if c.IsSet("interval") {
		if c.Int("interval") < 0 {
			return fmt.Errorf("property \"interval\" must not be negative, got %d", c.Int("interval"))
		}
		cfg.Interval = c.Int("interval")
	}
	if c.IsSet("infer-on-gie-id") {
		cfg.OperateOnGIEID = c.Int("infer-on-gie-id")
	}
	for _, k := range []struct {
		prop string
		dst  *[]int
	}{{"operate-on-class-ids", &cfg.OperateOnClassIDs}, {"filter-out-class-ids", &cfg.FilterOutClassIDs}} {
		if !c.IsSet(k.prop) {
			continue
		}
		ids, err := parseIDs(c.String(k.prop))
		if err != nil {
			return fmt.Errorf("property %q: %v", k.prop, err)
		}
		*k.dst = ids
	}
	if c.IsSet("output-tensor-meta") {
		cfg.OutputTensorMeta = c.Bool("output-tensor-meta")
	}
	if c.IsSet("gpu-id") {
		cfg.GPUID = c.Int("gpu-id")
	}
	if c.IsSet("execution-provider") {
		ep := strings.ToLower(c.String("execution-provider"))
		if ep != "cpu" && ep != "cuda" && ep != "auto" {
			return fmt.Errorf("property \"execution-provider\" must be cpu, cuda or auto, got %q", c.String("execution-provider"))
		}
		cfg.ExecutionProvider = ep
	}
	if c.IsSet("intra-op-threads") {
		if c.Int("intra-op-threads") < 0 {
			return fmt.Errorf("property \"intra-op-threads\" must not be negative")
		}
		cfg.IntraOpThreads = c.Int("intra-op-threads")
	}
	return nil
}

// parseIDs reads class ids separated by ':' (GStreamer's form), ';' or ','.
func parseIDs(s string) ([]int, error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ';' || r == ',' || r == ' ' })
	ids := make([]int, 0, len(f))
	for _, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("want class ids like \"0:2\", got %q", s)
		}
		ids = append(ids, n)
	}
	return ids, nil
}

// checkOutputs checks the output layers (per-image dimensions) against
// the config and the labels, and settles the detector's parser and class
// count.
func (e *nvinfer) checkOutputs(dims [][]int) error {
	cfg := e.cfg
	switch cfg.NetworkType {
	case NetworkDetector:
		if e.parser == nil {
			p, err := detectParser(e.plan.outputs, dims)
			if err != nil {
				return fmt.Errorf("model %s: %v", cfg.ONNXFile, err)
			}
			e.parser = p
		}
		classes := cfg.NumDetectedClasses
		if e.parser.classes != nil {
			n, err := e.parser.classes(e.plan.outputs, dims, cfg.NumDetectedClasses)
			if err != nil {
				return fmt.Errorf("model %s, parser %s: %v", cfg.ONNXFile, e.parser.name, err)
			}
			if cfg.NumDetectedClasses > 0 && n > 0 && n != cfg.NumDetectedClasses {
				return cfg.keyError("num-detected-classes", "%d, but the outputs of model %s (%s) have %d classes",
					cfg.NumDetectedClasses, cfg.ONNXFile, describeLayers(e.plan.outputs, dims), n)
			}
			if n > 0 {
				classes = n
			}
		}
		e.classes = classes
		if e.labels != nil && classes > 0 {
			if n := len(e.labels[0]); len(e.labels) != 1 || n != classes {
				return cfg.keyError("labelfile-path", "%s has %d labels, the model has %d classes", cfg.LabelFile, countLabels(e.labels), classes)
			}
		}
	case NetworkClassifier:
		if e.labels == nil {
			return nil
		}
		if len(e.labels) == 1 && len(dims) == 1 {
			if n := size(dims[0]); n != len(e.labels[0]) {
				return cfg.keyError("labelfile-path", "%s has %d labels, the classifier output %q has %d classes", cfg.LabelFile, len(e.labels[0]), e.plan.outputs[0], n)
			}
			return nil
		}
		if len(e.labels) != len(dims) {
			return cfg.keyError("labelfile-path", "%s has %d lines of labels, the classifier has %d output layers (one ';'-separated line each)", cfg.LabelFile, len(e.labels), len(dims))
		}
		for i, d := range dims {
			if n := size(d); n != len(e.labels[i]) {
				return cfg.keyError("labelfile-path", "%s line %d has %d labels, output %q has %d classes", cfg.LabelFile, i+1, len(e.labels[i]), e.plan.outputs[i], n)
			}
		}
	}
	return nil
}

func countLabels(l [][]string) int {
	n := 0
	for _, x := range l {
		n += len(x)
	}
	return n
}

func size(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// Run implements element.Element: it opens the session, then processes
// each buffer in place.
func (e *nvinfer) Run(ctx context.Context, p element.Ports) error {
	rs, err := e.startRunners(e.sessions)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range rs {
			r.close()
		}
	}()
	r := rs[0]
	if len(e.cfg.Ignored) > 0 {
		p.Warn("config %s: keys with no effect in vidflow, ignored: %s", e.cfg.File, strings.Join(e.cfg.Ignored, ", "))
	}
	for _, n := range e.cfg.Notes {
		p.Warn("config %s: %s", e.cfg.File, n)
	}
	if e.fallback != "" {
		p.Warn("%s", e.fallback)
	}
	if r.dev != nil {
		info, _ := gpu.Info(e.cfg.GPUID)
		p.Info("model %s on %s: %s, %d session(s) of batch %d", e.cfg.ONNXFile, info, r.dev.Describe(), len(rs), r.batch)
	} else {
		p.Info("model %s on the CPU: ONNX Runtime %s, %d session(s) of batch %d", e.cfg.ONNXFile, ortVersion(), len(rs), r.batch)
	}
	if len(rs) > 1 {
		return e.runParallel(ctx, p, rs)
	}
	m := element.Map{Fn: r.process}
	return m.Run(ctx, p)
}

// SetProperty changes a property while the element runs: "interval"
// (batches skipped between inferences, from the next batch on).
func (e *nvinfer) SetProperty(name string, value any) error {
	if name != "interval" {
		return fmt.Errorf("property %q cannot change while running (interval can)", name)
	}
	var n int64
	switch v := value.(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	case float64:
		if v != math.Trunc(v) {
			return fmt.Errorf("interval %v is not a whole number", v)
		}
		n = int64(v)
	default:
		return fmt.Errorf("interval %v is %T, want an integer", value, value)
	}
	if n < 0 {
		return fmt.Errorf("interval must not be negative, got %d", n)
	}
	e.interval.Store(n)
	return nil
}

// runner is one run's state: the session and the memory reused for every
// batch.
type runner struct {
	*nvinfer
	sess    *ort.DynamicAdvancedSession // CPU
	dev     *gpu.Session                // GPU (I/O binding)
	batch   int                         // images per ONNX Runtime call
	inPer   int                         // input values per image
	in      []float32                   // float32 input (Go memory, or the GPU session's pinned memory)
	in8     []byte                      // uint8 input, likewise
	outPer  []int                       // output values per image
	out     [][]float32                 // output memory (preallocated outputs)
	dims    [][]int                     // per-image output dimensions
	ios     map[int]*ioTensors
	dynOuts []ort.Value // outputs ONNX Runtime allocates (dynamic shapes)
	pre     *preprocessor
	slots   []slot
	layers  []Layer
	dets    []parsers.Detection
	counts  []int
	probs   []float32
	batches int64
	buf     *media.Buffer   // the batch being processed
	image   int             // the image of the run being parsed
	workers int             // goroutines preprocessing a run (preprocess-workers)
	pres    []*preprocessor // theirs, made on first use
}

// ioTensors are the ONNX Runtime tensors of one run size, over the
// runner's memory, and (outputs preallocated) their binding to the
// session, through which a run allocates nothing in Go (Run itself makes
// a few small slices per call).
type ioTensors struct {
	in   ort.Value
	outs []ort.Value
	bind *ort.IoBinding
}

func (t *ioTensors) destroy() {
	if t.bind != nil {
		t.bind.Destroy()
	}
	t.in.Destroy()
	destroyAll(t.outs)
}

// slot is one image of a run: a frame, or an object of a frame.
type slot struct {
	fm  *media.FrameMeta
	obj *media.ObjectMeta // secondary mode
	roi region
	t   xform
}

func (e *nvinfer) start() (*runner, error) {
	pl := e.plan
	r := &runner{nvinfer: e, batch: pl.runBatch(e.cfg.BatchSize), inPer: pl.w * pl.h * pl.c,
		ios: map[int]*ioTensors{}, pre: newPreprocessor(e.cfg, pl.w, pl.h, pl.c, pl.nhwc),
		layers: make([]Layer, len(pl.outputs)), workers: e.workers}
	if e.workers == 0 { // auto: the CPU waits for the GPU, so it can prepare images in parallel
		r.workers = 1
		if e.provider == "cuda" {
			r.workers = min(runtime.GOMAXPROCS(0), 8)
		}
	}
	if e.provider == "cuda" {
		return r, r.startDevice()
	}
	sess, err := newSession(e.cfg.ONNXFile, pl.input, pl.outputs, "cpu", 0, e.cfg.IntraOpThreads, nil)
	if err != nil {
		return nil, err
	}
	r.sess = sess
	if pl.uint8In {
		r.in8 = make([]byte, r.batch*r.inPer)
	} else {
		r.in = make([]float32, r.batch*r.inPer)
	}
	if err := r.warmUp(); err != nil {
		r.close()
		return nil, err
	}
	if !pl.dynamicOut {
		r.out = make([][]float32, len(pl.outputs))
		for i := range r.out {
			r.out[i] = make([]float32, r.batch*r.outPer[i])
		}
	} else {
		r.dynOuts = make([]ort.Value, len(pl.outputs))
	}
	return r, nil
}

// startDevice opens the model on the GPU and runs it once on a blank
// batch (which also has cuDNN choose its algorithms).
func (r *runner) startDevice() error {
	dev, err := openDevice(r.cfg, r.plan, r.batch, "")
	if err != nil {
		return err
	}
	r.dev = dev
	in := dev.Input(r.batch)
	clear(in)
	if r.plan.uint8In {
		r.in8 = in
	} else {
		r.in = unsafe.Slice((*float32)(unsafe.Pointer(&in[0])), len(in)/4)
	}
	r.dims = r.plan.outDims
	r.outPer = make([]int, len(r.dims))
	for i, d := range r.dims {
		r.outPer[i] = size(d)
	}
	if err := dev.Run(r.batch); err != nil {
		r.close()
		return fmt.Errorf("model %s: first run failed: %v", r.cfg.ONNXFile, err)
	}
	return nil
}

// newInput makes the ONNX Runtime tensor of a run of n images over the
// runner's input memory.
func (r *runner) newInput(n int) (ort.Value, error) {
	if r.plan.uint8In {
		return ort.NewTensor(r.inShape(n), r.in8)
	}
	return ort.NewTensor(r.inShape(n), r.in)
}

// warmUp runs the model once on a blank image, which also tells the
// output shapes of models that leave them dynamic.
func (r *runner) warmUp() error {
	n := max(r.plan.fixedBatch, 1)
	in, err := r.newInput(n)
	if err != nil {
		return err
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(r.plan.outputs))
	if err := r.sess.Run([]ort.Value{in}, outs); err != nil {
		return fmt.Errorf("model %s: first run failed: %v", r.cfg.ONNXFile, err)
	}
	defer destroyAll(outs)
	dims, err := r.imageDims(outs, n)
	if err != nil {
		return err
	}
	if r.plan.dynamicOut {
		if err := r.checkOutputs(dims); err != nil {
			return err
		}
	}
	r.dims = dims
	r.outPer = make([]int, len(dims))
	for i, d := range dims {
		r.outPer[i] = size(d)
	}
	return nil
}

// imageDims reads the per-image dimensions of outputs of a run of n images.
func (r *runner) imageDims(outs []ort.Value, n int) ([][]int, error) {
	dims := make([][]int, len(outs))
	for i, o := range outs {
		s := o.GetShape()
		if len(s) < 1 || s[0] != int64(n) {
			return nil, fmt.Errorf("model %s: output %q is %s for %d images: want the batch first", r.cfg.ONNXFile, r.plan.outputs[i], shapeString(s), n)
		}
		if _, ok := o.(*ort.Tensor[float32]); !ok {
			return nil, fmt.Errorf("model %s: output %q is not a float32 tensor", r.cfg.ONNXFile, r.plan.outputs[i])
		}
		d := make([]int, len(s)-1)
		for k, v := range s[1:] {
			d[k] = int(v)
		}
		dims[i] = d
	}
	return dims, nil
}

func (r *runner) inShape(n int) ort.Shape {
	p := r.plan
	if p.nhwc {
		return ort.NewShape(int64(n), int64(p.h), int64(p.w), int64(p.c))
	}
	return ort.NewShape(int64(n), int64(p.c), int64(p.h), int64(p.w))
}

// tensorsFor returns the tensors of a run of n images, made on first use.
func (r *runner) tensorsFor(n int) (*ioTensors, error) {
	if t, ok := r.ios[n]; ok {
		return t, nil
	}
	in, err := r.newInput(n)
	if err != nil {
		return nil, err
	}
	t := &ioTensors{in: in}
	if r.out != nil {
		for i, d := range r.dims {
			shape := make(ort.Shape, 0, len(d)+1)
			shape = append(shape, int64(n))
			for _, v := range d {
				shape = append(shape, int64(v))
			}
			o, err := ort.NewTensor(shape, r.out[i])
			if err != nil {
				t.destroy()
				return nil, err
			}
			t.outs = append(t.outs, o)
		}
		if err := r.bind(t); err != nil {
			t.destroy()
			return nil, fmt.Errorf("model %s: binding inputs and outputs: %v", r.cfg.ONNXFile, err)
		}
	}
	r.ios[n] = t
	return t, nil
}

// bind binds a run size's input and preallocated outputs to the session.
func (r *runner) bind(t *ioTensors) (err error) {
	if t.bind, err = r.sess.CreateIoBinding(); err != nil {
		return err
	}
	if err := t.bind.BindInput(r.plan.input, t.in); err != nil {
		return err
	}
	for i, o := range t.outs {
		if err := t.bind.BindOutput(r.plan.outputs[i], o); err != nil {
			return err
		}
	}
	return nil
}

func destroyAll(vs []ort.Value) {
	for i, v := range vs {
		if v != nil {
			v.Destroy()
			vs[i] = nil
		}
	}
}

func (r *runner) close() {
	for _, t := range r.ios {
		t.destroy()
	}
	destroyAll(r.dynOuts)
	if r.sess != nil {
		r.sess.Destroy()
	}
	if r.dev != nil {
		r.dev.Close()
		r.dev = nil
	}
}

// process runs the model on one batch and attaches the results.
func (r *runner) process(_ context.Context, b *media.Buffer) error {
	cfg := r.cfg
	meta := b.Meta()
	r.slots = r.slots[:0]
	if cfg.ProcessMode == 1 {
		iv := r.interval.Load()
		skip := iv > 0 && r.batches%(iv+1) != 0
		r.batches++
		if skip {
			return nil
		}
		for _, fm := range meta.Frames {
			r.slots = append(r.slots, slot{fm: fm, roi: region{0, 0, fm.Width, fm.Height}})
		}
	} else {
		for _, fm := range meta.Frames {
			for _, o := range fm.Objects {
				if roi, ok := r.selects(o, fm); ok {
					r.slots = append(r.slots, slot{fm: fm, obj: o, roi: roi})
				}
			}
		}
	}
	for start := 0; start < len(r.slots); start += r.batch {
		if err := r.runChunk(b, r.slots[start:min(start+r.batch, len(r.slots))]); err != nil {
			return err
		}
	}
	return nil
}

// selects reports whether a secondary element works on object o, and the
// region of the frame to crop.
func (r *runner) selects(o *media.ObjectMeta, fm *media.FrameMeta) (region, bool) {
	cfg := r.cfg
	switch {
	case o.ComponentID == cfg.UniqueID: // this element's own results
		return region{}, false
	case cfg.OperateOnGIEID >= 0 && o.ComponentID != cfg.OperateOnGIEID:
		return region{}, false
	case cfg.OperateOnClassIDs != nil && !slices.Contains(cfg.OperateOnClassIDs, o.ClassID):
		return region{}, false
	case o.Rect.Width < float32(cfg.InputObjectMinW), o.Rect.Height < float32(cfg.InputObjectMinH):
		return region{}, false
	case cfg.InputObjectMaxW > 0 && o.Rect.Width > float32(cfg.InputObjectMaxW),
		cfg.InputObjectMaxH > 0 && o.Rect.Height > float32(cfg.InputObjectMaxH):
		return region{}, false
	}
	return regionOf(o.Rect, fm.Width, fm.Height)
}

// runChunk runs the model once on up to r.batch images.
func (r *runner) runChunk(b *media.Buffer, slots []slot) error {
	r.buf = b
	defer func() { r.buf = nil }()
	if err := r.fillAll(b, slots); err != nil {
		return err
	}
	n := len(slots)
	if r.plan.fixedBatch > 0 {
		n = r.plan.fixedBatch
	}
	if r.dev != nil {
		// On the GPU every run has the batch's full size (the images past
		// the slots are left over and their results unread): each new
		// input shape makes ONNX Runtime's CUDA provider search cuDNN's
		// algorithms again (exhaustively by default) and grow its arena,
		// seconds per shape, while the full batch costs little more than a
		// partial one. The full size was run once at start.
		n = r.batch
		if err := r.dev.Run(n); err != nil {
			return err
		}
		data := make([][]float32, len(r.layers))
		for k := range data {
			data[k] = r.dev.Output(k)
		}
		return r.postAll(slots, data)
	}
	t, err := r.tensorsFor(n)
	if err != nil {
		return err
	}
	outs := t.outs
	if r.out == nil {
		outs = r.dynOuts
		defer destroyAll(outs)
	}
	if t.bind != nil {
		err = r.sess.RunWithBinding(t.bind)
	} else {
		err = r.sess.Run([]ort.Value{t.in}, outs)
	}
	if err != nil {
		return fmt.Errorf("model %s: %v", r.cfg.ONNXFile, err)
	}
	data := r.out
	if r.out == nil {
		if r.dims, err = r.imageDims(outs, n); err != nil {
			return err
		}
		data = make([][]float32, len(outs))
		for i, o := range outs {
			data[i] = o.(*ort.Tensor[float32]).GetData()
			r.outPer[i] = size(r.dims[i])
		}
	}
	return r.postAll(slots, data)
}

// fillAll preprocesses the images of a run into the input: in order on
// the runner's goroutine, or split among preprocess-workers goroutines
// (each with its own preprocessor) when there are several.
func (r *runner) fillAll(b *media.Buffer, slots []slot) error {
	w := min(r.workers, len(slots))
	if w <= 1 {
		return r.fillRange(r.pre, b, slots, 0)
	}
	for len(r.pres) < w {
		r.pres = append(r.pres, newPreprocessor(r.cfg, r.plan.w, r.plan.h, r.plan.c, r.plan.nhwc))
	}
	errs := make([]error, w)
	var wg sync.WaitGroup
	per := (len(slots) + w - 1) / w
	for g := 0; g < w; g++ {
		lo, hi := g*per, min((g+1)*per, len(slots))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = r.fillRange(r.pres[g], b, slots[lo:hi], lo)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fillRange preprocesses slots, images first.. of the run, with pre.
func (r *runner) fillRange(pre *preprocessor, b *media.Buffer, slots []slot, first int) error {
	for k := range slots {
		s := &slots[k]
		i := first + k
		surf, err := b.Surface(s.fm.BatchID)
		if err == nil {
			if surf.Width != s.fm.Width || surf.Height != s.fm.Height {
				err = fmt.Errorf("frame is %dx%d, its metadata says %dx%d", surf.Width, surf.Height, s.fm.Width, s.fm.Height)
			} else if r.plan.uint8In {
				s.t, err = pre.fill8(r.in8[i*r.inPer:(i+1)*r.inPer], surf, s.roi)
			} else {
				s.t, err = pre.fill(r.in[i*r.inPer:(i+1)*r.inPer], surf, s.roi)
			}
		}
		if err != nil {
			return fmt.Errorf("frame %d of stream %d: %v", s.fm.FrameNumber, s.fm.SourceID, err)
		}
	}
	return nil
}

// postAll parses the outputs (data: all images of the run) of each slot.
func (r *runner) postAll(slots []slot, data [][]float32) error {
	if r.dev != nil && r.cfg.OutputTensorMeta {
		// The GPU tensors attached are complete before the batch moves on.
		defer r.dev.Stream().Sync()
	}
	for i := range slots {
		r.image = i
		for k := range r.layers {
			per := r.outPer[k]
			r.layers[k] = Layer{Name: r.plan.outputs[k], Dims: r.dims[k], Data: data[k][i*per : (i+1)*per]}
		}
		if err := r.post(&slots[i]); err != nil {
			return fmt.Errorf("frame %d of stream %d: %v", slots[i].fm.FrameNumber, slots[i].fm.SourceID, err)
		}
	}
	return nil
}

// post turns the output layers of one image into metadata.
func (r *runner) post(s *slot) error {
	cfg := r.cfg
	if cfg.OutputTensorMeta {
		tm := &media.TensorMeta{ComponentID: cfg.UniqueID, Layers: make(map[string]*media.Tensor, len(r.layers))}
		for k, l := range r.layers {
			var t *media.Tensor
			var err error
			if r.dev != nil {
				t, err = r.deviceLayer(k, s)
			} else {
				t, err = media.NewTensor(slices.Clone(l.Data), l.Dims, "")
			}
			if err != nil {
				return err
			}
			tm.Layers[l.Name] = t
		}
		if s.obj != nil {
			s.obj.Tensors = append(s.obj.Tensors, tm)
		} else {
			s.fm.Tensors = append(s.fm.Tensors, tm)
		}
	}
	switch cfg.NetworkType {
	case NetworkDetector:
		return r.detect(s)
	case NetworkClassifier:
		r.classify(s)
	}
	return nil
}

// deviceLayer copies output k of the current image into GPU memory of its
// own, as a tensor that lives as long as the frame (or until every DLPack
// consumer is done with it): probes and GPU libraries read the outputs
// without a trip over PCIe.
func (r *runner) deviceLayer(k int, s *slot) (*media.Tensor, error) {
	per := r.outPer[k] * 4
	mem, err := gpu.Alloc(r.cfg.GPUID, per)
	if err != nil {
		return nil, fmt.Errorf("tensor meta %q: %v", r.plan.outputs[k], err)
	}
	src := r.dev.DeviceOutput(k)
	if err := r.dev.Stream().Copy(mem.Ptr, unsafe.Add(src.Ptr, r.image*per), per); err != nil {
		mem.Free()
		return nil, err
	}
	t, err := media.NewDeviceTensor(media.Float32, mem.Ptr, r.cfg.GPUID, r.dims[k], "", mem.Free)
	if err != nil {
		mem.Free()
		return nil, err
	}
	r.buf.Frame(s.fm.BatchID).OnRelease(t.Release)
	return t, nil
}

func (r *runner) detect(s *slot) error {
	cfg := r.cfg
	info := ParseInfo{NetWidth: r.plan.w, NetHeight: r.plan.h, Classes: cfg.NumDetectedClasses, Threshold: r.threshold}
	if info.Classes == 0 {
		info.Classes = r.classes
	}
	dets, err := r.parse(info)
	if err != nil {
		return err
	}
	dets = cfg.filter(dets, r.classes, r.plan.h)
	dets, r.counts = cfg.cluster(dets, r.counts)
	// One allocation for the frame's list, not one per doubling.
	s.fm.Objects = slices.Grow(s.fm.Objects, len(dets))
	for _, d := range dets {
		rect := s.t.rect(d.X1, d.Y1, d.X2, d.Y2)
		if rect.Width <= 0 || rect.Height <= 0 {
			continue
		}
		o := media.NewObject(d.ClassID, r.label(0, d.ClassID), d.Score, rect)
		o.ComponentID = cfg.UniqueID
		o.Parent = s.obj
		s.fm.Objects = append(s.fm.Objects, o)
	}
	return nil
}

// parse calls the parser; a panic in it is an error, not a crash.
func (r *runner) parse(info ParseInfo) (dets []parsers.Detection, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("parser %s panicked: %v", r.parser.name, v)
		}
	}()
	dets, err = r.parser.fn(r.layers, info, r.dets)
	if err != nil {
		return nil, fmt.Errorf("parser %s: %v", r.parser.name, err)
	}
	if cap(dets) > cap(r.dets) {
		r.dets = dets[:0]
	}
	return dets, nil
}

func (r *runner) label(layer, class int) string {
	if layer < len(r.labels) && class >= 0 && class < len(r.labels[layer]) {
		return r.labels[layer][class]
	}
	return ""
}

// classify reads each output layer as one attribute's class scores:
// probabilities, or logits (softmax is applied when the values are not a
// distribution). The best class is kept when its probability exceeds
// classifier-threshold.
func (r *runner) classify(s *slot) {
	cfg := r.cfg
	for k, l := range r.layers {
		v := l.Data
		if len(v) == 0 {
			continue
		}
		if !isDistribution(v) {
			r.probs = softmax(r.probs[:0], v)
			v = r.probs
		}
		best := 0
		for i, p := range v {
			if p > v[best] {
				best = i
			}
		}
		if !(v[best] > cfg.ClassifierThreshold) {
			continue
		}
		c := media.Classification{ComponentID: cfg.UniqueID, ClassID: best, Label: r.label(k, best), Confidence: v[best]}
		if len(r.labels) == 1 && len(r.layers) > 1 {
			c.Label = r.label(0, best)
		}
		if s.obj != nil {
			s.obj.Classifications = append(s.obj.Classifications, c)
			continue
		}
		if s.fm.User == nil {
			s.fm.User = map[string]any{}
		}
		prev, _ := s.fm.User[UserClassifications].([]media.Classification)
		s.fm.User[UserClassifications] = append(prev, c)
	}
}

func isDistribution(v []float32) bool {
	var sum float32
	for _, p := range v {
		if !(p >= 0 && p <= 1) {
			return false
		}
		sum += p
	}
	return math.Abs(float64(sum-1)) < 1e-3
}

func softmax(dst, v []float32) []float32 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	var sum float32
	for _, x := range v {
		e := float32(math.Exp(float64(x - m)))
		dst = append(dst, e)
		sum += e
	}
	for i := range dst {
		dst[i] /= sum
	}
	return dst
}
