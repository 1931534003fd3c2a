package infer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// On-the-fly model update (nvinfer's: a new model-engine-file or
// config-file-path set on the running element). The new model's element
// state and session are built beside the running one, on the caller's
// goroutine, while batches keep flowing; the streaming goroutine takes
// them over between two batches, so no batch waits for the build and none
// is lost. A model that fails to load, or does not fit its config, leaves
// the running one in place and the caller gets the reason.

// updater is an element's model-update state.
type updater struct {
	conf   *element.Config         // the element's properties, for the new model's
	mu     sync.Mutex              // one build at a time
	next   atomic.Pointer[swap]    // built, waiting for the next batch
	active atomic.Pointer[nvinfer] // the model running now, when it is not the first
	serial atomic.Int64            // updates taken
}

// swap is a new model ready to run: its runners, one per session.
type swap struct {
	e    *nvinfer
	rs   []*runner
	what string // for the log: "config x.yml" or "model y.onnx"
}

func (s *swap) close() {
	for _, r := range s.rs {
		r.close()
	}
}

// ErrUpdateRunning says an update was asked while another was building.
var ErrUpdateRunning = errors.New("a model update is already being built")

func newUpdater(c *element.Config) *updater { return &updater{conf: c} }

// update builds the model that name=value describes and queues it for the
// streaming goroutine. It returns once the model is ready to take over
// (or failed to load: the running one goes on).
func (e *nvinfer) update(name string, value any) error {
	path, ok := value.(string)
	if !ok || strings.TrimSpace(path) == "" {
		return fmt.Errorf("property %q: want a file path, got %v (%T)", name, value, value)
	}
	u := e.upd
	if !u.mu.TryLock() {
		return ErrUpdateRunning
	}
	defer u.mu.Unlock()
	if old := u.next.Swap(nil); old != nil { // built but not taken yet: replaced
		old.close()
	}
	ne, what, err := e.rebuild(name, path)
	if err != nil {
		return fmt.Errorf("model update refused, %s goes on running: %w", e.current().cfg.ONNXFile, err)
	}
	rs, err := ne.startRunners(e.sessions)
	if err != nil {
		return fmt.Errorf("model update refused, %s goes on running: %s: %w", e.current().cfg.ONNXFile, what, err)
	}
	s := &swap{e: ne, rs: rs, what: what}
	if err := ne.smoke(rs[0]); err != nil {
		s.close()
		return fmt.Errorf("model update refused, %s goes on running: %s: %w", e.current().cfg.ONNXFile, what, err)
	}
	u.next.Store(s)
	return nil
}

// current is the model running now.
func (e *nvinfer) current() *nvinfer {
	if a := e.upd.active.Load(); a != nil {
		return a
	}
	return e
}

// rebuild makes the element state of the new model: the element's
// properties with the new config, or the current config with the new ONNX
// file, through New (every check a new element gets).
func (e *nvinfer) rebuild(name, path string) (*nvinfer, string, error) {
	props := e.upd.props()
	what := ""
	switch name {
	case "config-file-path":
		props["config-file-path"] = path
		what = "config " + path
	case "model-engine-file":
		switch strings.ToLower(filepath.Ext(path)) {
		case ".onnx":
		case ".engine", ".plan", ".trt":
			return nil, "", fmt.Errorf("%s is a TensorRT engine: vidflow runs ONNX models (give an .onnx file, or a config naming one)", path)
		default:
			return nil, "", fmt.Errorf("%s is not an .onnx file", path)
		}
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			return nil, "", fmt.Errorf("model %s does not exist or is a folder", path)
		}
		props["config-file-path"] = e.current().cfg.File
		props["model-engine-file"] = path
		what = "model " + path
	default:
		return nil, "", fmt.Errorf("property %q does not change the model", name)
	}
	spec, err := kindSpec()
	if err != nil {
		return nil, "", err
	}
	c, err := element.NewConfig(spec, e.name, props)
	if err != nil {
		return nil, "", err
	}
	el, err := New(c)
	if err != nil {
		return nil, "", err
	}
	ne := el.(*nvinfer)
	if ne.cfg.ProcessMode != e.cfg.ProcessMode {
		return nil, "", fmt.Errorf("%s: process-mode %d, the element runs %d: a model update keeps the mode", what, ne.cfg.ProcessMode, e.cfg.ProcessMode)
	}
	ne.upd = e.upd
	return ne, what, nil
}

