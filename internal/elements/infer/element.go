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
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

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
			{Name: "strict-config", Type: element.Bool, Default: false, Doc: "vidflow: unknown groups and keys of the config file are errors (default: one warning each, as in DeepStream; also VIDFLOW_STRICT_CONFIG=1)"},
			{Name: "model-engine-file", Type: element.String, Default: "", Doc: "an .onnx file runs instead of the config's onnx-file (set while running: an on-the-fly model update); " +
				"a TensorRT engine has no effect (vidflow runs the config's onnx-file)"},
			{Name: "input-tensor-meta", Type: element.Bool, Default: false, Doc: "infer on what an upstream nvdspreprocess chose (its regions, or its objects when secondary); overrides the config's"},
			{Name: "raw-output-file-write", Type: element.Bool, Default: false, Ignored: true},
			{Name: "crop-objects-to-roi-boundary", Type: element.Bool, Default: false, Ignored: true},
			{Name: "qos", Type: element.Bool, Default: false, Ignored: true},
		},
		New: New,
	})
}

// element is an nvinfer element, ready to run.
type nvinfer struct {
	name        string
	cfg         *Config
	plan        *plan
	labels      [][]string
	parser      *parser          // detectors
	classParser ClassifierParser // classifiers: a registered parser; nil for DeepStream's default
	classes     int              // detector classes; 0 while unknown
	threshold   float32          // lowest pre-cluster-threshold
	sessions    int              // runners in parallel (parallel.go)
	provider    string           // where the model runs: "cpu" or "cuda"
	workers     int              // preprocess-workers (0: auto)
	fallback    string           // why execution-provider auto runs on the CPU
	interval    atomic.Int64     // batches skipped between inferences (SetProperty changes it while running)
	upd         *updater         // on-the-fly model update (update.go)
	timing      runTiming        // where runs spend their time (timing.go)
	working     atomic.Int32     // runs in progress now, of sessions (Busy)
	// runBatch infers on a batch with a runner; nil: (*runner).inferBatch.
	// Tests of runParallel's scheduling time runs with it.
	runBatch func(*runner, *media.Buffer) error
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
	load := LoadConfig
	if c.Bool("strict-config") {
		load = LoadStrict
	}
	cfg, err := load(path)
	if err != nil {
		return nil, err
	}
	if err := applyProps(cfg, c); err != nil {
		return nil, err
	}
	modelEngineFile(cfg, c.String("model-engine-file"))
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
	e.upd = newUpdater(c)
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
				return nil, cfg.keyError("parse-bbox-func-name", "no parser %q (built-in: %s; C libraries cannot be loaded: register a Go parser with vidflow.RegisterDetectionParser)", name, strings.Join(builtinNames(), ", "))
			}
			e.parser = p
		}
	}
	if cfg.NetworkType == NetworkClassifier {
		e.classParser, _ = lookupClassifier(cfg.ParseClassifierFuncName) // LoadConfig checked it exists
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
	if c.IsSet("input-tensor-meta") { // deepstream-preprocess-test sets it on the element
		cfg.InputTensorMeta = c.Bool("input-tensor-meta")
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
		if t := e.timing.String(); t != "" {
			p.Info("%s", t)
		}
	}()
	r := rs[0]
	if len(e.cfg.Ignored) > 0 {
		p.Warn("config %s: keys with no effect in vidflow, ignored: %s", e.cfg.File, strings.Join(e.cfg.Ignored, ", "))
	}
	for _, u := range e.cfg.Unknown {
		p.Warn("%s (DeepStream ignores it too; strict-config makes it an error)", u)
	}
	for _, n := range e.cfg.Notes {
		p.Warn("config %s: %s", e.cfg.File, n)
	}
	if e.fallback != "" {
		p.Warn("%s", e.fallback)
	}
	if r.preNote != "" {
		p.Warn("%s", r.preNote)
	}
	p.Info("model %s on %s, %d session(s) of batch %d, %s", e.cfg.ONNXFile, r.be.describe(), len(rs), r.batch, r.preprocessing())
	if len(rs) > 1 {
		return e.runParallel(ctx, p, rs)
	}
	return e.runUpdatable(ctx, p, r)
}

// SetProperty changes a property while the element runs: "interval"
// (batches skipped between inferences, from the next batch on).
func (e *nvinfer) SetProperty(name string, value any) error {
	if name == "config-file-path" || name == "model-engine-file" {
		return e.update(name, value)
	}
	if name != "interval" {
		return fmt.Errorf("property %q cannot change while running (interval, config-file-path and model-engine-file can)", name)
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
	e.upd.setInterval(n)
	return nil
}

// Busy is the element's sessions at work now, of all of them: a bench
// sampling it tells an element whose sessions are all running (the model
// is the limit) from one waiting for batches.
func (e *nvinfer) Busy() (working, workers int) { return int(e.working.Load()), e.sessions }
