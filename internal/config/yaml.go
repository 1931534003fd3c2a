package config

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseYAML parses the YAML form of DeepStream's config files: a mapping
// of groups, each a mapping of keys to scalars or lists of scalars. Lists
// become ";"-joined text, as the INI form writes them. An empty document
// is a file without groups; an empty group ("property:") has no keys.
// Anything deeper is an error naming the line.
func ParseYAML(path string, data []byte) (f *File, err error) {
	f = &File{Path: path, Format: "yaml"}
	defer func() {
		// yaml.v3 is robust, but a panic on hostile input must not take
		// the pipeline down.
		if v := recover(); v != nil {
			f, err = nil, f.Errorf("invalid YAML: %v", v)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(StripYAMLDirective(data), &doc); err != nil {
		return nil, f.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return f, nil
	}
	root := resolve(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: path, Line: root.Line, Err: errors.New("want a mapping of groups (property:, class-attrs-all:, ...)")}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], resolve(root.Content[i+1])
		name, err := scalarKey(path, kn)
		if err != nil {
			return nil, err
		}
		s := &Section{Name: name, Line: kn.Line}
		if !f.add(s) {
			return nil, &Error{File: path, Line: kn.Line, Section: name, Err: errors.New("group appears twice")}
		}
		switch {
		case vn.Kind == yaml.ScalarNode && vn.Tag == "!!null":
			continue
		case vn.Kind != yaml.MappingNode:
			return nil, &Error{File: path, Line: vn.Line, Section: name, Err: errors.New("want a mapping of keys to values")}
		}
		for j := 0; j+1 < len(vn.Content); j += 2 {
			k, v := vn.Content[j], resolve(vn.Content[j+1])
			key, err := scalarKey(path, k)
			if err != nil {
				return nil, err
			}
			text, err := flatten(v)
			if err != nil {
				return nil, &Error{File: path, Line: v.Line, Section: name, Key: key, Err: err}
			}
			s.Values = append(s.Values, Value{File: path, Section: name, Key: key, Text: text, Line: k.Line})
		}
	}
	return f, nil
}

// resolve follows aliases (bounded, against alias loops).
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 16 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func scalarKey(path string, n *yaml.Node) (string, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) == "" {
		return "", &Error{File: path, Line: n.Line, Err: errors.New("keys must be non-empty names")}
	}
	return strings.TrimSpace(n.Value), nil
}

// flatten turns a scalar or a list of scalars into text.
func flatten(n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "", nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			c = resolve(c)
			if c.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("want a list of plain values (line %d)", c.Line)
			}
			items = append(items, c.Value)
		}
		return strings.Join(items, ";"), nil
	}
	return "", errors.New("want a value or a list of values, not a mapping")
}
