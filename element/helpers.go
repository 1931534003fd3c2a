package element

import (
	"context"
	"time"

	"github.com/vidflow/vidflow/media"
)

// MapFunc processes one buffer in place.
type MapFunc func(ctx context.Context, b *media.Buffer) error

// Map is an element that runs fn on each buffer and passes it on; events
// pass through. OnEvent, if set, sees each event before it is passed on.
type Map struct {
	Fn      MapFunc
	OnEvent func(Item)
}

// Run implements Element.
func (m *Map) Run(ctx context.Context, p Ports) error {
	for {
		it, err := p.Recv()
		if err != nil {
			return err
		}
		if it.Buf != nil && m.Fn != nil {
			start := time.Now()
			if err := m.Fn(ctx, it.Buf); err != nil {
				it.Buf.Release()
				return err
			}
			p.Observe(time.Since(start))
		} else if it.Buf == nil && m.OnEvent != nil {
			m.OnEvent(it)
		}
		if err := p.Emit(it); err != nil {
			return err
		}
		if it.Event == EventEOS {
			return nil
		}
	}
}

// SinkFunc consumes one buffer; the caller releases it afterwards.
type SinkFunc func(ctx context.Context, b *media.Buffer) error

// Sink is an element that runs fn on each buffer, then releases it, until
// end-of-stream.
type Sink struct {
	Fn      SinkFunc
	OnEvent func(Item)
}

// Run implements Element.
func (s *Sink) Run(ctx context.Context, p Ports) error {
	for {
		it, err := p.Recv()
		if err != nil {
			return err
		}
		if it.Buf == nil {
			if s.OnEvent != nil {
				s.OnEvent(it)
			}
			if it.Event == EventEOS {
				return nil
			}
			continue
		}
		start := time.Now()
		err = s.Fn(ctx, it.Buf)
		it.Buf.Release()
		if err != nil {
			return err
		}
		p.Observe(time.Since(start))
	}
}
