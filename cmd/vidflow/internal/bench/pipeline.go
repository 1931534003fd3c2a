package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// pipelines is the pipeline scenario: every clip, stream count, interval
// and sink, each row with its ratio to the lower floor (not in real time:
// paced streams have no floor), then the peer on the clip.
func (b *bench) pipelines() error {
	clips := b.clips([]string{"720p"})
	for _, clip := range clips {
		clip, err := b.runClip(clip)
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		var oneStream *benchRow
		for _, n := range b.o.streams {
			if n == 0 {
				continue
			}
			var dfloor, ifloor float64
			var err error
			if !b.o.realtime {
				if dfloor, err = b.decodeFloor(clip, n); err != nil {
					// gst-launch-1.0 with 150 NVDEC branches has crashed
					// (SIGSEGV) and hung on the H200: the pipeline's own
					// rate is still worth having, without a ratio.
					fmt.Fprintf(b.out, "bench: decode floor of %d x %s failed, the pipeline is measured without it: %v\n", n, filepath.Base(clip), err)
					dfloor = 0
				}
				if ifloor, err = b.inferFloor(b.batchOf(n)); err != nil {
					return err
				}
			}
			for _, interval := range b.o.intervals {
				shared := 0.0
				if b.o.sharedFloor && !b.o.realtime && dfloor > 0 {
					sf, floor, err := b.sharedFloor(clip, n, interval, dfloor)
					if err != nil {
						return fmt.Errorf("pipeline %s x%d interval %d: %w", filepath.Base(clip), n, interval, err)
					}
					b.add(sf)
					shared = floor
				}
				for _, sink := range b.o.sinks {
					row, err := b.repeat(func() (*benchRow, error) { return b.pipeline(clip, n, interval, sink) })
					if err != nil {
						return fmt.Errorf("pipeline %s x%d interval %d %s: %w", filepath.Base(clip), n, interval, sink, err)
					}
					if !b.o.realtime && dfloor > 0 {
						row.Floor = dfloor
						row.FloorOf = "decode floor"
						if f := ifloor * float64(interval+1); f < dfloor {
							row.Floor, row.FloorOf = f, "infer floor"
							if interval > 0 {
								row.FloorOf = fmt.Sprintf("infer floor x%d", interval+1)
							}
						}
						row.Ratio = row.FPS / row.Floor
						if row.MiddleFPS > 0 {
							row.Note = strings.TrimSpace(row.Note + fmt.Sprintf(" middle 80%% of the frames: %.0f frames/s, %.2f of the floor; drain %.1f s", row.MiddleFPS, row.MiddleFPS/row.Floor, row.DrainS))
						}
					}
					if shared > 0 {
						row.SharedFloor = shared
						row.Note = strings.TrimSpace(row.Note + fmt.Sprintf(" %.2f of the shared floor (%.0f frames/s)", row.FPS/shared, shared))
					}
					b.add(row)
					if n == 1 && interval == 0 && oneStream == nil && !b.o.realtime {
						oneStream = row
					}
				}
			}
		}
		if b.o.peer && !b.o.realtime {
			peer, err := b.runPeer(clip)
			if err != nil {
				return err
			}
			if peer != nil && oneStream != nil && peer.FPS > 0 {
				oneStream.Note = strings.TrimSpace(oneStream.Note + fmt.Sprintf(" %.1fx the peer", oneStream.FPS/peer.FPS))
			}
		}
	}
	return nil
}

