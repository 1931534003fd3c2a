// Package sink holds the elements that end a branch: Retrieve's app sink,
// which hands buffers to a BufferRetriever, and the discarding sink.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

var commonProps = []element.PropSpec{
	{Name: "sync", Type: element.Bool, Default: false, Doc: "hold each buffer until its timestamp (real-time playback)"},
	{Name: "async", Type: element.Bool, Default: false, Ignored: true},
	{Name: "qos", Type: element.Bool, Default: false, Ignored: true},
}

func registerSink(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind: "appsink",
		Doc:  "Hands every buffer to a BufferRetriever (Flow.Retrieve).",
		Role: element.RoleSink,
		Props: append([]element.PropSpec{
			{Name: "emit-signals", Type: element.Bool, Default: true, Ignored: true},
			{Name: "max-buffers", Type: element.Int, Default: 0, Ignored: true},
			{Name: "drop", Type: element.Bool, Default: false, Ignored: true},
		}, commonProps...),
		New: func(c *element.Config) (element.Element, error) {
			return &retrieve{clock: clock{sync: c.Bool("sync")}}, nil
		},
	})
	r.MustRegister(element.KindSpec{
		Kind:  "fakesink",
		Doc:   "Discards every buffer (RenderDiscard).",
		Role:  element.RoleSink,
		Props: append([]element.PropSpec{{Name: "silent", Type: element.Bool, Default: true, Ignored: true}, {Name: "enable-last-sample", Type: element.Bool, Default: false, Ignored: true}}, commonProps...),
		New: func(c *element.Config) (element.Element, error) {
			k := &clock{sync: c.Bool("sync")}
			return &element.Sink{Fn: func(ctx context.Context, b *media.Buffer) error { return k.wait(ctx, b) }}, nil
		},
	})
}

type retrieve struct {
	r     media.BufferRetriever
	clock clock
}

func (s *retrieve) Attach(what any, tip string) error {
	r, ok := what.(media.BufferRetriever)
	if !ok {
		return element.ErrNotAttachable
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

func (s *retrieve) Run(ctx context.Context, p element.Ports) error {
	sink := &element.Sink{Fn: func(ctx context.Context, b *media.Buffer) error {
		if err := s.clock.wait(ctx, b); err != nil {
			return err
		}
		return s.consume(b)
	}}
	return sink.Run(ctx, p)
}

func (s *retrieve) consume(b *media.Buffer) (err error) {
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

func (k *clock) wait(ctx context.Context, b *media.Buffer) error {
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
