// Package sink holds the elements that end a branch: Retrieve's app sink,
// which hands buffers to a BufferRetriever, and the discarding sink.
package sink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vidflow/vidflow/internal/core"
	"github.com/vidflow/vidflow/internal/engine"
)

var commonProps = []engine.PropSpec{
	{Name: "sync", Type: engine.Bool, Default: false, Doc: "hold each buffer until its timestamp (real-time playback)"},
	{Name: "async", Type: engine.Bool, Default: false, Ignored: true},
	{Name: "qos", Type: engine.Bool, Default: false, Ignored: true},
}

func init() {
	engine.Kinds.MustRegister(engine.KindSpec{
		Kind: "appsink",
		Doc:  "Hands every buffer to a BufferRetriever (Flow.Retrieve).",
		Role: engine.RoleSink,
		Props: append([]engine.PropSpec{
			{Name: "emit-signals", Type: engine.Bool, Default: true, Ignored: true},
			{Name: "max-buffers", Type: engine.Int, Default: 0, Ignored: true},
			{Name: "drop", Type: engine.Bool, Default: false, Ignored: true},
		}, commonProps...),
		New: func(c *engine.Config) (engine.Element, error) {
			return &retrieve{clock: clock{sync: c.Bool("sync")}}, nil
		},
	})
	engine.Kinds.MustRegister(engine.KindSpec{
		Kind:  "fakesink",
		Doc:   "Discards every buffer (RenderDiscard).",
		Role:  engine.RoleSink,
		Props: append([]engine.PropSpec{{Name: "silent", Type: engine.Bool, Default: true, Ignored: true}, {Name: "enable-last-sample", Type: engine.Bool, Default: false, Ignored: true}}, commonProps...),
		New: func(c *engine.Config) (engine.Element, error) {
			k := &clock{sync: c.Bool("sync")}
			return &engine.Sink{Fn: func(ctx context.Context, b *core.Buffer) error { return k.wait(ctx, b) }}, nil
		},
	})
}

type retrieve struct {
	r     core.BufferRetriever
	clock clock
}

func (s *retrieve) Attach(what any, tip string) error {
	r, ok := what.(core.BufferRetriever)
	if !ok {
		return engine.ErrNotAttachable
	}
	if r == nil {
		return errors.New("nil BufferRetriever")
	}
	if s.r != nil {
		return errors.New("a BufferRetriever is already attached")
	}
	s.r = r
	return nil
}

func (s *retrieve) Check() error {
	if s.r == nil {
		return errors.New("no BufferRetriever attached")
	}
	return nil
}

func (s *retrieve) Run(ctx context.Context, p *engine.Ports) error {
	sink := &engine.Sink{Fn: func(ctx context.Context, b *core.Buffer) error {
		if err := s.clock.wait(ctx, b); err != nil {
			return err
		}
		return s.consume(b)
	}}
	return sink.Run(ctx, p)
}

func (s *retrieve) consume(b *core.Buffer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("retriever %T: Consume panicked: %v", s.r, v)
		}
	}()
	if err := s.r.Consume(b); err != nil {
		return fmt.Errorf("retriever %T: %w", s.r, err)
	}
	return nil
}

// clock holds buffers until their timestamp when sync is on.
type clock struct {
	sync bool
	base time.Time
}

func (k *clock) wait(ctx context.Context, b *core.Buffer) error {
	if !k.sync {
		return nil
	}
	if k.base.IsZero() {
		k.base = time.Now().Add(-b.Timestamp())
		return nil
	}
	d := time.Until(k.base.Add(b.Timestamp()))
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
