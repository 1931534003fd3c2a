package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// keepingSource emits frames frames (or, with frames < 0, waits for its
// context), then keeps something until the engine calls Release.
type keepingSource struct {
	frames   int
	released atomic.Int32
	sinkDone *atomic.Bool // whether the sink had ended when Release came
	early    atomic.Bool
}

func (k *keepingSource) Run(ctx context.Context, p element.Ports) error {
	if k.frames < 0 {
		<-ctx.Done()
		return nil
	}
	for range k.frames {
		f := media.NewFrame(media.PackedSurface(media.GRAY8, 2, 2, make([]byte, 4)), nil)
		if err := p.EmitBuffer(media.NewBatch([]*media.Frame{f}, nil)); err != nil {
			return err
		}
	}
	return nil
}

func (k *keepingSource) Release() {
	if !k.sinkDone.Load() {
		k.early.Store(true)
	}
	k.released.Add(1)
}

// An element that keeps something past its Run (element.Keeper) is
// released once: after every element of the run has ended (the sink
// included), before Wait returns; or when it is removed from the run.
func TestKeeperReleasedAtTheEnd(t *testing.T) {
	var sinkDone atomic.Bool
	src := &keepingSource{frames: 3, sinkDone: &sinkDone}
	live := &keepingSource{frames: -1, sinkDone: &sinkDone}
	r := element.NewRegistry()
	r.MustRegister(element.KindSpec{Kind: "keep", Role: element.RoleSource, New: func(*element.Config) (element.Element, error) { return src, nil }})
	r.MustRegister(element.KindSpec{Kind: "keeplive", Role: element.RoleSource, New: func(*element.Config) (element.Element, error) { return live, nil }})
	got := 0
	r.MustRegister(element.KindSpec{Kind: "sink", Role: element.RoleSink, New: func(*element.Config) (element.Element, error) {
		return element.ElementFunc(func(ctx context.Context, p element.Ports) error {
			defer sinkDone.Store(true)
			for {
				it, err := p.Recv()
				if err != nil {
					return err
				}
				if it.Buf != nil {
					got++
					it.Buf.Release()
				}
				if it.Event == element.EventEOS {
					return nil
				}
			}
		}), nil
	}})
	r.MustRegister(element.KindSpec{Kind: "sink2", Role: element.RoleSink, New: func(*element.Config) (element.Element, error) {
		return &element.Sink{Fn: func(context.Context, *media.Buffer) error { return nil }}, nil
	}})
	g := NewGraph("g", r)
	g.Add("keep", "s", nil)
	g.Add("sink", "k", nil)
	g.Link("s", "k")
	g.Add("keeplive", "live", nil)
	g.Add("sink2", "k2", nil)
	g.Link("live", "k2")
	run, err := Start(context.Background(), g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.RemoveNode("live", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := live.released.Load(); n != 1 {
		t.Errorf("removed element released %d times, want 1", n)
	}
	if err := run.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := src.released.Load(); n != 1 || src.early.Load() {
		t.Errorf("released %d times (before the sink ended: %v), want once, after", n, src.early.Load())
	}
	if got != 3 {
		t.Errorf("sink got %d frames, want 3", got)
	}
	if n := live.released.Load(); n != 1 {
		t.Errorf("removed element released %d times by the end, want 1", n)
	}
}
