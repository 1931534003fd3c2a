package vidflow

import (
	"os"
	"slices"
	"strings"

	"github.com/vidflow/vidflow/internal/elements/sinks"
	"github.com/vidflow/vidflow/media"
)

// Render ends the flow in a sink: RenderDisplay (the default) shows the
// video in a window (needs a display: DISPLAY must be set),
// RenderDiscard drops the buffers after the probes ran, RenderStream
// serves it as RTSP (rtsp-port, rtsp-mount-point). For display and
// stream, batches of several frames are tiled and the on-screen display
// draws the metadata first (enable-osd, default true), when those element
// kinds are built in; width and height size the tiled output.
func (f *Flow) Render(opts ...Option) *Flow {
	o := collect(opts)
	if o.render == 0 {
		o.render = RenderDisplay
	}
	switch o.render {
	case RenderDiscard:
		if _, ok := f.step("render", "fakesink", "sink", o); !ok {
			return f.next(nil, false)
		}
		return &Flow{p: f.p, terminal: "Render"}
	case RenderDisplay:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return f.fail("Render(RenderDisplay): no display (DISPLAY is not set); use RenderDiscard, RenderStream or Encode")
		}
		return f.outputs("render", o).sink("render", "nveglglessink", Props{}, o, "sync", "framerate")
	case RenderStream:
		// rtsp-port (default 8554), rtsp-mount-point (default "/ds-test").
		return f.outputs("render", o).sink("render", "nvrtspoutsinkbin", Props{}, o,
			append([]string{"rtsp-port", "rtsp-mount-point"}, encodeOptions...)...)
	}
	return f.fail("Render: unknown mode %v", o.render)
}

// outputs prepares a flow for a video output: tiles batches and draws the
// metadata (when those kinds exist), taking their options out of o.
func (f *Flow) outputs(step string, o *options) *Flow {
	if !f.single(strings.ToUpper(step[:1]) + step[1:]) {
		return f.next(nil, false)
	}
	osd := true
	if v, ok := o.props["enable-osd"]; ok {
		osd, _ = v.(bool)
		delete(o.props, "enable-osd")
	}
	w, h := o.props["width"], o.props["height"]
	delete(o.props, "width")
	delete(o.props, "height")
	out := f
	if f.batched && f.size > 1 && hasKind("nvmultistreamtiler") {
		tiler := Props{}
		if w != nil {
			tiler["width"], tiler["height"] = w, h
		}
		out = out.Add("nvmultistreamtiler", tiler, Name(f.p.nextName(step, "tiler")))
	}
	if osd && hasKind("nvdsosd") {
		out = out.Add("nvdsosd", Name(f.p.nextName(step, "osd")))
	}
	return out
}

func hasKind(kind string) bool {
	for _, k := range Kinds() {
		if k == kind {
			return true
		}
	}
	return false
}

// encodeOptions are the options of Encode and Render(RenderStream) that
// go to the encoding sink; the others are the tiler's and the OSD's, or
// have no use there.
var encodeOptions = []string{"codec", "bitrate", "iframeinterval", "preset", "profile", "framerate"}

// fileOptions are Encode's options for files, beside encodeOptions.
var fileOptions = []string{"overwrite", "fragment-duration"}

// sink ends the flow in a sink element of kind with props and the options
// of o named in keys.
func (f *Flow) sink(step, kind string, props Props, o *options, keys ...string) *Flow {
	for _, k := range keys {
		if v, ok := o.props[k]; ok {
			props[k] = v
		}
	}
	so := &options{props: props, name: o.name, queueSize: o.queueSize, leaky: o.leaky}
	if _, ok := f.step(step, kind, "sink", so); !ok {
		return f.next(nil, false)
	}
	return &Flow{p: f.p, terminal: strings.ToUpper(step[:1]) + step[1:]}
}

// Encode ends the flow in an encoder: dest is a file (.mp4, .mov, .mkv;
// .jpg for an image sequence, "%05d" added before the extension unless
// the name has a %d), udp://127.0.0.1:port (RTP/H.264) or
// rtsp://localhost:port/mount (served). Options: codec ("h264" default,
// "h265"), bitrate (bits/s, default 2000000), iframeinterval (default 10),
// preset (x264/x265 speed preset, default "ultrafast"), framerate,
// enable-osd, width and height of the tiled output; for files overwrite
// (default false: an existing file is an error naming it) and
// fragment-duration (ms, default 1000: an MP4 killed while written plays
// up to its last fragment; it ends as a plain MP4). Odd frame sizes lose
// their last column or row for H.264/H.265.
func (f *Flow) Encode(dest string, opts ...Option) *Flow {
	o := collect(opts)
	// Checked before any element is added, so that a wrong destination is
	// an error of Encode's.
	d, err := sinks.ParseDestination(dest)
	if err != nil {
		return f.fail("Encode: %v", err)
	}
	out := f.outputs("encode", o)
	if d.RTSP {
		return out.sink("encode", "nvrtspoutsinkbin", Props{"rtsp-port": d.Port, "rtsp-mount-point": d.Mount}, o, encodeOptions...)
	}
	return out.sink("encode", "encodesink", Props{"output": dest}, o, slices.Concat(encodeOptions, fileOptions)...)
}

// Retrieve ends the flow in an app sink that hands every buffer to r.
func (f *Flow) Retrieve(r media.BufferRetriever, opts ...Option) *Flow {
	if r == nil {
		return f.fail("Retrieve: nil BufferRetriever")
	}
	name, ok := f.step("retrieve", "appsink", "sink", collect(opts))
	if !ok {
		return f.next(nil, false)
	}
	f.p.Attach(name, r, "")
	return &Flow{p: f.p, terminal: "Retrieve"}
}
