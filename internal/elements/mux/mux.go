// Package mux holds the batcher (DeepStream's nvstreammux): it takes one
// frame at a time from each of its input streams and pushes batches of up
// to batch-size frames, converting and scaling frames to the batch's
// format and size where they differ.
package mux

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/imgproc"
	"github.com/vidflow/vidflow/media"
)

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvstreammux",
		Aliases: []string{"mux", "streammux"},
		Doc: "Batches frames of several streams: at most one frame per stream per batch; a batch is pushed when " +
			"every live stream gave a frame, when batch-size frames are in, or batched-push-timeout after its first frame.",
		Role: element.RoleMux,
		Props: []element.PropSpec{
			{Name: "batch-size", Type: element.Int, Default: 0, Doc: "frames per batch; 0 = number of input streams"},
			{Name: "width", Type: element.Int, Default: 0, Doc: "batch frame width; 0 = the first frame's"},
			{Name: "height", Type: element.Int, Default: 0, Doc: "batch frame height; 0 = the first frame's"},
			{Name: "batched-push-timeout", Type: element.Duration, Default: 33 * time.Millisecond, Unit: time.Microsecond,
				Doc: "longest wait for a full batch after its first frame (µs as a number); negative waits for all streams"},
			{Name: "format", Type: element.String, Default: "RGB", Doc: "batch frame format: RGB, RGBA or GRAY8"},
			{Name: "buffer-pool-size", Type: element.Int, Default: 4, Doc: "batches of converted frames in flight"},
			{Name: "live-source", Type: element.Bool, Default: false, Ignored: true, Doc: "batches are pushed on timeout for every source"},
			{Name: "gpu-id", Type: element.Int, Default: 0, Ignored: true},
			{Name: "compute-hw", Type: element.Int, Default: 0, Ignored: true},
			{Name: "nvbuf-memory-type", Type: element.Int, Default: 0, Ignored: true},
			{Name: "enable-padding", Type: element.Bool, Default: false, Ignored: true},
			{Name: "attach-sys-ts", Type: element.Bool, Default: true, Ignored: true},
			{Name: "sync-inputs", Type: element.Bool, Default: false, Ignored: true},
			// The new nvstreammux's config file and its frame pacing and
			// scaling: accepted, with a warning that they have no effect.
			{Name: "config-file-path", Type: element.String, Default: "", Ignored: true},
			{Name: "frame-duration", Type: element.Int, Default: -1, Ignored: true},
			{Name: "interpolation-method", Type: element.Int, Default: 1, Ignored: true},
			{Name: "num-surfaces-per-frame", Type: element.Int, Default: 1, Ignored: true},
			{Name: "frame-num-reset-on-eos", Type: element.Bool, Default: false, Ignored: true},
			{Name: "frame-num-reset-on-stream-reset", Type: element.Bool, Default: false, Ignored: true},
			{Name: "drop-pipeline-eos", Type: element.Bool, Default: false, Doc: "stay up when every stream has ended, for streams added later (Pipeline.AddStream)"},
			{Name: "max-batch-size", Type: element.Int, Default: 0, Doc: "most streams at once (AddStream refuses more); 0 = batch-size"},
			{Name: "drop-source-errors", Type: element.Bool, Default: false, Doc: "a source's error ends only its stream (a WarningMessage naming it, " +
				"then its end-of-stream: the slot is freed) instead of the pipeline; the other streams run on"},
			{Name: "input-queue-size", Type: element.Int, Default: element.DefaultQueueSize,
				Doc: "frames queued per input stream (vidflow's; nvstreammux has none): deeper queues let many decoders batched in step run ahead of the slowest at each moment, at the cost of frames held"},
			{Name: "max-latency", Type: element.Duration, Default: time.Second, Unit: time.Millisecond,
				Doc: "live streams only: frames older than this (capture to now, ms as a number) are dropped on the way and counted as their stream's drops; 0 = no bound. Files keep back-pressure"},
		},
		New: newMux,
	})
}

type mux struct {
	cfg       *element.Config
	dropEOS   bool
	dropErrs  bool
	maxInputs int
	batchSize int
	w, h      int
	format    media.ColorFormat
	poolSize  int
	queueSize int // input-queue-size
	// batched-push-timeout and max-latency change while it runs
	// (SetProperty, runtime.go): read at each use; changed wakes a wait.
	timeout, latency atomic.Int64 // time.Duration
	changed          chan struct{}
}

