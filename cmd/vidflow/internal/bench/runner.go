package bench

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// sinkStats collects per-frame data at the end of a pipeline.
type sinkStats struct {
	mu        sync.Mutex
	perStream []int64
	frames    int64
	objects   int64
	lat       []time.Duration // after warm-up
	latAll    []time.Duration
	warmup    time.Duration  // frames of the first warmup of stream time are left out of lat
	steady    []streamWindow // per stream, its frames after warmup (real-time rates)
	first     time.Time      // first frame at the sink
	last      time.Time
	firstN    int64     // frames of the first batch at the sink
	marks     []mark    // every batch at the sink: when, and the frames so far (middleFPS)
	captured  time.Time // the latest capture time of a frame at the sink (drain)
	limit     int64     // frames per stream before the run is stopped (0: none)
	stop      func()
	onFirst   func() // called at the first frame at the sink (nil: none)
	stopped   bool
}

// probe is the sink of a batched flow: it counts frames per stream and
// objects, times them and records capture-to-here latency.
func (s *sinkStats) probe(m *media.BatchMeta) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	counted := int64(0)
	for _, fm := range m.Frames {
		id := fm.SourceID
		if id < 0 || id >= len(s.perStream) || s.limit > 0 && s.perStream[id] >= s.limit {
			continue
		}
		s.perStream[id]++
		counted++
		if fm.NTPTimestamp.After(s.captured) {
			s.captured = fm.NTPTimestamp
		}
		s.objects += int64(len(fm.Objects))
		if !fm.NTPTimestamp.IsZero() {
			s.latency(fm, now)
		}
		if s.steady != nil && fm.PTS >= s.warmup {
			s.steady[id].add(now)
		}
	}
	s.arrived(now, counted)
	if s.limit > 0 {
		for _, n := range s.perStream {
			if n < s.limit {
				return
			}
		}
		s.stopNow()
	}
}

// streamWindow is one stream's frames at the sink after the warm-up:
// its own rate, so that a stream starting late is not diluted by the
// others' start-up nor hidden in their sum.
type streamWindow struct {
	n           int64
	first, last time.Time
}

func (w *streamWindow) add(now time.Time) {
	if w.n == 0 {
		w.first = now
	}
	w.n++
	w.last = now
}

// fps is the window's rate, 0 with fewer than two frames.
func (w *streamWindow) fps() float64 {
	if w.n < 2 || !w.last.After(w.first) {
		return 0
	}
	return float64(w.n-1) / w.last.Sub(w.first).Seconds()
}

// latency records a frame's capture-to-here latency.
func (s *sinkStats) latency(fm *media.FrameMeta, now time.Time) {
	d := now.Sub(fm.NTPTimestamp)
	s.latAll = append(s.latAll, d)
	if fm.PTS >= s.warmup {
		s.lat = append(s.lat, d)
	}
}

// arrived times counted frames reaching the sink.
func (s *sinkStats) arrived(now time.Time, counted int64) {
	if counted == 0 {
		return
	}
	s.frames += counted
	s.marks = append(s.marks, mark{now, s.frames})
	if s.first.IsZero() {
		s.first, s.firstN = now, counted
		if s.onFirst != nil {
			s.onFirst()
		}
	}
	s.last = now
}

// mark is the sink's count of frames at a batch's arrival.
type mark struct {
	at     time.Time
	frames int64
}

// middleFPS is the sink's rate over the middle of a run: from the batch
// that brought the count to lo of all frames to the one that brought it
// to hi (lo, hi in 0..1). It leaves out both ends, which a whole-window
// rate counts: the ramp as every stream gets going, and the run's end, as
// streams finish and the frames still queued go through (with 150 streams
// on the H200, NVDEC was done 4-7 s before the last frame of a 40 s
// window). One mark a batch, so the marks are bounded by the run's
// frames. 0 when the run is too short to tell.
func (s *sinkStats) middleFPS(lo, hi float64) float64 {
	from, to := -1, -1
	for i, m := range s.marks {
		if from < 0 && float64(m.frames) >= lo*float64(s.frames) {
			from = i
		}
		if float64(m.frames) >= hi*float64(s.frames) {
			to = i
			break
		}
	}
	if from < 0 || to <= from || !s.marks[to].at.After(s.marks[from].at) {
		return 0
	}
	return float64(s.marks[to].frames-s.marks[from].frames) / s.marks[to].at.Sub(s.marks[from].at).Seconds()
}

