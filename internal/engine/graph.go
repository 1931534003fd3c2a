// Package engine runs vidflow pipelines: a graph of elements, each a
// goroutine, linked by bounded queues that carry buffers and events.
package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// Probe is a function run on every buffer leaving (tip "src") or entering
// (tip "sink") an element. It returns false to drop the buffer.
type Probe struct {
	Name string
	Fn   func(*media.Buffer) bool
}

// Node is an element in a graph.
type Node struct {
	Name       string
	Spec       *element.KindSpec
	Config     *element.Config
	Elem       element.Element
	ins, outs  []*Node
	srcProbes  []Probe
	sinkProbes []Probe
	// QueueSize and Leaky configure the node's input queues.
	QueueSize int
	Leaky     element.Leaky
	// OnStreamError, when set, sees the error of this source when it ends
	// only its stream (see StreamIsolator), before the stream's end.
	OnStreamError func(error)
}

// Inputs are the nodes linked to this one, in link order.
func (n *Node) Inputs() []*Node { return n.ins }

// Outputs are the nodes this one links to.
func (n *Node) Outputs() []*Node { return n.outs }

// Graph is a set of named elements and the links between them.
type Graph struct {
	Name   string
	reg    *element.Registry
	nodes  []*Node
	byName map[string]*Node
}

// NewGraph returns an empty graph whose kinds come from reg.
func NewGraph(name string, reg *element.Registry) *Graph {
	return &Graph{Name: name, reg: reg, byName: map[string]*Node{}}
}

// Nodes lists the graph's nodes in the order they were added.
func (g *Graph) Nodes() []*Node { return g.nodes }

// Node finds a node by name.
func (g *Graph) Node(name string) *Node { return g.byName[name] }

// Add makes an element of the given kind and adds it.
func (g *Graph) Add(kind, name string, props element.Props) (*Node, error) {
	if name == "" {
		return nil, fmt.Errorf("add %q: element name is empty", kind)
	}
	if _, dup := g.byName[name]; dup {
		return nil, fmt.Errorf("add %q: an element named %q already exists", kind, name)
	}
	spec, err := g.reg.Lookup(kind)
	if err != nil {
		return nil, fmt.Errorf("add %q: %w", name, err)
	}
	cfg, err := element.NewConfig(spec, name, props)
	if err != nil {
		return nil, err
	}
	elem, err := spec.New(cfg)
	if err != nil {
		return nil, wrapElement(name, spec.Kind, err)
	}
	n := &Node{Name: name, Spec: spec, Config: cfg, Elem: elem, QueueSize: element.DefaultQueueSize}
	if q, ok := elem.(element.Queued); ok {
		n.QueueSize, n.Leaky = q.QueueConfig()
	}
	g.nodes = append(g.nodes, n)
	g.byName[name] = n
	return n, nil
}

// Remove takes a source element that has stopped out of the graph (a
// stream removed from a running batcher).
func (g *Graph) Remove(name string) {
	n := g.byName[name]
	if n == nil {
		return
	}
	delete(g.byName, name)
	g.nodes = slices.DeleteFunc(g.nodes, func(x *Node) bool { return x == n })
	for _, o := range n.outs {
		o.ins = slices.DeleteFunc(o.ins, func(x *Node) bool { return x == n })
	}
}

// Link links element a's output to element b's input.
func (g *Graph) Link(a, b string) error {
	na, nb := g.byName[a], g.byName[b]
	switch {
	case na == nil:
		return fmt.Errorf("link %q → %q: no element named %q", a, b, a)
	case nb == nil:
		return fmt.Errorf("link %q → %q: no element named %q", a, b, b)
	case na == nb:
		return fmt.Errorf("link %q → %q: an element cannot link to itself", a, b)
	case na.Spec.Role == element.RoleSink:
		return fmt.Errorf("link %q → %q: %q is a sink (%s) and has no output", a, b, a, na.Spec.Kind)
	case nb.Spec.Role == element.RoleSource:
		return fmt.Errorf("link %q → %q: %q is a source (%s) and takes no input", a, b, b, nb.Spec.Kind)
	}
	for _, o := range na.outs {
		if o == nb {
			return fmt.Errorf("link %q → %q: already linked", a, b)
		}
	}
	na.outs = append(na.outs, nb)
	nb.ins = append(nb.ins, na)
	return nil
}

// AddProbe attaches a probe to an element's output ("src", the default) or
// input ("sink").
func (g *Graph) AddProbe(name string, p Probe, tip string) error {
	n := g.byName[name]
	if n == nil {
		return fmt.Errorf("attach %q: no element named %q", p.Name, name)
	}
	switch tip {
	case "", "src":
		n.srcProbes = append(n.srcProbes, p)
	case "sink":
		n.sinkProbes = append(n.sinkProbes, p)
	default:
		return fmt.Errorf("attach %q to %q: unknown tip %q (want \"src\" or \"sink\")", p.Name, name, tip)
	}
	return nil
}

// Attach hands a user object to an element that takes it.
func (g *Graph) Attach(name string, what any, tip string) error {
	n := g.byName[name]
	if n == nil {
		return fmt.Errorf("attach %T: no element named %q", what, name)
	}
	a, ok := n.Elem.(element.Attacher)
	if !ok {
		return fmt.Errorf("attach %T to %q: element kind %s takes no attachments", what, name, n.Spec.Kind)
	}
	if err := a.Attach(what, tip); err != nil {
		if errors.Is(err, element.ErrNotAttachable) {
			return fmt.Errorf("attach %T to %q: element kind %s does not take it", what, name, n.Spec.Kind)
		}
		return wrapElement(name, n.Spec.Kind, err)
	}
	return nil
}

// Validate checks that the graph can run: every element has the inputs and
// outputs its role needs, and there are no cycles.
func (g *Graph) Validate() error {
	if len(g.nodes) == 0 {
		return fmt.Errorf("pipeline %q has no elements", g.Name)
	}
	for _, n := range g.nodes {
		e := func(format string, args ...any) error {
			return &element.ElementError{Element: n.Name, Kind: n.Spec.Kind, Err: fmt.Errorf(format, args...)}
		}
		role := n.Spec.Role
		switch {
		case role != element.RoleSource && len(n.ins) == 0 && !element.AcceptsInputs(n.Elem):
			return e("nothing is linked to its input")
		case (role == element.RoleTransform || role == element.RoleSink) && len(n.ins) > 1:
			return e("it takes one stream and %d are linked (%s): multiple streams must be batched first", len(n.ins), names(n.ins))
		case role != element.RoleSink && len(n.outs) == 0:
			return e("its output goes nowhere: end the branch with a sink (Render, Encode, Publish or Retrieve)")
		}
		if c, ok := n.Elem.(element.Checker); ok {
			if err := c.Check(); err != nil {
				return wrapElement(n.Name, n.Spec.Kind, err)
			}
		}
	}
	state := map[*Node]int{}
	var visit func(n *Node) error
	visit = func(n *Node) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("pipeline %q: the links form a cycle through %q", g.Name, n.Name)
		case 2:
			return nil
		}
		state[n] = 1
		for _, o := range n.outs {
			if err := visit(o); err != nil {
				return err
			}
		}
		state[n] = 2
		return nil
	}
	for _, n := range g.nodes {
		if err := visit(n); err != nil {
			return err
		}
	}
	return nil
}

func names(ns []*Node) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.Name
	}
	return strings.Join(s, ", ")
}

func wrapElement(name, kind string, err error) error {
	var ee *element.ElementError
	if errors.As(err, &ee) {
		return err
	}
	return &element.ElementError{Element: name, Kind: kind, Err: err}
}
