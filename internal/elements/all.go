// Package elements holds vidflow's built-in element kinds, one package per
// family, and registers them all: the one place a new family is added.
package elements

import (
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/analytics"
	"github.com/vidflow/vidflow/internal/elements/dskinds"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/elements/mux"
	"github.com/vidflow/vidflow/internal/elements/osd"
	"github.com/vidflow/vidflow/internal/elements/plumbing"
	"github.com/vidflow/vidflow/internal/elements/preprocess"
	"github.com/vidflow/vidflow/internal/elements/publish"
	"github.com/vidflow/vidflow/internal/elements/sinks"
	"github.com/vidflow/vidflow/internal/elements/sources"
	"github.com/vidflow/vidflow/internal/elements/tiler"
	"github.com/vidflow/vidflow/internal/elements/track"
)

// Register adds every built-in element kind to r.
func Register(r *element.Registry) {
	sources.Register(r)
	mux.Register(r)
	preprocess.Register(r)
	infer.Register(r)
	track.Register(r)
	analytics.Register(r)
	osd.Register(r)
	tiler.Register(r)
	plumbing.Register(r)
	sinks.Register(r)
	publish.Register(r)
	dskinds.Register(r) // after the kinds it maps DeepStream's onto
}

// NewRegistry returns a registry holding every built-in kind.
func NewRegistry() *element.Registry {
	r := element.NewRegistry()
	Register(r)
	return r
}