func newMux(c *element.Config) (element.Element, error) {
	m := &mux{cfg: c, dropEOS: c.Bool("drop-pipeline-eos"), dropErrs: c.Bool("drop-source-errors"), maxInputs: c.Int("max-batch-size"), batchSize: c.Int("batch-size"), w: c.Int("width"), h: c.Int("height"),
		poolSize: c.Int("buffer-pool-size"), queueSize: c.Int("input-queue-size"), changed: make(chan struct{}, 1)}
	m.timeout.Store(int64(c.Duration("batched-push-timeout")))
	m.latency.Store(int64(c.Duration("max-latency")))
	f, err := media.ParseColorFormat(c.String("format"))
	if err != nil || f.Channels() == 0 {
		return nil, fmt.Errorf("property \"format\": %q is not RGB, RGBA or GRAY8", c.String("format"))
	}
	m.format = f
	switch {
	case m.batchSize < 0:
		return nil, fmt.Errorf("property \"batch-size\" must not be negative, got %d", m.batchSize)
	case m.w < 0 || m.h < 0 || (m.w == 0) != (m.h == 0):
		return nil, fmt.Errorf("width and height must both be positive or both 0, got %dx%d", m.w, m.h)
	case c.Duration("max-latency") < 0:
		return nil, fmt.Errorf("property \"max-latency\" must not be negative, got %v", c.Duration("max-latency"))
	case m.poolSize < 1:
		return nil, fmt.Errorf("property \"buffer-pool-size\" must be at least 1")
	case m.queueSize < 1 || m.queueSize > maxQueueSize:
		return nil, fmt.Errorf("property \"input-queue-size\" must be 1 to %d frames, got %d", maxQueueSize, m.queueSize)
	}
	return m, nil
}

// state is one run's batching state.
type state struct {
	*mux
	p      element.Ports
	ctx    context.Context
	w, h   int
	eos    []bool
	taken  []bool // the current batch has a frame of this input
	frames []*media.Frame
	metas  []*media.FrameMeta
	first  time.Time
	next   int // round-robin start
	pool   *media.Pool
	conv   imgproc.Converter
}

// maxQueueSize bounds input-queue-size: each queued frame of each stream
// is a decoded picture held (3 MB at 1080p).
const maxQueueSize = 256

// QueueConfig sizes the batcher's input queues (input-queue-size).
func (m *mux) QueueConfig() (int, element.Leaky) { return m.queueSize, element.Block }

// MaxInputs is the most streams the batcher takes at once (0: no limit).
func (m *mux) MaxInputs() int {
	if m.maxInputs > 0 {
		return m.maxInputs
	}
	return m.batchSize
}

// AcceptsInputs reports whether streams may be added while it runs.
func (m *mux) AcceptsInputs() bool { return m.dropEOS }

// IsolatesSourceErrors is drop-source-errors, for the engine.
func (m *mux) IsolatesSourceErrors() bool { return m.dropErrs }

// MaxLatency is max-latency, which the engine enforces.
func (m *mux) MaxLatency() time.Duration { return time.Duration(m.latency.Load()) }

