package dsgraph

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/modules"
)

// Plan is what a graph becomes in vidflow: elements to add (in file
// order), links (in file order, which gives a batcher's inputs their
// SourceIDs) and probes to attach.
type Plan struct {
	Elements []Element
	Links    []Link
	Probes   []Probe
	// Notes say what was absorbed or dropped on the way (GStreamer parsers,
	// decoders and converters vidflow's sources and sinks contain).
	Notes []string
}

// Element is one element to add.
type Element struct {
	Name, Kind string
	Type       string // the type the file gave
	Props      map[string]any
	Line       int
}

// Link links From's output to To's input.
type Link struct {
	From, To string
	Line     int
}

// Probe is a Service Maker module (probe plugin) attached to Target.
type Probe struct {
	Name, Module, Target, Tip string
	Props                     map[string]any
	Line                      int
}

// Element returns the planned element named name, or nil.
func (p *Plan) Element(name string) *Element {
	for i := range p.Elements {
		if p.Elements[i].Name == name {
			return &p.Elements[i]
		}
	}
	return nil
}

// pnode is a node during planning.
type pnode struct {
	*Node
	kind     string // vidflow kind; "" while absorbed or a probe
	tr       *translation
	role     element.Role
	probe    string // module name when a probe node
	absorbed bool
}

type edge struct {
	from, to *pnode
	line     int
}

// Plan translates the graph against the element kinds of reg.
func (g *Graph) Plan(reg *element.Registry) (*Plan, error) {
	byName := map[string]*pnode{}
	var nodes []*pnode
	for _, n := range g.Nodes {
		pn, err := g.classify(n, reg)
		if err != nil {
			return nil, err
		}
		byName[n.Name] = pn
		nodes = append(nodes, pn)
	}
	plan := &Plan{}
	var edges []edge
	var probes []Probe
	for _, e := range g.Edges {
		from, to := byName[e.From], byName[e.To]
		switch {
		case from == nil:
			return nil, g.errorf(e.Line, e.From, "edge from a node that does not exist (nodes: %s)", g.names())
		case to == nil:
			return nil, g.errorf(e.Line, e.From, "edge to %q, which is no node (nodes: %s)", e.To, g.names())
		case from.probe != "":
			return nil, g.errorf(e.Line, e.From, "%s is a probe: it is attached to an element, nothing links from it", from.Type)
		case from == to:
			return nil, g.errorf(e.Line, e.From, "edge to itself")
		case to.probe != "":
			tip := "src"
			if e.Pad == "sink" {
				tip = "sink"
			}
			probes = append(probes, Probe{Name: to.Name, Module: to.probe, Target: from.Name, Tip: tip, Props: to.Props, Line: e.Line})
			continue
		case e.Pad == "sink":
			return nil, g.errorf(e.Line, e.From, "edge from the sink pad to %q: elements link from their src side (a probe may sit on the sink side)", e.To)
		}
		edges = append(edges, edge{from: from, to: to, line: e.Line})
	}
	edges, probes, err := g.absorb(nodes, edges, probes, plan)
	if err != nil {
		return nil, err
	}
	if err := g.check(byName, edges, probes); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n.absorbed || n.probe != "" {
			continue
		}
		props, err := n.tr.resolve(g, n, reg, plan)
		if err != nil {
			return nil, err
		}
		plan.Elements = append(plan.Elements, Element{Name: n.Name, Kind: n.kind, Type: n.Type, Props: props, Line: n.Line})
	}
	for _, e := range edges {
		plan.Links = append(plan.Links, Link{From: e.from.Name, To: e.to.Name, Line: e.line})
	}
	plan.Probes = probes
	return plan, nil
}

// classify decides what a node becomes: a vidflow kind (directly or
// through a translation), an absorbed GStreamer element, or a probe.
func (g *Graph) classify(n *Node, reg *element.Registry) (*pnode, error) {
	pn := &pnode{Node: n}
	if mod, ok := probeModule(n.Type); ok {
		if !slices.Contains(Modules, mod) {
			return nil, g.errorf(n.Line, n.Name, "unknown module %q (vidflow has the modules %s)", n.Type, strings.Join(Modules, ", "))
		}
		pn.probe = mod
		return pn, nil
	}
	tr, ok := translations[n.Type]
	if !ok {
		if _, err := reg.Lookup(n.Type); err != nil {
			return nil, g.errorf(n.Line, n.Name, "unknown type %q: vidflow has the kinds %s, takes the GStreamer elements %s, and the modules %s",
				n.Type, strings.Join(reg.Names(), ", "), strings.Join(translated(), ", "), strings.Join(Modules, ", "))
		}
		tr = &translation{kind: n.Type}
	}
	if tr.unsupported != "" {
		return nil, g.errorf(n.Line, n.Name, "type %q is not in vidflow: %s", n.Type, tr.unsupported)
	}
	pn.tr = tr
	if tr.kind == "" {
		pn.absorbed = true
		return pn, nil
	}
	spec, err := reg.Lookup(tr.kind)
	if err != nil {
		return nil, g.errorf(n.Line, n.Name, "%v", err)
	}
	pn.kind, pn.role = spec.Kind, spec.Role
	return pn, nil
}

