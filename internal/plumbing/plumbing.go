// Package plumbing holds the elements that only route buffers: tee (a
// fork), queue (a bounded, optionally leaky queue on a goroutine of its
// own) and identity.
package plumbing

import (
	"fmt"

	"github.com/vidflow/vidflow/internal/engine"
)

func init() {
	engine.Kinds.MustRegister(engine.KindSpec{
		Kind:  "tee",
		Doc:   "Sends every buffer to each element linked to it (Flow.Fork); branches after the first get their own copy of the metadata.",
		Role:  engine.RoleTransform,
		Props: []engine.PropSpec{{Name: "allow-not-linked", Type: engine.Bool, Default: false, Ignored: true}},
		New:   func(*engine.Config) (engine.Element, error) { return &engine.Map{}, nil },
	})
	engine.Kinds.MustRegister(engine.KindSpec{
		Kind: "identity",
		Doc:  "Passes buffers on unchanged; a place to attach probes.",
		Role: engine.RoleTransform,
		New:  func(*engine.Config) (engine.Element, error) { return &engine.Map{}, nil },
	})
	engine.Kinds.MustRegister(engine.KindSpec{
		Kind: "queue",
		Doc:  "A bounded queue on a goroutine of its own, to decouple its upstream from its downstream.",
		Role: engine.RoleTransform,
		Props: []engine.PropSpec{
			{Name: "max-size-buffers", Type: engine.Int, Default: engine.DefaultQueueSize, Doc: "queue capacity in buffers"},
			{Name: "leaky", Type: engine.Int, Default: 0, Doc: "0 no (wait), 1 upstream (drop new buffers when full), 2 downstream (drop the oldest)"},
			{Name: "max-size-bytes", Type: engine.Int, Default: 0, Ignored: true},
			{Name: "max-size-time", Type: engine.Int, Default: 0, Ignored: true},
		},
		New: func(c *engine.Config) (engine.Element, error) {
			q := &queue{size: c.Int("max-size-buffers"), leaky: engine.Leaky(c.Int("leaky"))}
			if q.size < 1 || q.size > 4096 {
				return nil, fmt.Errorf("property \"max-size-buffers\" must be 1..4096, got %d", q.size)
			}
			if q.leaky < engine.Block || q.leaky > engine.DropOldest {
				return nil, fmt.Errorf("property \"leaky\" must be 0, 1 or 2, got %d", q.leaky)
			}
			return q, nil
		},
	})
}

type queue struct {
	engine.Map
	size  int
	leaky engine.Leaky
}

// QueueConfig sets the element's input queue (see engine.Queued).
func (q *queue) QueueConfig() (int, engine.Leaky) { return q.size, q.leaky }