func (m *mux) Run(ctx context.Context, p element.Ports) error {
	s := &state{mux: m, p: p, ctx: ctx, w: m.w, h: m.h}
	defer s.drop()
	var timer *time.Timer
	ended := 0
	for {
		n := p.NumIn()
		for len(s.eos) < n { // streams added while running
			s.eos = append(s.eos, false)
			s.taken = append(s.taken, false)
		}
		size := m.batchSize
		if size == 0 {
			size = max(1, n-ended)
		}
		progressed := false
		// The turn starts where the last frame taken left off, and stays
		// put for the sweep: with batches smaller than the streams, moving
		// it within the sweep took the same streams each time and starved
		// the others.
		start := s.next
		for k := 0; k < n && len(s.frames) < size; k++ {
			i := (start + k) % n
			if s.eos[i] || s.taken[i] {
				continue
			}
			it, ok, err := p.TryRecv(i)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			progressed = true
			if it.Buf == nil {
				if it.Event != element.EventEOS {
					continue // a stream's end inside an unbatched input means nothing here
				}
				s.eos[i] = true
				ended++
				if err := p.Emit(element.Item{Event: element.EventStreamEOS, Source: i}); err != nil {
					return err
				}
				p.Post(&element.StreamEOSMessage{Element: p.Name(), SourceID: i})
				continue
			}
			if err := s.add(i, it.Buf, size); err != nil {
				return err
			}
			s.next = (i + 1) % n
		}
		if ended == n && !m.dropEOS {
			if err := s.push(); err != nil {
				return err
			}
			return p.Emit(element.Item{Event: element.EventEOS})
		}
		if len(s.frames) > 0 && (len(s.frames) >= size || s.allIn()) {
			if err := s.push(); err != nil {
				return err
			}
			continue
		}
		if progressed {
			continue
		}
		// Nothing queued: wait for an input, the batch's deadline or the end.
		var deadline <-chan time.Time
		if timeout := time.Duration(m.timeout.Load()); len(s.frames) > 0 && timeout >= 0 {
			d := timeout - time.Since(s.first)
			if d <= 0 {
				if err := s.push(); err != nil {
					return err
				}
				continue
			}
			if timer == nil {
				timer = time.NewTimer(d)
				defer timer.Stop()
			} else {
				timer.Reset(d)
			}
			deadline = timer.C
		}
		select {
		case <-p.Wake():
		case <-deadline:
		case <-m.changed: // a new batched-push-timeout: the deadline again
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// allIn reports whether every stream that has not ended is in the batch.
func (s *state) allIn() bool {
	for i := range s.eos {
		if !s.eos[i] && !s.taken[i] {
			return false
		}
	}
	return true
}

// add puts the frame of input i into the current batch.
func (s *state) add(i int, b *media.Buffer, size int) error {
	defer b.Release()
	if b.BatchSize() != 1 {
		return fmt.Errorf("input %d carries batches of %d frames; the batcher takes unbatched streams", i, b.BatchSize())
	}
	f := b.Frame(0)
	fm := b.Meta().Frames[0]
	if s.w == 0 {
		s.w, s.h = f.Width, f.Height
	}
	w, h := s.w, s.h
	switch {
	case f.OnDevice():
		// Frames in GPU memory are batched as they are: the consumers
		// (infer's GPU preprocessing) scale and convert each one, so a
		// conversion here would only add a copy.
		f.Ref()
		w, h = f.Width, f.Height
	case f.Format == s.format && f.Width == s.w && f.Height == s.h:
		f.Ref()
	default:
		if s.pool == nil || s.pool.Cap() < s.poolSize*max(size, 1) {
			// Sized by the batch: a pool smaller than one batch would
			// deadlock (the batcher waiting for frames its batch holds),
			// so streams added while running get a larger one; frames of
			// the old one go back to it.
			s.pool = media.NewPool(s.p.Name(), s.format, s.w, s.h, s.poolSize*max(size, 1))
			s.p.AddPool(s.pool)
		}
		out, err := s.pool.Get(s.ctx)
		if err != nil {
			return err
		}
		if err := s.conv.Convert(&out.Surface, &f.Surface); err != nil {
			out.Unref()
			return fmt.Errorf("input %d: %w", i, err)
		}
		sx, sy := float32(s.w)/float32(f.Width), float32(s.h)/float32(f.Height)
		for _, o := range fm.Objects {
			o.Rect = media.Rect{Left: o.Rect.Left * sx, Top: o.Rect.Top * sy, Width: o.Rect.Width * sx, Height: o.Rect.Height * sy}
		}
		f = out
	}
	if len(s.frames) == 0 {
		s.first = time.Now()
	}
	fm.SourceID = i
	fm.BatchID = len(s.frames)
	fm.Width, fm.Height = w, h
	s.frames = append(s.frames, f)
	s.metas = append(s.metas, fm)
	s.taken[i] = true
	return nil
}

// push sends the current batch downstream.
func (s *state) push() error {
	if len(s.frames) == 0 {
		return nil
	}
	meta := &media.BatchMeta{Frames: append([]*media.FrameMeta(nil), s.metas...)}
	b := media.NewBatch(append([]*media.Frame(nil), s.frames...), meta)
	pts := meta.Frames[0].PTS
	for _, fm := range meta.Frames {
		pts = min(pts, fm.PTS)
	}
	b.SetTimestamp(pts)
	s.p.Observe(time.Since(s.first))
	s.frames, s.metas = s.frames[:0], s.metas[:0]
	clear(s.taken)
	return s.p.EmitBuffer(b)
}

// drop releases a batch left unfinished when the run ends early.
func (s *state) drop() {
	for _, f := range s.frames {
		f.Unref()
	}
	s.frames = s.frames[:0]
}