// started reports whether a frame reached the sink.
func (s *sinkStats) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.first.IsZero()
}

func (s *sinkStats) stopNow() {
	if !s.stopped {
		s.stopped = true
		go s.stop()
	}
}

// countProbe counts frames per stream and objects before a tiler (Encode):
// the frames are timed at the encoder by tiledProbe.
func (s *sinkStats) countProbe(m *media.BatchMeta) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fm := range m.Frames {
		id := fm.SourceID
		if id < 0 || id >= len(s.perStream) || s.limit > 0 && s.perStream[id] >= s.limit {
			continue
		}
		s.perStream[id]++
		s.objects += int64(len(fm.Objects))
		if s.steady != nil && fm.PTS >= s.warmup {
			s.steady[id].add(time.Now()) // rates before the tiler, latency at the encoder
		}
	}
}

// tiledProbe is the sink of a tiled flow (at the encoder's input): each
// tiled frame holds one frame of every stream (full batches), and carries
// the capture time of the oldest of them.
func (s *sinkStats) tiledProbe(m *media.BatchMeta) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	n := int64(len(s.perStream))
	for _, fm := range m.Frames {
		if !fm.NTPTimestamp.IsZero() {
			s.latency(fm, now)
		}
		s.arrived(now, n)
	}
	if s.limit > 0 && s.frames >= s.limit*n {
		s.stopNow()
	}
}

// runner runs one vidflow pipeline and measures it.
type runner struct {
	b        *bench
	scenario string
	clip     string
	uris     []string
	p        *vidflow.Pipeline
	sink     *sinkStats
}

func newRunner(b *bench, scenario, clip string, n int) *runner {
	r := &runner{b: b, scenario: scenario, clip: clip, p: vidflow.NewPipeline("bench-" + scenario)}
	for i := 0; i < n; i++ {
		r.uris = append(r.uris, clip)
	}
	r.sink = &sinkStats{perStream: make([]int64, n), limit: int64(b.o.frames), stop: func() { r.p.Stop() }}
	if b.o.verbose {
		r.p.OnMessage((&messageLog{out: b.out}).print)
	}
	return r
}

// measure runs the flow. steady: the rate is taken from the first frame
// at the sink to the last (session opening and warm-up excluded, as the
// infer floor's); otherwise from Start to the last frame.
func (r *runner) measure(f *vidflow.Flow, steady bool) (*benchRow, error) {
	p := r.p
	if err := f.Err(); err != nil {
		return nil, err
	}
	q := &queueSampler{depth: map[string][]int{}, working: map[string][]int{}, started: r.sink.started}
	m0 := measureStart()
	start := time.Now()
	if err := p.Start(context.Background()); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go q.run(p, done)
	var stalled atomic.Bool
	go r.watch(done, &stalled)
	err := p.Wait()
	close(done)
	end := time.Now()
	if stalled.Load() {
		return nil, fmt.Errorf("stalled: no frame reached the sink for %s (element counts above)", r.b.o.stall)
	}
	if err != nil {
		return nil, err
	}
	s := r.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	row := &benchRow{Scenario: r.scenario, Name: "vidflow", Clip: filepath.Base(r.clip), Streams: len(r.uris), Frames: s.frames, Provider: r.b.o.provider}
	if s.frames == 0 {
		return nil, fmt.Errorf("no frame reached the sink")
	}
	from, frames := start, s.frames
	if steady && s.frames > s.firstN {
		from, frames = s.first, s.frames-s.firstN
		row.StartupS = s.first.Sub(start).Seconds()
	}
	last := s.last
	if last.IsZero() {
		last = end
	}
	row.Seconds = last.Sub(from).Seconds()
	row.FPS = float64(frames) / row.Seconds
	var counted int64
	for _, n := range s.perStream {
		counted += n
	}
	for _, n := range s.perStream {
		row.StreamFPS = append(row.StreamFPS, float64(n)/float64(max(counted, 1))*row.FPS)
	}
	if s.steady != nil {
		s.steadyRates(row)
	} else if steady {
		row.MiddleFPS = s.middleFPS(0.1, 0.9)
		if !s.captured.IsZero() && s.last.After(s.captured) {
			row.DrainS = s.last.Sub(s.captured).Seconds()
		}
	}
	row.Objects = float64(s.objects) / float64(max(counted, 1))
	row.Latency = percentiles(s.lat)
	if s.warmup > 0 {
		row.LatencyAll = percentiles(s.latAll)
	}
	m0.finishAt(row, end.Sub(start).Seconds())
	row.Elements = elements(p.Stats(), q)
	// Kept GStreamer pipelines (finished GPU streams) are released before
	// Run returns, so their samples count here too.
	if media.LiveBuffers() != 0 || media.LiveFrames() != 0 || gst.LiveSamples() != 0 {
		row.Note = fmt.Sprintf("after the run: %d buffers, %d frames, %d GStreamer samples still held",
			media.LiveBuffers(), media.LiveFrames(), gst.LiveSamples())
	}
	return row, nil
}

