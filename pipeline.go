package vidflow

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
)

// Pipeline is a graph of elements that runs as goroutines linked by
// bounded queues. Build it with Add, Link and Attach (or a Flow), then Run
// it, or Start it and Wait. Building methods record the first error, which
// Err, Start and Run return; nothing panics.
type Pipeline struct {
	name     string
	kinds    *element.Registry
	g        *engine.Graph
	mu       sync.Mutex
	err      error
	run      *engine.Run
	onMsg    func(element.Message)
	counters map[string]int
	streams  streamTable
	deferred *deferredGraph // a graph file's elements, added at the first build step or Start (graphfile.go)
}

// NewPipeline returns an empty pipeline. Its element kinds come from the
// default registry (every built-in kind and those added by RegisterKind)
// unless WithRegistry gives another.
func NewPipeline(name string, opts ...PipelineOption) *Pipeline {
	c := pipelineConfig{kinds: DefaultRegistry()}
	for _, o := range opts {
		o(&c)
	}
	return &Pipeline{name: name, kinds: c.kinds, g: engine.NewGraph(name, c.kinds), counters: map[string]int{}}
}

// Name is the pipeline's name.
func (p *Pipeline) Name() string { return p.name }

// Err returns the first error met while building the pipeline.
func (p *Pipeline) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *Pipeline) setErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil && err != nil {
		p.err = err
	}
}

// building reports whether the pipeline can still be changed, recording an
// error when it cannot.
func (p *Pipeline) building(op string) bool {
	p.materialize()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return false
	}
	if p.run != nil {
		p.err = fmt.Errorf("%s: pipeline %q is already started", op, p.name)
		return false
	}
	return true
}

// Add adds an element of a registered kind (see Kinds) with properties.
func (p *Pipeline) Add(kind, name string, props Props) *Pipeline {
	p.add(kind, name, &options{props: props})
	return p
}

func (p *Pipeline) add(kind, name string, o *options) *engine.Node {
	if !p.building("Add") {
		return nil
	}
	n, err := p.g.Add(kind, name, element.Props(o.props))
	if err != nil {
		p.setErr(err)
		return nil
	}
	if o.queueSize != 0 {
		if o.queueSize < 0 || o.queueSize > 4096 {
			p.setErr(fmt.Errorf("element %q: queue size %d out of range (1..4096)", name, o.queueSize))
			return nil
		}
		n.QueueSize = o.queueSize
	}
	if o.leaky != element.Block {
		n.Leaky = o.leaky
	}
	return n
}

// Link links the named elements in a chain: Link("a", "b", "c") links a to
// b and b to c. Linking several elements to a batcher gives it one input
// each, in link order (its SourceIDs); linking one element to several makes
// branches, as a tee does.
func (p *Pipeline) Link(names ...string) *Pipeline {
	if !p.building("Link") {
		return p
	}
	if len(names) < 2 {
		p.setErr(fmt.Errorf("Link: need at least two element names, got %d", len(names)))
		return p
	}
	for i := 0; i+1 < len(names); i++ {
		if err := p.g.Link(names[i], names[i+1]); err != nil {
			p.setErr(err)
			return p
		}
	}
	return p
}

// Attach attaches what to an element: a *Probe, or a BufferOperator,
// BatchMetadataOperator, func(*BatchMeta) or func(*Buffer) bool (made into
// a probe), at tip "src" (output, default) or "sink" (input); or a
// BufferProvider to an appsrc, a BufferRetriever to an appsink.
func (p *Pipeline) Attach(element string, what any, tip string) *Pipeline {
	if !p.building("Attach") {
		return p
	}
	if pr, ok := asProbe(what, p.nextName("probe", element)); ok {
		ep, err := pr.engineProbe()
		if err == nil {
			err = p.g.AddProbe(element, ep, tip)
		}
		p.setErr(err)
		return p
	}
	if what == nil {
		p.setErr(fmt.Errorf("attach to %q: nothing to attach (nil)", element))
		return p
	}
	p.setErr(p.g.Attach(element, what, tip))
	return p
}

// OnMessage sets the callback that receives the pipeline's messages, in
// order, on a goroutine of its own. Set it before Start.
func (p *Pipeline) OnMessage(fn func(element.Message)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onMsg = fn
}

// Start checks the pipeline and starts it without waiting.
func (p *Pipeline) Start(ctx context.Context) error {
	if ctx == nil {
		return errors.New("Start: nil context")
	}
	p.materialize()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	if p.run != nil {
		return fmt.Errorf("Start: pipeline %q is already started", p.name)
	}
	user := p.onMsg
	r, err := engine.Start(ctx, p.g, func(m element.Message) {
		p.trackStreams(m)
		if user != nil {
			user(m)
		}
	})
	if err != nil {
		return err
	}
	p.run = r
	return nil
}

// Wait blocks until the pipeline ends: at end-of-stream or after Stop it
// returns nil; when an element fails, its error; when Start's context is
// cancelled, the context's cause (context.Canceled unless one was given).
func (p *Pipeline) Wait() error {
	r, err := p.started("Wait")
	if err != nil {
		return err
	}
	return r.Wait()
}

// Stop ends the pipeline and returns once every element has returned and
// every queued buffer was released. It may be called from any goroutine,
// the OnMessage callback included.
func (p *Pipeline) Stop() error {
	r, err := p.started("Stop")
	if err != nil {
		return err
	}
	return r.Stop()
}

// Run is Start followed by Wait.
func (p *Pipeline) Run(ctx context.Context) error {
	if err := p.Start(ctx); err != nil {
		return err
	}
	return p.Wait()
}

// Stats returns every element's statistics, in the order they were added;
// nil before Start. They stay readable after the pipeline ended.
func (p *Pipeline) Stats() []element.NodeStats {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return nil
	}
	return r.Stats()
}

// SetProperty changes a property of an element, also while the pipeline
// runs, where the element allows it (nvinfer's "interval"). Other
// properties are given to Add.
func (p *Pipeline) SetProperty(elem, name string, value any) error {
	n := p.node(elem)
	if n == nil {
		return fmt.Errorf("SetProperty: no element %q in pipeline %q", elem, p.name)
	}
	s, ok := n.Elem.(element.PropertySetter)
	if !ok {
		return fmt.Errorf("SetProperty: element %q (%s) has no property that can change after Add", elem, n.Spec.Kind)
	}
	if err := s.SetProperty(name, value); err != nil {
		return fmt.Errorf("SetProperty: element %q: %v", elem, err)
	}
	return nil
}

// node finds an element under the lock: AddStream and RemoveStream change
// the graph while the pipeline runs.
func (p *Pipeline) node(name string) *engine.Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.g.Node(name)
}

// Elements lists the names of the pipeline's elements in the order added.
func (p *Pipeline) Elements() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for _, n := range p.g.Nodes() {
		names = append(names, n.Name)
	}
	return names
}

func (p *Pipeline) started(op string) (*engine.Run, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		if p.err != nil {
			return nil, p.err
		}
		return nil, fmt.Errorf("%s: pipeline %q was not started", op, p.name)
	}
	return p.run, nil
}

// nextName returns "<method>-<role>-<n>", n counting per pipeline.
func (p *Pipeline) nextName(method, role string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := method + "-" + role
	n := p.counters[key]
	p.counters[key] = n + 1
	return fmt.Sprintf("%s-%d", key, n)
}
