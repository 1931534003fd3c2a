package vidflow

import (
	"errors"
	"fmt"
	"sort"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/dsgraph"
	"github.com/vidflow/vidflow/internal/modules"
	"github.com/vidflow/vidflow/media"
)

// deferredGraph holds a graph file's elements until the pipeline is first
// built on or started, so that Set can still change them (a config path
// that exists only on the machine it runs on, a sink for a headless run).
type deferredGraph struct {
	file  string
	plan  *dsgraph.Plan
	built bool // the elements are made: Set and SetKind no longer change the plan
}

// LoadPipeline makes a pipeline from a Service Maker pipeline graph file
// (Pipeline(name, config_file) in Python): the YAML document
//
//	deepstream:
//	  nodes:
//	  - {type: nvinfer, name: pgie, properties: {config-file-path: pgie.yml}}
//	  edges:
//	    nvstreammux: pgie
//	    pgie: [sink, samplevideoprobe]
//
// Node types are vidflow kinds, or the GStreamer elements the sample
// graphs use (filesrc becomes nvurisrcbin; parsers, decoders, converters,
// encoders and muxers are absorbed by the sources and sinks that contain
// them; nvmsgconv + nvmsgbroker become nvmsgbrokersinkbin), or Service
// Maker's probe modules (sample_video_probe.sample_video_probe, ...),
// which an edge attaches to its source element ("elem.sink: probe" for the
// input side). The file is checked at once — unknown types, edges to
// nothing, cycles, probes on a tip an element lacks, unknown properties —
// with errors naming the file, the line and the node. The elements are made
// at the first Add, Link, Attach or Start: until then Set changes them.
// Sources may be added and linked to the graph's elements after loading.
func LoadPipeline(name, path string, opts ...PipelineOption) (*Pipeline, error) {
	g, err := dsgraph.Load(path)
	if err != nil {
		return nil, err
	}
	p := NewPipeline(name, opts...)
	plan, err := g.Plan(p.kinds)
	if err != nil {
		return nil, err
	}
	p.deferred = &deferredGraph{file: path, plan: plan}
	return p, nil
}

// GraphNotes says what LoadPipeline absorbed or left out of the file (a
// decoder inside vidflow's source, a sink's GStreamer-only property),
// with file and line.
func (p *Pipeline) GraphNotes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deferred == nil {
		return nil
	}
	return p.deferred.plan.Notes
}

// Set changes properties of an element. Before the pipeline is built on
// (LoadPipeline's elements, until the first Add, Link, Attach or Start) it
// changes what the element is made with, as Service Maker's
// pipeline["pgie"].set({...}) does; once running, it is SetProperty for
// each property.
func (p *Pipeline) Set(elem string, props Props) error {
	p.mu.Lock()
	if d := p.deferred; d != nil && !d.built {
		defer p.mu.Unlock()
		e := d.plan.Element(elem)
		if e == nil {
			return fmt.Errorf("Set: %s has no element %q", d.file, elem)
		}
		spec, err := p.kinds.Lookup(e.Kind)
		if err != nil {
			return err
		}
		merged := element.Props{}
		for k, v := range e.Props {
			merged[k] = v
		}
		for k, v := range props {
			merged[element.NormalizeName(k)] = v
		}
		if _, err := element.NewConfig(spec, elem, merged); err != nil {
			return fmt.Errorf("Set: %w", err)
		}
		e.Props = merged
		return nil
	}
	started := p.run != nil
	p.mu.Unlock()
	if !started {
		return fmt.Errorf("Set: element %q is already made: Set changes a graph file's elements before the first Add, Link, Attach or Start, and running elements' properties", elem)
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := p.SetProperty(elem, element.NormalizeName(k), props[k]); err != nil {
			return err
		}
	}
	return nil
}

// SetKind changes the kind of a graph file's element before it is made
// (a display sink made a fakesink for a headless run), keeping the
// properties the new kind has too.
func (p *Pipeline) SetKind(elem, kind string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.deferred
	if d == nil || d.built {
		return fmt.Errorf("SetKind: element %q is already made (SetKind works on LoadPipeline's elements before the first Add, Link, Attach or Start)", elem)
	}
	e := d.plan.Element(elem)
	if e == nil {
		return fmt.Errorf("SetKind: %s has no element %q", d.file, elem)
	}
	spec, err := p.kinds.Lookup(kind)
	if err != nil {
		return fmt.Errorf("SetKind %q: %w", elem, err)
	}
	kept := map[string]any{}
	for k, v := range e.Props {
		for _, ps := range spec.Props {
			if ps.Name == k {
				kept[k] = v
			}
		}
	}
	e.Kind, e.Props = spec.Kind, kept
	return nil
}

// materialize makes a graph file's elements, links and probes, once.
func (p *Pipeline) materialize() {
	p.mu.Lock()
	d := p.deferred
	build := d != nil && !d.built
	if build {
		d.built = true
	}
	p.mu.Unlock()
	if build {
		p.setErr(p.buildGraph(d))
	}
}

func (p *Pipeline) buildGraph(d *deferredGraph) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := func(line int, node string, err error) error {
		var ee *element.ElementError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%s: %w", ee.Kind, ee.Err)
		}
		return &dsgraph.Error{File: d.file, Line: line, Node: node, Err: err}
	}
	for _, e := range d.plan.Elements {
		if _, err := p.g.Add(e.Kind, e.Name, element.Props(e.Props)); err != nil {
			return at(e.Line, e.Name, err)
		}
	}
	for _, l := range d.plan.Links {
		if err := p.g.Link(l.From, l.To); err != nil {
			return at(l.Line, l.From, err)
		}
	}
	for _, pr := range d.plan.Probes {
		m, err := modules.New(pr.Module, pr.Name, pr.Props, nil)
		if err != nil {
			return at(pr.Line, pr.Name, err)
		}
		ep, _ := NewProbe(pr.Name, func(b *media.BatchMeta) { m(b) }).engineProbe()
		if err := p.g.AddProbe(pr.Target, ep, pr.Tip); err != nil {
			return at(pr.Line, pr.Name, err)
		}
	}
	return nil
}