// absorb takes the absorbed nodes (parsers, decoders, converters, muxers,
// encoders: vidflow's sources and sinks contain them) out of the graph,
// linking their inputs to their outputs in their place; their probes move
// to the element upstream (or, for one without input, downstream's input).
func (g *Graph) absorb(nodes []*pnode, edges []edge, probes []Probe, plan *Plan) ([]edge, []Probe, error) {
	for _, a := range nodes {
		if !a.absorbed {
			continue
		}
		var ins []*pnode
		for _, e := range edges {
			if e.to == a {
				ins = append(ins, e.from)
			}
		}
		var out []edge
		for _, e := range edges {
			switch {
			case e.to == a:
			case e.from == a:
				for _, in := range ins {
					out = append(out, edge{from: in, to: e.to, line: e.line})
				}
			default:
				out = append(out, e)
			}
		}
		var firstOut *pnode
		for _, e := range edges {
			if e.from == a {
				firstOut = e.to
				break
			}
		}
		edges = out
		for i := range probes {
			if probes[i].Target != a.Name {
				continue
			}
			switch {
			case len(ins) == 1:
				probes[i].Target, probes[i].Tip = ins[0].Name, "src"
			case len(ins) == 0 && firstOut != nil:
				probes[i].Target, probes[i].Tip = firstOut.Name, "sink"
			default:
				return nil, nil, g.errorf(probes[i].Line, a.Name, "probe %q on %s, which vidflow absorbs (%s) and which has %d inputs: attach it to a neighbour",
					probes[i].Name, a.Type, a.tr.why, len(ins))
			}
		}
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s:%d: node %q (%s): %s", g.File, a.Line, a.Name, a.Type, a.tr.why))
	}
	return dedupe(edges), probes, nil
}

// dedupe drops repeated links (a decoder and a converter absorbed between
// the same two elements make one link).
func dedupe(edges []edge) []edge {
	var out []edge
	for _, e := range edges {
		dup := false
		for _, o := range out {
			if o.from == e.from && o.to == e.to {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out
}

// check finds what the engine would find later without a line: links into
// sources or out of sinks, probes on tips that do not exist, cycles.
func (g *Graph) check(byName map[string]*pnode, edges []edge, probes []Probe) error {
	for _, e := range edges {
		switch {
		case e.from.role == element.RoleSink:
			return g.errorf(e.line, e.from.Name, "%s is a sink (vidflow kind %s) and has no output to link to %q", e.from.Type, e.from.kind, e.to.Name)
		case e.to.role == element.RoleSource:
			return g.errorf(e.line, e.from.Name, "edge to %q: %s is a source (vidflow kind %s) and takes no input", e.to.Name, e.to.Type, e.to.kind)
		}
	}
	for _, p := range probes {
		t := byName[p.Target]
		switch {
		case p.Tip == "sink" && t.role == element.RoleSource:
			return g.errorf(p.Line, p.Target, "probe %q on the sink side of %s, a source: it has no sink tip (use src)", p.Name, t.Type)
		case p.Tip == "src" && t.role == element.RoleSink:
			return g.errorf(p.Line, p.Target, "probe %q on the src side of %s, a sink: it has no src tip (use %s.sink: %s)", p.Name, t.Type, p.Target, p.Name)
		}
	}
	return g.cycle(edges)
}

func (g *Graph) cycle(edges []edge) error {
	outs := map[*pnode][]edge{}
	var order []*pnode
	for _, e := range edges {
		if _, ok := outs[e.from]; !ok {
			order = append(order, e.from)
		}
		outs[e.from] = append(outs[e.from], e)
	}
	state := map[*pnode]int{}
	var path []*pnode
	var visit func(n *pnode) error
	visit = func(n *pnode) error {
		state[n] = 1
		path = append(path, n)
		for _, e := range outs[n] {
			switch state[e.to] {
			case 1:
				i := slices.Index(path, e.to)
				var names []string
				for _, p := range path[i:] {
					names = append(names, p.Name)
				}
				names = append(names, e.to.Name)
				return g.errorf(e.line, n.Name, "the edges form a cycle: %s", strings.Join(names, " → "))
			case 0:
				if err := visit(e.to); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = 2
		return nil
	}
	for _, n := range order {
		if state[n] == 0 {
			if err := visit(n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *Graph) names() string {
	var n []string
	for _, x := range g.Nodes {
		n = append(n, x.Name)
	}
	return strings.Join(n, ", ")
}

func translated() []string {
	var n []string
	for k, t := range translations {
		if t.unsupported == "" {
			n = append(n, k)
		}
	}
	sort.Strings(n)
	return n
}

// probeModule reports whether a type names a Service Maker module
// ("sample_video_probe.sample_video_probe", or the bare module name).
func probeModule(t string) (string, bool) {
	mod, _, dotted := strings.Cut(t, ".")
	if dotted || slices.Contains(Modules, t) {
		return mod, true
	}
	return "", false
}

// Modules are the Service Maker probe modules vidflow has (see
// internal/modules).
var Modules = modules.Names()
