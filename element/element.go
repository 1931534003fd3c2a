// Package element is what a user needs to write an element of their own:
// the Element interface and the Ports it runs on, the Items and Events that
// flow between elements, KindSpec and PropSpec to describe a kind and its
// typed properties, Registry to make a kind known, the messages an element
// posts, and the Map and Sink helpers for the common shapes.
package element

import (
	"context"
	"errors"
	"fmt"
)

// Element is the behaviour of one node. Run processes items until its
// inputs end (then returns nil), the context ends, or it fails.
type Element interface {
	Run(ctx context.Context, p Ports) error
}

// ElementFunc adapts a function to Element.
type ElementFunc func(ctx context.Context, p Ports) error

// Run calls f.
func (f ElementFunc) Run(ctx context.Context, p Ports) error { return f(ctx, p) }

// PropertySetter is an element some of whose properties can change while
// it runs (Pipeline.SetProperty).
type PropertySetter interface {
	SetProperty(name string, value any) error
}

// Attacher is an element that takes user objects (a BufferProvider, a
// BufferRetriever). Attach returns ErrNotAttachable for what it does not take.
type Attacher interface {
	Attach(what any, tip string) error
}

// Checker is an element that verifies it is ready to run (say, that
// something was attached) when the pipeline starts.
type Checker interface {
	Check() error
}

// Queued is an element that sets its own input queue's size and policy.
type Queued interface {
	QueueConfig() (size int, leaky Leaky)
}

// Busy is an element that works on several buffers at once (the infer
// element's sessions) and says how many of its workers are at work now,
// of how many: Pipeline.Stats reports it, so that a bench can tell a
// saturated element from one waiting on its input.
type Busy interface {
	Busy() (working, workers int)
}

// Keeper is an element that keeps something after its Run returned, to
// release it later: a finished file stream's GStreamer pipeline, whose
// teardown frees its NVDEC decoder and surfaces, which synchronizes the
// GPU and stalls the streams still decoding. The engine calls Release
// once, after every element of the run has ended (before the run's Wait
// returns), or when the element is removed from a running pipeline.
type Keeper interface {
	Release()
}

// Dynamic is an element (a batcher) that can take inputs while running.
type Dynamic interface {
	AcceptsInputs() bool
	MaxInputs() int
}

// AcceptsInputs says whether e takes inputs while running.
func AcceptsInputs(e Element) bool {
	d, ok := e.(Dynamic)
	return ok && d.AcceptsInputs()
}

// ErrNotAttachable is returned by Attach for objects an element does not take.
var ErrNotAttachable = errors.New("cannot attach")

// Leaky is a queue's policy when full.
type Leaky int

// Queue policies.
const (
	Block      Leaky = iota // wait (back-pressure), the default
	DropNewest              // drop the buffer being queued (GStreamer's leaky=upstream)
	DropOldest              // drop the oldest queued buffer (leaky=downstream)
)

// DefaultQueueSize is the capacity, in buffers, of an element's input queue.
const DefaultQueueSize = 8

// ElementError is an error of one element.
type ElementError struct {
	Element, Kind string
	Err           error
}

func (e *ElementError) Error() string {
	return fmt.Sprintf("element %q (%s): %v", e.Element, e.Kind, e.Err)
}

func (e *ElementError) Unwrap() error { return e.Err }
