package vidflow

import (
	"fmt"

	"github.com/vidflow/vidflow/element"
)

// Property reads back a property of a running element that can change
// while it runs (those SetProperty changes), as it is in force: the
// batcher's batched-push-timeout, an encoder's bitrate read from the
// GStreamer encoder, a stream's drop-frame-interval.
func (p *Pipeline) Property(elem, name string) (any, error) {
	n := p.node(elem)
	if n == nil {
		return nil, fmt.Errorf("Property: no element %q in pipeline %q", elem, p.name)
	}
	g, ok := n.Elem.(element.PropertyGetter)
	if !ok {
		return nil, fmt.Errorf("Property: element %q (%s) reports no property while it runs", elem, n.Spec.Kind)
	}
	v, err := g.Property(name)
	if err != nil {
		return nil, fmt.Errorf("Property: element %q: %v", elem, err)
	}
	return v, nil
}
