package deepstream

import (
	"github.com/vidflow/vidflow/element"
)

// sourceProps are nvmultiurisrcbin's properties that belong to each
// stream's source (nvurisrcbin) rather than to the batcher; width and
// height go to both, so that frames are scaled once, in GStreamer.
var sourceProps = map[string]bool{"file-loop": true, "latency": true, "select-rtp-protocol": true,
	"rtsp-reconnect-interval": true, "init-rtsp-reconnect-interval": true, "rtsp-reconnect-attempts": true,
	"drop-frame-interval": true, "gpu-id": true, "cudadec-memtype": true, "decoder": true, "convert": true,
	"source-type": true, "dec-skip-frames": true, "no-data-timeout": true,
	// Smart recording is each source's (its ring of compressed video).
	"smart-record": true, "smart-rec-dir-path": true, "smart-rec-file-prefix": true, "smart-rec-cache": true,
	"smart-rec-container": true, "smart-rec-mode": true, "smart-rec-default-duration": true,
	// Accepted by the source with no effect (a warning says so).
	"num-extra-surfaces": true, "low-latency-mode": true, "udp-buffer-size": true, "drop-on-latency": true,
	"disable-passthrough": true, "disable-audio": true, "async-handling": true}

// serverProps are nvmultiurisrcbin's REST server: `vidflow serve` takes
// them as its own address; elsewhere they have no place.
var serverProps = map[string]bool{"ip-address": true, "port": true}

// unusedProps are nvmultiurisrcbin's properties that a source list does
// not pass on: the stream lists of its own (a source list gives the
// streams in source-list: check refuses them in source-config) and its
// mode (check refuses audio).
var unusedProps = map[string]bool{"uri-list": true, "sensor-id-list": true, "sensor-name-list": true, "mode": true}

// Routed are nvmultiurisrcbin-style properties split between the
// elements vidflow makes of it.
type Routed struct {
	Source  map[string]any // every stream's source
	Batcher map[string]any // the batcher (nvstreammux)
}

// Route splits properties given for a whole batch between the sources
// and the batcher. max-batch-size, nvmultiurisrcbin's name, becomes the
// batcher's batch-size unless that is set too.
func Route(props map[string]any) Routed {
	r := Routed{Source: map[string]any{}, Batcher: map[string]any{}}
	for k, v := range props {
		k = element.NormalizeName(k)
		if sourceProps[k] {
			r.Source[k] = v
		} else {
			r.Batcher[k] = v
		}
		if k == "width" || k == "height" {
			r.Source[k] = v
		}
	}
	if v, ok := r.Batcher["max-batch-size"]; ok {
		delete(r.Batcher, "max-batch-size")
		if _, set := r.Batcher["batch-size"]; !set {
			r.Batcher["batch-size"] = v
		}
	}
	return r
}
