package vidflow

import (
	"time"

	"github.com/vidflow/vidflow/element"
)

// Option configures a Flow step or an element.
type Option interface{ apply(*options) }

type options struct {
	props     Props
	name      string
	queueSize int
	leaky     element.Leaky
	render    RenderMode
	tip       string
}

func collect(opts []Option) *options {
	o := &options{props: Props{}}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(o)
		}
	}
	return o
}

// Props are element properties by DeepStream or GStreamer name ('-' or
// '_'). As an Option they go to the element the step makes; an unknown
// name is an error naming the element and the property.
type Props map[string]any

func (p Props) apply(o *options) {
	for k, v := range p {
		o.props[element.NormalizeName(k)] = v
	}
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

func prop(name string, v any) Option { return optionFunc(func(o *options) { o.props[name] = v }) }

// Name names the element a step makes (instead of "<step>-<role>-<n>").
func Name(name string) Option { return optionFunc(func(o *options) { o.name = name }) }

// QueueSize sets the capacity, in buffers, of the element's input queue.
func QueueSize(n int) Option { return optionFunc(func(o *options) { o.queueSize = n }) }

// DropOldest makes the element's input queue drop its oldest buffer when
// full, instead of making upstream wait: for live sources that must not
// fall behind.
func DropOldest() Option { return optionFunc(func(o *options) { o.leaky = element.DropOldest }) }

// DropNewest makes the element's input queue drop incoming buffers when full.
func DropNewest() Option { return optionFunc(func(o *options) { o.leaky = element.DropNewest }) }

// Tip says where Attach puts a probe: "src" (the element's output, the
// default) or "sink" (its input).
func Tip(tip string) Option { return optionFunc(func(o *options) { o.tip = tip }) }

// Width sets the "width" property.
func Width(w int) Option { return prop("width", w) }

// Height sets the "height" property.
func Height(h int) Option { return prop("height", h) }

// BatchSize sets the "batch-size" property.
func BatchSize(n int) Option { return prop("batch-size", n) }

// BatchedPushTimeout sets the batcher's "batched-push-timeout"; negative
// waits for every stream.
func BatchedPushTimeout(d time.Duration) Option { return prop("batched-push-timeout", d) }

// Sync sets a sink's "sync": hold each buffer until its timestamp.
func Sync(on bool) Option { return prop("sync", on) }

// RenderMode is where Render sends the video. It is an Option of Render.
type RenderMode int

// Render modes, as Service Maker numbers them.
const (
	RenderDisplay RenderMode = iota + 1 // a window (needs a display)
	RenderDiscard                       // nowhere: measure, or run probes only
	RenderStream                        // an RTSP stream
)

func (m RenderMode) apply(o *options) { o.render = m }

func (m RenderMode) String() string {
	switch m {
	case RenderDisplay:
		return "RenderDisplay"
	case RenderDiscard:
		return "RenderDiscard"
	case RenderStream:
		return "RenderStream"
	}
	return "RenderMode(?)"
}
