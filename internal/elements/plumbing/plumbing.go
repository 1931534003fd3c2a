// Package plumbing holds the elements that only route buffers: tee (a
// fork), queue (a bounded, optionally leaky queue on a goroutine of its
// own) and identity.
package plumbing

import (
	"fmt"

	"github.com/vidflow/vidflow/element"
)

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:  "tee",
		Doc:   "Sends every buffer to each element linked to it (Flow.Fork); branches after the first get their own copy of the metadata.",
		Role:  element.RoleTransform,
		Props: []element.PropSpec{{Name: "allow-not-linked", Type: element.Bool, Default: false, Ignored: true}},
		New:   func(*element.Config) (element.Element, error) { return &element.Map{}, nil },
	})
	r.MustRegister(element.KindSpec{
		Kind: "identity",
		Doc:  "Passes buffers on unchanged; a place to attach probes.",
		Role: element.RoleTransform,
		New:  func(*element.Config) (element.Element, error) { return &element.Map{}, nil },
	})
	r.MustRegister(element.KindSpec{
		Kind: "queue",
		Doc:  "A bounded queue on a goroutine of its own, to decouple its upstream from its downstream.",
		Role: element.RoleTransform,
		Props: []element.PropSpec{
			{Name: "max-size-buffers", Type: element.Int, Default: element.DefaultQueueSize, Doc: "queue capacity in buffers"},
			{Name: "leaky", Type: element.Int, Default: 0, Doc: "0 no (wait), 1 upstream (drop new buffers when full), 2 downstream (drop the oldest)"},
			{Name: "max-size-bytes", Type: element.Int, Default: 0, Ignored: true},
			{Name: "max-size-time", Type: element.Int, Default: 0, Ignored: true},
		},
		New: func(c *element.Config) (element.Element, error) {
			q := &queue{size: c.Int("max-size-buffers"), leaky: element.Leaky(c.Int("leaky"))}
			if q.size < 1 || q.size > 4096 {
				return nil, fmt.Errorf("property \"max-size-buffers\" must be 1..4096, got %d", q.size)
			}
			if q.leaky < element.Block || q.leaky > element.DropOldest {
				return nil, fmt.Errorf("property \"leaky\" must be 0, 1 or 2, got %d", q.leaky)
			}
			return q, nil
		},
	})
}

type queue struct {
	element.Map
	size  int
	leaky element.Leaky
}

// QueueConfig sets the element's input queue (see element.Queued).
func (q *queue) QueueConfig() (int, element.Leaky) { return q.size, q.leaky }
