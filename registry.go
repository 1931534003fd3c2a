package vidflow

import (
	"sync"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements"
)

// PipelineOption configures NewPipeline.
type PipelineOption func(*pipelineConfig)

type pipelineConfig struct {
	kinds *element.Registry
}

// WithRegistry makes the pipeline take its element kinds from r instead of
// the default registry: BuiltinKinds gives one to extend without touching
// the process-wide default.
func WithRegistry(r *element.Registry) PipelineOption {
	return func(c *pipelineConfig) {
		if r != nil {
			c.kinds = r
		}
	}
}

// BuiltinKinds returns a new registry holding every built-in element kind,
// for a pipeline (WithRegistry) with kinds of its own.
func BuiltinKinds() *element.Registry { return elements.NewRegistry() }

// defaultKinds is made on first use so that a program that never builds
// a pipeline pays nothing for it.
var defaultKinds = sync.OnceValue(BuiltinKinds)

// DefaultRegistry is the registry of pipelines made without WithRegistry:
// the built-in kinds and those added by RegisterKind.
func DefaultRegistry() *element.Registry { return defaultKinds() }

// RegisterKind adds an element kind to the default registry, so that
// Pipeline.Add (and Flow.Add) of every pipeline can make it. Its
// properties are checked like the built-in kinds'.
func RegisterKind(spec element.KindSpec) error { return DefaultRegistry().Register(spec) }

// Kinds lists the element kinds of the default registry.
func Kinds() []string { return DefaultRegistry().Names() }

// KindSpecs returns the default registry's element kinds, sorted by name.
func KindSpecs() []*element.KindSpec { return DefaultRegistry().Specs() }
