package sources

import (
	"sync"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gst"
)

var _ element.Keeper = (*source)(nil)

// keepLimit bounds how long a finished stream's pipeline is kept when the
// run goes on (a service whose file streams end one by one): a decoder's
// GPU memory is not held for longer than that.
const keepLimit = 10 * time.Second

// keeper holds a finished file stream's GStreamer pipeline open until the
// run ends (the engine calls the source's Release), its removal, or
// keepLimit, whichever comes first. Closing it frees its NVDEC decoder and
// surface pool, and CUDA's frees wait for the whole GPU: 150 streams ending
// together stalled the frames still in the model for 3 s on the H200, with
// the GPU idle. One GStreamer pipeline of 150 branches (gst-launch, and
// DeepStream's source bins, kept until the application removes them)
// frees its decoders only at its end; vidflow's per-stream pipelines now
// do too. Measured there with them kept: the idle gap gone, the last
// frame at the sink 0.4 s after the last capture, and 150 streams at 0.97
// of the NVDEC floor instead of 0.80-0.86 (docs/performance.md).
type keeper struct {
	mu    sync.Mutex
	pl    *gst.Pipeline
	timer *time.Timer
}

// keep takes pl, to be closed by release, or after limit.
func (k *keeper) keep(pl *gst.Pipeline, limit time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pl != nil { // one finished pipeline a source; an older one goes now
		k.pl.Close()
		k.timer.Stop()
	}
	k.pl = pl
	k.timer = time.AfterFunc(limit, k.release)
}

// release closes the kept pipeline, if any. Safe to call more than once,
// and concurrently with the timer.
func (k *keeper) release() {
	k.mu.Lock()
	pl := k.pl
	k.pl = nil
	if k.timer != nil {
		k.timer.Stop()
	}
	k.mu.Unlock()
	if pl != nil {
		pl.Close()
	}
}

// kept reports whether a pipeline is being kept (tests).
func (k *keeper) kept() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pl != nil
}

// Release closes the source's finished pipeline (element.Keeper): the
// engine calls it when the run has ended or the stream was removed.
func (s *source) Release() { s.ended.release() }

// keepsFinished reports whether the source keeps its pipeline after its
// end: a file stream (not looping, not live, not smart-recording, whose
// ring follows the pipeline) decoded by an NVIDIA decoder, whose
// teardown stalls the GPU. Other pipelines are closed at once, as before.
func (st *runState) keepsFinished(pl *gst.Pipeline) bool {
	if st.loop || st.live || st.rec != nil {
		return false
	}
	return st.device || st.cuda || st.watch && pl.Decoders().Plugin == "nvcodec"
}
