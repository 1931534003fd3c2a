// Package dsgraph reads DeepStream Service Maker's pipeline graph YAML
// (the `deepstream:` document with `nodes` and `edges` that
// Pipeline(name, config_file) loads and the sample apps' *_config_x86.yaml
// files write) and turns it into a plan of vidflow elements, links and
// probe attachments. Errors name the file, the line and the node.
package dsgraph

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
	"gopkg.in/yaml.v3"
)

// maxGraphSize bounds the file read: a graph is a few kilobytes.
const maxGraphSize = 4 << 20

// Graph is the graph as the file writes it.
type Graph struct {
	File  string
	Nodes []*Node
	Edges []Edge
}

// Node is one entry of `nodes`.
type Node struct {
	Name, Type string
	Props      map[string]any
	PropOrder  []string       // keys in file order, for stable errors
	PropLines  map[string]int // line of each property
	Line       int
}

// Edge is one target of one key of `edges`: From (with an optional pad,
// "pgie.src") to To.
type Edge struct {
	From, Pad, To string
	Line          int
}

// Error is a graph error naming the file, line and node.
type Error struct {
	File string
	Line int
	Node string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Node != "" {
		fmt.Fprintf(&b, ": node %q", e.Node)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func (g *Graph) errorf(line int, node, format string, args ...any) error {
	return &Error{File: g.File, Line: line, Node: node, Err: fmt.Errorf(format, args...)}
}

// Load reads and parses a graph file.
func Load(path string) (*Graph, error) {
	data, err := config.ReadFile(path, maxGraphSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a graph; path is used in errors.
func Parse(path string, data []byte) (g *Graph, err error) {
	g = &Graph{File: path}
	defer func() {
		if v := recover(); v != nil { // hostile input must not panic the caller
			g, err = nil, g.errorf(0, "", "invalid YAML: %v", v)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, g.errorf(0, "", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, g.errorf(0, "", "empty file: want a `deepstream:` mapping with nodes and edges")
	}
	root := doc.Content[0]
	ds := lookup(root, "deepstream")
	if ds == nil {
		return nil, g.errorf(root.Line, "", "no `deepstream:` key: a Service Maker pipeline graph is `deepstream: {nodes: [...], edges: {...}}`")
	}
	if ds.Kind != yaml.MappingNode {
		return nil, g.errorf(ds.Line, "", "`deepstream:` must be a mapping with nodes and edges")
	}
	for i := 0; i+1 < len(ds.Content); i += 2 {
		switch k := ds.Content[i].Value; k {
		case "nodes", "edges":
		default:
			return nil, g.errorf(ds.Content[i].Line, "", "unknown key %q under deepstream: (want nodes, edges)", k)
		}
	}
	nodes := lookup(ds, "nodes")
	if nodes == nil || nodes.Kind != yaml.SequenceNode || len(nodes.Content) == 0 {
		return nil, g.errorf(ds.Line, "", "`nodes:` must be a non-empty list of {type, name, properties}")
	}
	seen := map[string]*Node{}
	for _, n := range nodes.Content {
		node, err := g.parseNode(n)
		if err != nil {
			return nil, err
		}
		if prev := seen[node.Name]; prev != nil {
			return nil, g.errorf(node.Line, node.Name, "name used twice (first on line %d)", prev.Line)
		}
		seen[node.Name] = node
		g.Nodes = append(g.Nodes, node)
	}
	if edges := lookup(ds, "edges"); edges != nil {
		if err := g.parseEdges(edges); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *Graph) parseNode(n *yaml.Node) (*Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, g.errorf(n.Line, "", "a node must be a mapping {type, name, properties}")
	}
	node := &Node{Line: n.Line, Props: map[string]any{}, PropLines: map[string]int{}}
	var props *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "type":
			node.Type = strings.TrimSpace(v.Value)
		case "name":
			node.Name = strings.TrimSpace(v.Value)
		case "properties":
			props = v
		default:
			return nil, g.errorf(k.Line, node.Name, "unknown key %q (a node has type, name, properties)", k.Value)
		}
	}
	switch {
	case node.Name == "":
		return nil, g.errorf(n.Line, "", "node without a name (type %q)", node.Type)
	case node.Type == "":
		return nil, g.errorf(n.Line, node.Name, "node without a type")
	case strings.ContainsAny(node.Name, " /"):
		return nil, g.errorf(n.Line, node.Name, "a node name may not contain spaces or '/'")
	}
	if props == nil || (props.Kind == yaml.ScalarNode && props.Tag == "!!null") {
		return node, nil
	}
	if props.Kind != yaml.MappingNode {
		return nil, g.errorf(props.Line, node.Name, "properties must be a mapping of property names to values")
	}
	for i := 0; i+1 < len(props.Content); i += 2 {
		k, v := props.Content[i], props.Content[i+1]
		val, err := scalar(v)
		if err != nil {
			return nil, g.errorf(v.Line, node.Name, "property %q: %v", k.Value, err)
		}
		if _, dup := node.Props[k.Value]; dup {
			return nil, g.errorf(k.Line, node.Name, "property %q given twice", k.Value)
		}
		node.Props[k.Value] = val
		node.PropOrder = append(node.PropOrder, k.Value)
		node.PropLines[k.Value] = k.Line
	}
	return node, nil
}

// scalar decodes a property value; a list becomes DeepStream's
// ";"-joined text.
func scalar(v *yaml.Node) (any, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		var x any
		if err := v.Decode(&x); err != nil {
			return nil, err
		}
		if x == nil {
			return "", nil
		}
		return x, nil
	case yaml.SequenceNode:
		var parts []string
		for _, c := range v.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, errors.New("a list of values must hold scalars")
			}
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, ";"), nil
	}
	return nil, errors.New("want a scalar or a list of scalars")
}

func (g *Graph) parseEdges(edges *yaml.Node) error {
	if edges.Kind == yaml.ScalarNode && edges.Tag == "!!null" {
		return nil
	}
	if edges.Kind != yaml.MappingNode {
		return g.errorf(edges.Line, "", "`edges:` must be a mapping: source: target, or source: [target, probe, ...]")
	}
	for i := 0; i+1 < len(edges.Content); i += 2 {
		k, v := edges.Content[i], edges.Content[i+1]
		from, pad, _ := strings.Cut(strings.TrimSpace(k.Value), ".")
		var targets []*yaml.Node
		switch v.Kind {
		case yaml.ScalarNode:
			targets = []*yaml.Node{v}
		case yaml.SequenceNode:
			targets = v.Content
		default:
			return g.errorf(v.Line, from, "edge targets must be a name or a list of names")
		}
		for _, t := range targets {
			if t.Kind != yaml.ScalarNode || strings.TrimSpace(t.Value) == "" {
				return g.errorf(t.Line, from, "edge target must be a node name")
			}
			to, _, _ := strings.Cut(strings.TrimSpace(t.Value), ".")
			g.Edges = append(g.Edges, Edge{From: from, Pad: pad, To: to, Line: t.Line})
		}
	}
	return nil
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// Node returns the node named name, or nil.
func (g *Graph) Node(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}