// pipeline runs N streams → BatchCapture → Infer → Track → OSD → sink.
func (b *bench) pipeline(clip string, n, interval int, sink string) (*benchRow, error) {
	run := newRunner(b, "pipeline", clip, n)
	props := vidflow.Props{"interval": interval, "intra-op-threads": b.o.threads, "sessions": b.o.sessions}
	if b.o.provider != "" {
		props["execution-provider"] = b.o.provider
	}
	if b.o.convert == "device" {
		// DeepStream's rule, nvinfer's batch-size = the number of sources:
		// a batch of 150 frames run 8 at a time is 19 calls in a row in one
		// session (measured: 221 ms a batch, the whole pipeline's limit).
		props["batch-size"] = b.batchOf(n)
	}
	var f *vidflow.Flow
	if b.o.realtime {
		// Live cameras, emulated: each stream's frames are released at their
		// timestamps (the clip's frame rate) and stamped as captured then.
		pace := newPacer(max(3*time.Minute, b.o.stall))
		run.sink.onFirst = pace.open
		run.sink.warmup = b.o.warmup
		run.sink.steady = make([]streamWindow, n)
		f = vidflow.NewFlow(run.p).Capture(run.uris, b.capture()...).Attach(vidflow.NewProbe("bench-pace", pace.probe)).Batch(b.batcher(n)...)
	} else {
		// Files: full batches (no push timeout), as fast as they decode.
		f = vidflow.NewFlow(run.p).BatchCapture(run.uris, b.capture(append(b.batcher(n), vidflow.BatchedPushTimeout(-1))...)...)
	}
	f = f.Infer(b.o.config, props).Track()
	var tmp string
	switch sink {
	case "encode":
		// Encode tiles and draws itself; frames are timed at the encoder's
		// input, counted per stream before the tiler.
		dir, err := os.MkdirTemp("", "vidflow-bench-")
		if err != nil {
			return nil, err
		}
		tmp = dir
		defer os.RemoveAll(tmp)
		f.Attach(vidflow.NewProbe("bench-count", run.sink.countProbe)).Encode(filepath.Join(dir, "out.mp4"))
		if err := run.p.Err(); err == nil {
			els := run.p.Elements()
			run.p.Attach(els[len(els)-1], vidflow.NewProbe("bench-sink", run.sink.tiledProbe), "sink")
		}
	case "metadata": // nothing uses pixels: frames in GPU memory never come down
		f.Attach(vidflow.NewProbe("bench-sink", run.sink.probe)).Render(vidflow.RenderDiscard)
	default:
		f.OSD().Attach(vidflow.NewProbe("bench-sink", run.sink.probe)).Render(vidflow.RenderDiscard)
	}
	row, err := run.measure(f, !b.o.realtime)
	if err != nil {
		return nil, err
	}
	iv := interval
	row.Interval, row.Sink, row.Threads, row.Sessions, row.Batch, row.Realtime = &iv, sink, b.o.threads, b.o.sessions, b.batchOf(n), b.o.realtime
	if tmp != "" {
		if st, err := os.Stat(filepath.Join(tmp, "out.mp4")); err == nil {
			enc := fmt.Sprintf("encoded %.1f MB", float64(st.Size())/1e6)
			if row.Note != "" { // the run's leak note stays
				enc += "; " + row.Note
			}
			row.Note = enc
		}
	}
	return row, nil
}

// pacer releases each stream's frames at their timestamps, as a live
// camera delivers them, and stamps them with that time. Cameras are
// connected once the pipeline is ready: each stream's first frame passes
// at once (together they make the first batch, which opens the model's
// sessions: 20 s with cuDNN's search at batch 150), the others wait for
// that batch to reach the sink, and then each stream's clock starts at its
// next frame. Frames decoded during start-up would otherwise queue and be
// measured as tens of seconds of latency that a live pipeline, started
// before its cameras, never has. Each stream has its own clock: decoders
// open over seconds. It is attached to every capture source (safe for
// concurrent use).
type pacer struct {
	mu       sync.Mutex
	start    map[int]time.Time // by source id: the wall time of PTS 0
	ready    chan struct{}     // closed when the first batch reached the sink
	once     sync.Once
	maxStart time.Duration // the longest wait for ready (a pipeline that never gets there is reported by the stall check)
}

func newPacer(maxStart time.Duration) *pacer {
	return &pacer{start: map[int]time.Time{}, ready: make(chan struct{}), maxStart: maxStart}
}

// open is called at the first frame at the sink.
func (p *pacer) open() { p.once.Do(func() { close(p.ready) }) }

func (p *pacer) probe(m *media.BatchMeta) {
	for _, fm := range m.Frames {
		if fm.FrameNumber == 0 {
			fm.NTPTimestamp = time.Now()
			continue
		}
		p.waitReady()
		due := p.startOf(fm).Add(fm.PTS)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		// Stamped when the camera would have captured it, not when it got
		// here: a source held back by a full queue delivers late, and a
		// camera would not have waited, so the delay counts as latency.
		fm.NTPTimestamp = due
	}
}

// waitReady waits for the first batch at the sink, at most maxStart (then
// the pacer opens: a pipeline that never gets there is the stall check's).
func (p *pacer) waitReady() {
	select {
	case <-p.ready:
		return
	default:
	}
	t := time.NewTimer(p.maxStart)
	defer t.Stop()
	select {
	case <-p.ready:
	case <-t.C:
		p.open()
	}
}

// startOf is the wall time of a stream's PTS 0, set at its first frame
// after the pipeline is ready.
func (p *pacer) startOf(fm *media.FrameMeta) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.start[fm.SourceID]
	if !ok {
		t = time.Now().Add(-fm.PTS)
		p.start[fm.SourceID] = t
	}
	return t
}
