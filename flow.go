package vidflow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/vidflow/vidflow/internal/elements/sinks"
	"github.com/vidflow/vidflow/media"
)

// Flow builds a pipeline step by step, the Go twin of Service Maker's Flow:
// each step adds elements after the flow's current streams and returns a
// new Flow whose streams are the step's outputs. A step that cannot be
// taken records the pipeline's first error, which Err and Run return.
type Flow struct {
	p        *Pipeline
	streams  []string // elements whose outputs are the flow's streams
	batched  bool
	size     int    // frames per batch, when batched
	fork     bool   // the stream is a tee: each step starts a branch
	terminal string // the step that ended the flow, if any
}

// NewFlow starts a flow on a pipeline.
func NewFlow(p *Pipeline) *Flow { return &Flow{p: p} }

// Pipeline returns the pipeline the flow builds.
func (f *Flow) Pipeline() *Pipeline { return f.p }

// Err returns the pipeline's first error.
func (f *Flow) Err() error { return f.p.Err() }

// Run runs the whole pipeline until it ends (see Pipeline.Run).
func (f *Flow) Run(ctx context.Context) error { return f.p.Run(ctx) }

// Streams are the names of the elements whose outputs the next step takes.
func (f *Flow) Streams() []string { return append([]string(nil), f.streams...) }

func (f *Flow) next(streams []string, batched bool) *Flow {
	return &Flow{p: f.p, streams: streams, batched: batched, size: f.size}
}

func (f *Flow) fail(format string, args ...any) *Flow {
	f.p.setErr(fmt.Errorf(format, args...))
	return f.next(nil, false)
}

// ok checks the flow can take a step: it has not ended and has streams.
func (f *Flow) ok(step string) bool {
	if f.p.Err() != nil {
		return false
	}
	if f.terminal != "" {
		f.fail("%s: the flow ended with %s; branch it with Fork before that step", step, f.terminal)
		return false
	}
	if len(f.streams) == 0 {
		f.fail("%s: the flow has no streams yet: start it with Capture, BatchCapture or Inject", step)
		return false
	}
	return true
}

// single checks the flow has one stream: batched, or one unbatched.
func (f *Flow) single(step string) bool {
	if !f.ok(step) {
		return false
	}
	if len(f.streams) > 1 {
		f.fail("%s: the flow has %d unbatched streams (%s): multiple streams must be batched first (call Batch)",
			step, len(f.streams), strings.Join(f.streams, ", "))
		return false
	}
	return true
}

// step adds one element after the flow's single stream.
func (f *Flow) step(step, kind, role string, o *options) (string, bool) {
	if !f.single(strings.ToUpper(step[:1]) + step[1:]) {
		return "", false
	}
	name := o.name
	if name == "" {
		name = f.p.nextName(step, role)
	}
	if f.p.add(kind, name, o) == nil {
		return "", false
	}
	f.p.Link(f.streams[0], name)
	return name, f.p.Err() == nil
}

// Inject starts one stream per provider, each fed by the provider's
// Generate. Options (Props) go to every app source.
func (f *Flow) Inject(providers []media.BufferProvider, opts ...Option) *Flow {
	if f.p.Err() != nil {
		return f.next(nil, false)
	}
	if len(providers) == 0 {
		return f.fail("Inject: no providers")
	}
	o := collect(opts)
	var names []string
	for i, pr := range providers {
		if pr == nil {
			return f.fail("Inject: provider %d is nil", i)
		}
		name := f.p.nextName("inject", "src")
		if o.name != "" {
			name = fmt.Sprintf("%s-%d", o.name, i)
		}
		if f.p.add("appsrc", name, o) == nil {
			return f.next(nil, false)
		}
		f.p.Attach(name, pr, "")
		names = append(names, name)
	}
	return f.next(names, false)
}

