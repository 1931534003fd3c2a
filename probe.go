package vidflow

import (
	"fmt"

	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/media"
)

// BatchMetadataOperator reads and modifies each batch's metadata.
type BatchMetadataOperator interface {
	HandleMetadata(*media.BatchMeta)
}

// BufferOperator sees each buffer; returning false drops it.
type BufferOperator interface {
	HandleBuffer(*media.Buffer) bool
}

// Probe runs user code on every buffer passing an element's output (or
// input). Probes run on the element's goroutine: keep them light, and safe
// for concurrent use when attached to several elements. Heavy work belongs
// in a BufferRetriever.
type Probe struct {
	name string
	fn   func(*media.Buffer) bool
	err  error
}

// NewProbe makes a probe from a BatchMetadataOperator, a BufferOperator, a
// func(*BatchMeta) or a func(*Buffer) bool. Another op is an error reported
// when the probe is attached.
func NewProbe(name string, op any) *Probe {
	p := &Probe{name: name}
	switch o := op.(type) {
	case BufferOperator:
		p.fn = o.HandleBuffer
	case BatchMetadataOperator:
		p.fn = func(b *media.Buffer) bool { o.HandleMetadata(b.Meta()); return true }
	case func(*media.Buffer) bool:
		p.fn = o
	case func(*media.BatchMeta):
		p.fn = func(b *media.Buffer) bool { o(b.Meta()); return true }
	default:
		p.err = fmt.Errorf("probe %q: %T is not a BatchMetadataOperator, BufferOperator, func(*media.BatchMeta) or func(*media.Buffer) bool", name, op)
	}
	if p.fn == nil && p.err == nil {
		p.err = fmt.Errorf("probe %q: nil operator", name)
	}
	return p
}

// Name is the probe's name.
func (p *Probe) Name() string { return p.name }

func (p *Probe) engineProbe() (engine.Probe, error) {
	if p == nil {
		return engine.Probe{}, fmt.Errorf("nil probe")
	}
	return engine.Probe{Name: p.name, Fn: p.fn}, p.err
}

// asProbe turns what Attach accepts as a probe into one; ok is false when
// what is not probe-like (a provider, a retriever...).
func asProbe(what any, defaultName string) (*Probe, bool) {
	switch w := what.(type) {
	case *Probe:
		return w, true
	case BufferOperator, BatchMetadataOperator, func(*media.Buffer) bool, func(*media.BatchMeta):
		return NewProbe(defaultName, w), true
	}
	return nil, false
}
