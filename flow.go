package vidflow

import (
	"context"
	"fmt"
	"strings"
)

// Flow builds a pipeline step by step, the Go twin of Service Maker's Flow:
// each step adds elements after the flow's current streams and returns a
// new Flow whose streams are the step's outputs. A step that cannot be
// taken records the pipeline's first error, which Err and Run return.
type Flow struct {
	p        *Pipeline
	streams  []string // elements whose outputs are the flow's streams
	batched  bool
	size     int    // frames per batch, when batched
	fork     bool   // the stream is a tee: each step starts a branch
	terminal string // the step that ended the flow, if any
}

// NewFlow starts a flow on a pipeline.
func NewFlow(p *Pipeline) *Flow { return &Flow{p: p} }

// Pipeline returns the pipeline the flow builds.
func (f *Flow) Pipeline() *Pipeline { return f.p }

// Err returns the pipeline's first error.
func (f *Flow) Err() error { return f.p.Err() }

// Run runs the whole pipeline until it ends (see Pipeline.Run).
func (f *Flow) Run(ctx context.Context) error { return f.p.Run(ctx) }

// Streams are the names of the elements whose outputs the next step takes.
func (f *Flow) Streams() []string { return append([]string(nil), f.streams...) }

func (f *Flow) next(streams []string, batched bool) *Flow {
	return &Flow{p: f.p, streams: streams, batched: batched, size: f.size}
}

func (f *Flow) fail(format string, args ...any) *Flow {
	f.p.setErr(fmt.Errorf(format, args...))
	return f.next(nil, false)
}

// ok checks the flow can take a step: it has not ended and has streams.
func (f *Flow) ok(step string) bool {
	if f.p.Err() != nil {
		return false
	}
	if f.terminal != "" {
		f.fail("%s: the flow ended with %s; branch it with Fork before that step", step, f.terminal)
		return false
	}
	if len(f.streams) == 0 {
		f.fail("%s: the flow has no streams yet: start it with Capture, BatchCapture or Inject", step)
		return false
	}
	return true
}

// single checks the flow has one stream: batched, or one unbatched.
func (f *Flow) single(step string) bool {
	if !f.ok(step) {
		return false
	}
	if len(f.streams) > 1 {
		f.fail("%s: the flow has %d unbatched streams (%s): multiple streams must be batched first (call Batch)",
			step, len(f.streams), strings.Join(f.streams, ", "))
		return false
	}
	return true
}

// step adds one element after the flow's single stream.
func (f *Flow) step(step, kind, role string, o *options) (string, bool) {
	if !f.single(strings.ToUpper(step[:1]) + step[1:]) {
		return "", false
	}
	name := o.name
	if name == "" {
		name = f.p.nextName(step, role)
	}
	if f.p.add(kind, name, o) == nil {
		return "", false
	}
	f.p.Link(f.streams[0], name)
	return name, f.p.Err() == nil
}

// Batch batches the flow's streams into one (DeepStream's nvstreammux):
// batch-size defaults to the number of streams, width and height to the
// first frame's size.
func (f *Flow) Batch(opts ...Option) *Flow { return f.batch(false, opts...) }

// batch adds the batcher; empty allows a batcher without streams yet.
func (f *Flow) batch(empty bool, opts ...Option) *Flow {
	if f.p.Err() != nil {
		return f.next(nil, false)
	}
	if !empty && !f.ok("Batch") {
		return f.next(nil, false)
	}
	if f.batched {
		return f.fail("Batch: the flow is already batched")
	}
	o := collect(opts)
	if _, set := o.props["batch-size"]; !set {
		o.props["batch-size"] = len(f.streams)
	}
	name := o.name
	if name == "" {
		name = f.p.nextName("batch", "mux")
	}
	if f.p.add("nvstreammux", name, o) == nil {
		return f.next(nil, false)
	}
	for _, s := range f.streams {
		f.p.Link(s, name)
	}
	out := f.next([]string{name}, true)
	out.size, _ = o.props["batch-size"].(int)
	if out.size <= 0 {
		out.size, _ = o.props["max-batch-size"].(int)
	}
	if out.size <= 0 {
		out.size = len(f.streams)
	}
	return out
}

// Add adds an element of any registered kind after the flow's stream, the
// generic step for kinds without a method of their own.
func (f *Flow) Add(kind string, opts ...Option) *Flow {
	name, ok := f.step("add", kind, strings.ReplaceAll(kind, "-", ""), collect(opts))
	if !ok {
		return f.next(nil, false)
	}
	return f.next([]string{name}, f.batched)
}

// Attach attaches what to each of the flow's streams (see
// Pipeline.Attach); Tip("sink") puts probes on the inputs instead. The
// returned Flow has the same streams. On a Fork, Attach starts a branch (an
// identity element) and attaches to it, so the probe sees that branch only.
func (f *Flow) Attach(what any, opts ...Option) *Flow {
	if !f.ok("Attach") {
		return f.next(nil, false)
	}
	if f.fork {
		name, ok := f.step("fork", "identity", "branch", &options{props: Props{}})
		if !ok {
			return f.next(nil, false)
		}
		return f.next([]string{name}, f.batched).Attach(what, opts...)
	}
	o := collect(opts)
	for _, s := range f.streams {
		f.p.Attach(s, what, o.tip)
	}
	return f.next(f.streams, f.batched)
}

// Fork makes a branch point: each later step called on the returned Flow
// starts a branch of its own, and every branch sees every buffer (the
// metadata is copied for each branch after the first).
func (f *Flow) Fork() *Flow {
	name, ok := f.step("fork", "tee", "tee", &options{props: Props{}})
	if !ok {
		return f.next(nil, false)
	}
	fk := f.next([]string{name}, f.batched)
	fk.fork = true
	return fk
}