// Capture starts one unbatched stream per URI: files (file:// or a path
// that must exist), rtsp://, http(s):// and still images (JPEG, PNG),
// decoded by GStreamer; testsrc:// is the synthetic source (its properties
// as query parameters: "testsrc://?width=640&num-buffers=100"). Options
// (Props of nvurisrcbin: file-loop, latency, select-rtp-protocol,
// rtsp-reconnect-interval, ..., width and height to scale in GStreamer)
// go to every source.
func (f *Flow) Capture(uris []string, opts ...Option) *Flow {
	if f.p.Err() != nil {
		return f.next(nil, false)
	}
	if len(uris) == 0 {
		return f.fail("Capture: no URIs")
	}
	var names []string
	for _, uri := range uris {
		kind, props, err := sourceFor(uri)
		if err != nil {
			return f.fail("Capture: %v", err)
		}
		o := collect(append([]Option{props}, opts...))
		name := o.name
		if name == "" || len(uris) > 1 {
			name = f.p.nextName("capture", "src")
		}
		if f.p.add(kind, name, o) == nil {
			return f.next(nil, false)
		}
		names = append(names, name)
	}
	return f.next(names, false)
}

// sourceProps are the batch-capture options that go to the sources rather
// than to the batcher; width and height go to both, so frames are scaled
// once, in GStreamer.
var sourceProps = map[string]bool{"file-loop": true, "latency": true, "select-rtp-protocol": true,
	"rtsp-reconnect-interval": true, "init-rtsp-reconnect-interval": true, "rtsp-reconnect-attempts": true,
	"drop-frame-interval": true, "gpu-id": true, "cudadec-memtype": true, "decoder": true, "convert": true}

// BatchCapture captures the URIs (see Capture) and batches their streams.
// A single .yaml/.yml path is read as a DeepStream source list
// ("source-list:" with uri, sensor-id, sensor-name; "source-config:"
// properties). Options go to the batcher (width, height, batch-size,
// batched-push-timeout, ...) and to the sources (file-loop, latency,
// rtsp-reconnect-*, ...); width and height to both, so GStreamer scales.
func (f *Flow) BatchCapture(uris []string, opts ...Option) *Flow {
	if f.p.Err() != nil {
		return f.next(nil, false)
	}
	var sensors []sensor
	var yamlProps Props
	if len(uris) == 1 && (strings.HasSuffix(uris[0], ".yaml") || strings.HasSuffix(uris[0], ".yml")) {
		list, props, err := readSourceList(uris[0])
		if err != nil {
			return f.fail("BatchCapture: %v", err)
		}
		sensors, yamlProps = list, props
	} else {
		for _, u := range uris {
			sensors = append(sensors, sensor{uri: u})
		}
	}
	o := collect(append([]Option{yamlProps}, opts...))
	src, mux := Props{}, Props{}
	for k, v := range o.props {
		if sourceProps[k] {
			src[k] = v
		} else {
			mux[k] = v
		}
		if k == "width" || k == "height" {
			src[k] = v
		}
	}
	if v, ok := mux["max-batch-size"]; ok { // nvmultiurisrcbin's name
		delete(mux, "max-batch-size")
		if _, set := mux["batch-size"]; !set {
			mux["batch-size"] = v
		}
	}
	if len(sensors) == 0 {
		if dyn, _ := mux["drop-pipeline-eos"].(bool); !dyn {
			return f.fail("BatchCapture: no URIs (a batcher without streams needs drop-pipeline-eos=true, for AddStream)")
		}
	}
	var names []string
	for _, s := range sensors {
		kind, props, err := sourceFor(s.uri)
		if err != nil {
			return f.fail("BatchCapture: %v", err)
		}
		if kind == "nvurisrcbin" {
			for k, v := range src {
				props[k] = v
			}
			if s.id != "" {
				props["sensor-id"], props["sensor-name"] = s.id, s.name
			}
		} else if w, ok := src["width"]; ok {
			props["width"], props["height"] = w, src["height"]
		}
		name := f.p.nextName("batch_capture", "src")
		if f.p.add(kind, name, &options{props: props}) == nil {
			return f.next(nil, false)
		}
		names = append(names, name)
	}
	batch := []Option{mux}
	if o.name != "" {
		batch = append(batch, Name(o.name))
	}
	if _, set := mux["batch-size"]; !set && len(names) == 0 {
		mux["batch-size"] = 0 // as many as are streaming
	}
	out := f.next(names, false).batch(len(names) == 0, batch...)
	if len(out.streams) == 1 {
		for i, s := range sensors {
			f.p.mu.Lock()
			f.p.streams.add(out.streams[0], &StreamStatus{SourceID: i, SensorID: s.id, SensorName: s.name, URI: s.uri, Element: names[i]})
			f.p.mu.Unlock()
		}
	}
	return out
}

