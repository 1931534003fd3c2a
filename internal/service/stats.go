package service

import (
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vidflow/vidflow/media"
)

// Histogram bucket bounds, in seconds.
var (
	latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	inferBuckets   = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

// histogram is a Prometheus histogram: counts per bucket, sum, count.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket (not cumulative); the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) clone() *histogram {
	c := *h
	c.counts = slices.Clone(h.counts)
	return &c
}

// ring keeps the last durations for percentiles.
type ring struct {
	v []time.Duration
	n int
}

func (r *ring) add(d time.Duration) {
	if r.v == nil {
		r.v = make([]time.Duration, 256)
	}
	r.v[r.n%len(r.v)] = d
	r.n++
}

func (r *ring) percentiles() (p50, p95 time.Duration) {
	n := min(r.n, len(r.v))
	if n == 0 {
		return 0, 0
	}
	s := slices.Clone(r.v[:n])
	slices.Sort(s)
	return s[(n-1)*50/100], s[(n-1)*95/100]
}

// streamBook is what the stats probe saw of one stream at the end of the
// analytics.
type streamBook struct {
	cameraID, cameraName string
	lat                  *histogram
	recent               ring
	frames               int64 // frames seen by the probe
	lastFrame            int64 // the last FrameNumber
	objects              int   // objects in the last frame
	objectsTotal         int64
	last                 time.Time
}

// statsBook holds the service's own statistics: per-stream latency and
// objects, inference time.
type statsBook struct {
	mu       sync.Mutex
	streams  map[int]*streamBook
	failures map[[2]string]int64 // camera id and name → streams of it that failed

	inferMu    sync.Mutex
	inferStart map[*media.BatchMeta]time.Time
	infer      *histogram
	inferRing  ring
}

func newStatsBook() *statsBook {
	return &statsBook{streams: map[int]*streamBook{}, failures: map[[2]string]int64{}, inferStart: map[*media.BatchMeta]time.Time{}, infer: newHistogram(inferBuckets)}
}

func (b *statsBook) add(id int, cameraID, cameraName string) {
	b.mu.Lock()
	b.streams[id] = &streamBook{cameraID: cameraID, cameraName: cameraName, lat: newHistogram(latencyBuckets), lastFrame: -1}
	b.mu.Unlock()
}

// remove drops a stream's series: removed streams leave the metrics.
func (b *statsBook) remove(id int) {
	b.mu.Lock()
	delete(b.streams, id)
	b.mu.Unlock()
}

// failed counts a stream that ended by its source's failure.
func (b *statsBook) failed(cameraID, cameraName string) {
	b.mu.Lock()
	b.failures[[2]string{cameraID, cameraName}]++
	b.mu.Unlock()
}

// failureCounts copies the failure counts, by camera id and name.
func (b *statsBook) failureCounts() map[[2]string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.failures)
}

// frame records one frame reaching the end of the analytics.
func (b *statsBook) frame(fm *media.FrameMeta, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.streams[fm.SourceID]
	if st == nil {
		return // not (or no longer) a stream of the service
	}
	if !fm.NTPTimestamp.IsZero() {
		d := now.Sub(fm.NTPTimestamp)
		st.lat.observe(d.Seconds())
		st.recent.add(d)
	}
	st.frames++
	st.lastFrame = fm.FrameNumber
	st.objects = len(fm.Objects)
	st.objectsTotal += int64(len(fm.Objects))
	st.last = now
}

// streamSnap is a copy of a streamBook.
type streamSnap struct {
	lat                  *histogram
	p50, p95             time.Duration
	frames, lastFrame    int64
	objects              int
	objectsTotal         int64
	cameraID, cameraName string
}

func (b *statsBook) snapshot() map[int]streamSnap {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[int]streamSnap, len(b.streams))
	for id, st := range b.streams {
		p50, p95 := st.recent.percentiles()
		out[id] = streamSnap{lat: st.lat.clone(), p50: p50, p95: p95, frames: st.frames, lastFrame: st.lastFrame,
			objects: st.objects, objectsTotal: st.objectsTotal, cameraID: st.cameraID, cameraName: st.cameraName}
	}
	return out
}

// inferIn and inferOut time each batch through the nvinfer element (its
// sink and src probes).
func (b *statsBook) inferIn(buf *media.Buffer) bool {
	b.inferMu.Lock()
	defer b.inferMu.Unlock()
	if len(b.inferStart) > 256 { // batches that never came out (an error): forget them
		clear(b.inferStart)
	}
	b.inferStart[buf.Meta()] = time.Now()
	return true
}

func (b *statsBook) inferOut(buf *media.Buffer) bool {
	b.inferMu.Lock()
	defer b.inferMu.Unlock()
	t0, ok := b.inferStart[buf.Meta()]
	if !ok {
		return true
	}
	delete(b.inferStart, buf.Meta())
	d := time.Since(t0)
	b.infer.observe(d.Seconds())
	b.inferRing.add(d)
	return true
}

func (b *statsBook) inferSnapshot() (*histogram, time.Duration, time.Duration) {
	b.inferMu.Lock()
	defer b.inferMu.Unlock()
	p50, p95 := b.inferRing.percentiles()
	return b.infer.clone(), p50, p95
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

// writeFailures writes the per-camera count of streams that failed (their
// source's error ended them; the series stay after the streams are gone).
func (b *statsBook) writeFailures(p *promWriter) {
	p.head("vidflow_stream_failures_total", "counter", "Streams of the camera that ended because their source failed (not a video, HTTP 404, out of reconnection attempts, no data).")
	counts := b.failureCounts()
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, c [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], c[0]+"\x00"+c[1]) })
	for _, k := range keys {
		p.sample("vidflow_stream_failures_total", []string{"sensor_id", k[0], "sensor_name", k[1]}, float64(counts[k]))
	}
}