// smoke runs the new session once on a blank batch, so that a model that
// loads but cannot run is refused before it takes over.
func (e *nvinfer) smoke(r *runner) error {
	if e.cfg.ProcessMode != 1 {
		return nil
	}
	w, h := max(e.plan.w, 1), max(e.plan.h, 1)
	f := media.NewFrame(media.PackedSurface(media.RGB, w, h, make([]byte, w*h*3)), nil)
	b := media.NewBatch([]*media.Frame{f}, nil)
	defer b.Release()
	return r.inferBatch(b)
}

var specOnce = sync.OnceValues(func() (*element.KindSpec, error) {
	r := element.NewRegistry()
	Register(r)
	return r.Lookup("nvinfer")
})

func kindSpec() (*element.KindSpec, error) { return specOnce() }

// props are the properties the element was given.
func (u *updater) props() element.Props {
	spec, _ := kindSpec()
	out := element.Props{}
	if spec == nil {
		return out
	}
	for _, p := range spec.Props {
		if !u.conf.IsSet(p.Name) {
			continue
		}
		switch p.Type {
		case element.String:
			out[p.Name] = u.conf.String(p.Name)
		case element.Int:
			out[p.Name] = u.conf.Int(p.Name)
		case element.Bool:
			out[p.Name] = u.conf.Bool(p.Name)
		case element.Float:
			out[p.Name] = u.conf.Float(p.Name)
		case element.Duration:
			out[p.Name] = u.conf.Duration(p.Name)
		}
	}
	return out
}

// setInterval gives a new interval to the model running now too.
func (u *updater) setInterval(n int64) {
	if a := u.active.Load(); a != nil {
		a.interval.Store(n)
	}
}

// runUpdatable is the single-session loop of Run: each batch goes to the
// current runner; a model built meanwhile takes over before the next one.
func (e *nvinfer) runUpdatable(ctx context.Context, p element.Ports, first *runner) error {
	r := first
	defer func() {
		if r != first {
			r.close()
		}
		if s := e.upd.next.Swap(nil); s != nil {
			s.close()
		}
	}()
	m := element.Map{Fn: func(ctx context.Context, b *media.Buffer) error {
		if s := e.upd.next.Swap(nil); s != nil {
			s.rs[0].batches = r.batches
			old := r
			r = e.adopt(p, []*runner{old}, s)[0]
		}
		return r.process(ctx, b)
	}}
	return m.Run(ctx, p)
}

// Updates is how many model updates the element took, for tests and
// statistics.
func (e *nvinfer) Updates() int64 { return e.upd.serial.Load() }

// modelEngineFile applies the model-engine-file property: an ONNX file
// replaces the config's onnx-file; a TensorRT engine is noted as having
// no effect.
func modelEngineFile(cfg *Config, path string) {
	switch {
	case path == "":
	case strings.EqualFold(filepath.Ext(path), ".onnx"):
		cfg.ONNXFile = path
	default:
		cfg.Notes = append(cfg.Notes, fmt.Sprintf("model-engine-file %s: a TensorRT engine has no effect; the config's onnx-file runs", path))
	}
}

// adopt makes a built model the running one, between two batches: the
// old runners (none of them busy) are closed, the interval carries over.
// It returns the new runners.
func (e *nvinfer) adopt(p element.Ports, old []*runner, s *swap) []*runner {
	s.e.interval.Store(e.current().interval.Load())
	e.upd.active.Store(s.e)
	for _, r := range old {
		r.close() // idempotent: Run closes the first ones again
	}
	e.upd.serial.Add(1)
	p.Info("model updated to %s: %s on %s, %d session(s), from this batch on", s.what, s.e.cfg.ONNXFile, s.rs[0].be.describe(), len(s.rs))
	return s.rs
}

// takeUpdate is runParallel's model update: once the batches in flight
// have left (flush, which returns the free runners then: all of them),
// the new runners replace them. It returns the runners to use from now
// on, or nil when no update was waiting.
func (e *nvinfer) takeUpdate(p element.Ports, flush func() ([]*runner, error)) ([]*runner, error) {
	s := e.upd.next.Swap(nil)
	if s == nil {
		return nil, nil
	}
	free, err := flush()
	if err != nil {
		s.close()
		return nil, err
	}
	return e.adopt(p, free, s), nil
}