// sourceFor resolves a URI to a source element kind and its properties.
func sourceFor(uri string) (string, Props, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", nil, fmt.Errorf("URI %q: %w", uri, err)
	}
	switch u.Scheme {
	case "testsrc":
		props := Props{}
		for k, v := range u.Query() {
			props[k] = v[len(v)-1]
		}
		return "testsrc", props, nil
	case "", "file":
		path := uri
		if u.Scheme == "file" {
			path = u.Path
		}
		if _, err := os.Stat(path); err != nil {
			return "", nil, fmt.Errorf("file %q doesn't exist", path)
		}
	case "rtsp", "rtsps", "http", "https":
	default:
		return "", nil, fmt.Errorf("URI %q: unsupported scheme %q (want a file path, file://, rtsp://, http(s):// or testsrc://)", uri, u.Scheme)
	}
	return "nvurisrcbin", Props{"uri": uri}, nil
}

// Batch batches the flow's streams into one (DeepStream's nvstreammux):
// batch-size defaults to the number of streams, width and height to the
// first frame's size.
func (f *Flow) Batch(opts ...Option) *Flow { return f.batch(false, opts...) }

// batch adds the batcher; empty allows a batcher without streams yet.
func (f *Flow) batch(empty bool, opts ...Option) *Flow {
	if f.p.Err() != nil {
		return f.next(nil, false)
	}
	if !empty && !f.ok("Batch") {
		return f.next(nil, false)
	}
	if f.batched {
		return f.fail("Batch: the flow is already batched")
	}
	o := collect(opts)
	if _, set := o.props["batch-size"]; !set {
		o.props["batch-size"] = len(f.streams)
	}
	name := o.name
	if name == "" {
		name = f.p.nextName("batch", "mux")
	}
	if f.p.add("nvstreammux", name, o) == nil {
		return f.next(nil, false)
	}
	for _, s := range f.streams {
		f.p.Link(s, name)
	}
	out := f.next([]string{name}, true)
	out.size, _ = o.props["batch-size"].(int)
	if out.size <= 0 {
		out.size, _ = o.props["max-batch-size"].(int)
	}
	if out.size <= 0 {
		out.size = len(f.streams)
	}
	return out
}

// Add adds an element of any registered kind after the flow's stream, the
// generic step for kinds without a method of their own.
func (f *Flow) Add(kind string, opts ...Option) *Flow {
	name, ok := f.step("add", kind, strings.ReplaceAll(kind, "-", ""), collect(opts))
	if !ok {
		return f.next(nil, false)
	}
	return f.next([]string{name}, f.batched)
}

// Attach attaches what to each of the flow's streams (see
// Pipeline.Attach); Tip("sink") puts probes on the inputs instead. The
// returned Flow has the same streams. On a Fork, Attach starts a branch (an
// identity element) and attaches to it, so the probe sees that branch only.
func (f *Flow) Attach(what any, opts ...Option) *Flow {
	if !f.ok("Attach") {
		return f.next(nil, false)
	}
	if f.fork {
		name, ok := f.step("fork", "identity", "branch", &options{props: Props{}})
		if !ok {
			return f.next(nil, false)
		}
		return f.next([]string{name}, f.batched).Attach(what, opts...)
	}
	o := collect(opts)
	for _, s := range f.streams {
		f.p.Attach(s, what, o.tip)
	}
	return f.next(f.streams, f.batched)
}

// Fork makes a branch point: each later step called on the returned Flow
// starts a branch of its own, and every branch sees every buffer (the
// metadata is copied for each branch after the first).
func (f *Flow) Fork() *Flow {
	name, ok := f.step("fork", "tee", "tee", &options{props: Props{}})
	if !ok {
		return f.next(nil, false)
	}
	fk := f.next([]string{name}, f.batched)
	fk.fork = true
	return fk
}

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
		sync, _ := o.props["sync"].(bool)
		// ximagesink on X11 (autovideosink may pick DirectFB, which crashes
		// next to an X server), waylandsink on Wayland.
		sink := "ximagesink"
		if os.Getenv("DISPLAY") == "" {
			sink = "waylandsink"
		}
		return f.outputs("render", o).gstSink("render", fmt.Sprintf("videoconvert ! %s sync=%t", sink, sync), o)
	case RenderStream:
		return f.renderStream(o)
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

