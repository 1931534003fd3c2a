package vidflow

import (
	"fmt"
	"time"

	"github.com/vidflow/vidflow/internal/deepstream"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"

	// The GStreamer-based sources (nvurisrcbin, gstsrc) and testsrc.
	_ "github.com/vidflow/vidflow/internal/elements/sources"
)

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
		kind, props, err := deepstream.Source(uri)
		if err != nil {
			return f.fail("Capture: %v", err)
		}
		o := collect(append([]Option{Props(props)}, opts...))
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

// BatchCapture captures the URIs (see Capture) and batches their streams.
// A single .yaml/.yml path is read as a DeepStream source list
// ("source-list:" with uri, sensor-id, sensor-name; "source-config:"
// properties). Options go to the batcher (width, height, batch-size,
// batched-push-timeout, ...) and to the sources (file-loop, latency,
// rtsp-reconnect-*, ...); width and height to both, so GStreamer scales.
// BatchCaptureStreams gives each stream properties of its own.
func (f *Flow) BatchCapture(uris []string, opts ...Option) *Flow {
	if f.p.Err() != nil {
		return f.next(nil, false)
	}
	streams, listProps, err := deepstream.Streams(uris)
	if err != nil {
		return f.fail("BatchCapture: %v", err)
	}
	return f.batchCapture("BatchCapture", streams, append([]Option{Props(listProps)}, opts...))
}

// BatchCaptureStreams is BatchCapture of streams that each have source
// properties of their own, as deepstream-app's [source%d] groups do:
// smart recording on one camera only, a longer latency or another
// reconnect interval on another. A stream's Props (nvurisrcbin's: file-loop,
// latency, rtsp-reconnect-interval, dec-skip-frames, smart-record,
// smart-rec-*, ...; RecordConfig.Props gives the smart-rec-* ones) go to its
// source alone, over the batch-wide source options; its SensorID and
// SensorName become its frames' FrameMeta.SensorID and SensorName, and
// StartRecording finds it by the sensor id. opts are BatchCapture's.
func (f *Flow) BatchCaptureStreams(specs []StreamSpec, opts ...Option) *Flow {
	if f.p.Err() != nil {
		return f.next(nil, false)
	}
	streams := make([]deepstream.Stream, len(specs))
	seen := map[string]int{}
	for i, s := range specs {
		if s.URI == "" {
			return f.fail("BatchCaptureStreams: stream %d has no URI", i)
		}
		if j, dup := seen[s.SensorID]; dup && s.SensorID != "" {
			return f.fail("BatchCaptureStreams: streams %d and %d have the same sensor id %q", j, i, s.SensorID)
		}
		seen[s.SensorID] = i
		own := collect([]Option{s.Props}).props // names normalised
		streams[i] = deepstream.Stream{URI: s.URI, SensorID: s.SensorID, SensorName: s.SensorName, Props: own}
	}
	return f.batchCapture("BatchCaptureStreams", streams, opts)
}

// batchCapture makes a source per stream (the batch-wide source options
// under the stream's own properties) and the batcher.
func (f *Flow) batchCapture(op string, streams []deepstream.Stream, opts []Option) *Flow {
	o := collect(opts)
	props := deepstream.Route(o.props)
	mux := Props(props.Batcher)
	if len(streams) == 0 {
		if dyn, _ := mux["drop-pipeline-eos"].(bool); !dyn {
			return f.fail("%s: no URIs (a batcher without streams needs drop-pipeline-eos=true, for AddStream)", op)
		}
	}
	var names []string
	for _, s := range streams {
		kind, src, err := s.Source(props.Source)
		if err != nil {
			return f.fail("%s: %v", op, err)
		}
		name := f.p.nextName("batch_capture", "src")
		if f.p.add(kind, name, &options{props: src}) == nil {
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
		f.p.mu.Lock()
		for i, s := range streams {
			f.p.streams.add(out.streams[0], &StreamStatus{SourceID: i, SensorID: s.SensorID, SensorName: s.SensorName, URI: s.URI, Element: names[i]})
		}
		f.p.mu.Unlock()
	}
	return out
}

// Discover reads a file's or stream's MediaInfo through GStreamer's
// discoverer (Service Maker's MediaInfo.discover); a bare path is a file.
func Discover(uri string) (*media.MediaInfo, error) {
	return gst.Discover(uri, 10*time.Second)
}