// queueSampler samples every element's input queue depth, and the
// workers at work of the elements that have them (the infer element's
// sessions), from the first frame at the sink on: start-up (150 decoders
// opening in 30 s) would otherwise weigh in as empty queues and idle
// sessions.
type queueSampler struct {
	mu      sync.Mutex
	started func() bool
	depth   map[string][]int
	working map[string][]int
}

func (q *queueSampler) run(p *vidflow.Pipeline, done <-chan struct{}) {
	cli.Every(50*time.Millisecond, done, func() {
		if !q.started() {
			return
		}
		st := p.Stats()
		q.mu.Lock()
		for _, s := range st {
			q.depth[s.Name] = append(q.depth[s.Name], s.QueueDepth)
			if s.Workers > 0 {
				q.working[s.Name] = append(q.working[s.Name], s.Working)
			}
		}
		q.mu.Unlock()
	})
}

// elements is the rows' per-element statistics: the pipeline's own, with
// the queue depths q sampled during the run (the end's alone without q).
func elements(st []element.NodeStats, q *queueSampler) []elementStats {
	var out []elementStats
	for _, s := range st {
		e := elementStats{Name: s.Name, Kind: s.Kind, FramesOut: s.FramesOut, P50MS: ms(s.LatencyP50), P95MS: ms(s.LatencyP95),
			QueueCap: s.QueueCap, QueueMax: s.QueueDepth, QueueMean: float64(s.QueueDepth), Drops: s.Drops,
			WorkingMean: float64(s.Working), Workers: s.Workers}
		if q != nil {
			q.mu.Lock()
			if d := q.depth[s.Name]; len(d) > 0 {
				sum := 0
				e.QueueMax = 0
				for _, v := range d {
					sum += v
					e.QueueMax = max(e.QueueMax, v)
				}
				e.QueueMean = float64(sum) / float64(len(d))
			}
			if w := q.working[s.Name]; len(w) > 0 {
				sum := 0
				for _, v := range w {
					sum += v
				}
				e.WorkingMean = float64(sum) / float64(len(w))
			}
			q.mu.Unlock()
		}
		out = append(out, e)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentiles(d []time.Duration) *latencyMS {
	if len(d) == 0 {
		return nil
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return ms(s[min(max(i, 0), len(s)-1)])
	}
	return &latencyMS{P50: at(50), P95: at(95), P99: at(99), Max: ms(s[len(s)-1])}
}

// steadyRates replaces a real-time row's rates with those after the
// warm-up, each stream's over its own window (every stream must hold its
// frame rate: a sum would hide a slow one), the row's their sum.
func (s *sinkStats) steadyRates(row *benchRow) {
	total, longest := 0.0, 0.0
	for i := range s.steady {
		w := &s.steady[i]
		row.StreamFPS[i] = w.fps()
		total += row.StreamFPS[i]
		if w.n > 1 {
			longest = max(longest, w.last.Sub(w.first).Seconds())
		}
	}
	if longest > 0 {
		row.FPS, row.Seconds = total, longest
	}
}