// gstSink ends the flow in a GStreamer description fed raw frames.
func (f *Flow) gstSink(step, desc string, o *options) *Flow {
	props := Props{"description": desc}
	if fr, ok := o.props["framerate"]; ok {
		props["framerate"] = fr
	}
	so := &options{props: props, name: o.name, queueSize: o.queueSize, leaky: o.leaky}
	if _, ok := f.step(step, "gstsink", "sink", so); !ok {
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
// enable-osd, width and height of the tiled output.
func (f *Flow) Encode(dest string, opts ...Option) *Flow {
	o := collect(opts)
	enc := Props{}
	for k, v := range o.props {
		enc[k] = v
	}
	desc, err := encoderFor(dest, enc)
	if err != nil {
		return f.fail("Encode: %v", err)
	}
	if strings.HasPrefix(dest, "rtsp://") {
		return f.renderStreamTo(dest, o)
	}
	return f.outputs("encode", o).gstSink("encode", desc, o)
}

// encoderFor builds the GStreamer description of an Encode destination,
// taking the encoder options out of props.
func encoderFor(dest string, props Props) (string, error) {
	take := func(name string, def any) any {
		v, ok := props[name]
		delete(props, name)
		if !ok {
			return def
		}
		return v
	}
	codec := fmt.Sprint(take("codec", "h264"))
	bitrate, err1 := asInt(take("bitrate", 2000000))
	iframe, err2 := asInt(take("iframeinterval", 10))
	preset := fmt.Sprint(take("preset", "ultrafast"))
	take("profile", 0)
	if err := errors.Join(err1, err2); err != nil {
		return "", err
	}
	enc, err := sinks.Encoder(codec, bitrate, iframe, preset)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(dest)
	if err != nil {
		return "", fmt.Errorf("destination %q: %w", dest, err)
	}
	switch u.Scheme {
	case "udp", "rtsp":
		if h := u.Hostname(); h != "" && h != "localhost" && h != "127.0.0.1" {
			return "", fmt.Errorf("destination %q: host %q is not local (want localhost or 127.0.0.1)", dest, h)
		}
		if u.Port() == "" {
			return "", fmt.Errorf("destination %q: no port", dest)
		}
		if u.Scheme == "rtsp" {
			return enc, nil
		}
		pay := map[string]string{"h264": "rtph264pay", "h265": "rtph265pay"}[codec]
		return fmt.Sprintf("videoconvert ! video/x-raw,format=I420 ! %s config-interval=-1 ! %s config-interval=-1 ! udpsink host=127.0.0.1 port=%s sync=false async=false",
			enc, pay, u.Port()), nil
	case "", "file":
	default:
		return "", fmt.Errorf("destination %q: unsupported scheme %q (want a file, udp:// or rtsp://)", dest, u.Scheme)
	}
	path := dest
	if u.Scheme == "file" {
		path = u.Path
	}
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".mp4", ".mov":
		return fmt.Sprintf("videoconvert ! video/x-raw,format=I420 ! %s ! mp4mux ! filesink location=%q", enc, path), nil
	case ".mkv":
		return fmt.Sprintf("videoconvert ! video/x-raw,format=I420 ! %s ! matroskamux ! filesink location=%q", enc, path), nil
	case ".jpg", ".jpeg", ".mjpg":
		if !strings.Contains(path, "%") {
			path = strings.TrimSuffix(path, filepath.Ext(path)) + "%05d" + filepath.Ext(path)
		}
		return fmt.Sprintf("videoconvert ! jpegenc ! multifilesink location=%q", path), nil
	}
	return "", fmt.Errorf("destination %q: unknown extension %q (want .mp4, .mov, .mkv or .jpg)", dest, ext)
}

func asInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		return int(x), nil
	case string:
		var n int
		if _, err := fmt.Sscan(x, &n); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%v is not an integer", v)
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
