package service

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/deepstream"
	"github.com/vidflow/vidflow/media"
)

// streamView is one stream in /api/v1/metrics.
type streamView struct {
	CameraID     string  `json:"camera_id"`
	CameraName   string  `json:"camera_name"`
	SourceID     int     `json:"source_id"`
	CameraURL    string  `json:"camera_url"`
	State        string  `json:"state"` // starting, playing, reconnecting, stalled
	FPS          float64 `json:"fps"`
	Frames       int64   `json:"frames"`
	FrameNumber  int64   `json:"frame_number"` // the last frame's number at the end of the analytics
	Drops        int64   `json:"drops"`
	Reconnects   int64   `json:"reconnects"`
	LatencyP50   float64 `json:"latency_p50_ms"` // capture to the end of the analytics
	LatencyP95   float64 `json:"latency_p95_ms"`
	Objects      int     `json:"objects"` // in the last frame
	ObjectsTotal int64   `json:"objects_total"`
	AddedAt      string  `json:"added_at,omitempty"`
}

// elementView is one element in /api/v1/metrics.
type elementView struct {
	Name       string  `json:"name"`
	Kind       string  `json:"kind"`
	FPS        float64 `json:"fps"`
	FramesIn   int64   `json:"frames_in"`
	FramesOut  int64   `json:"frames_out"`
	Drops      int64   `json:"drops"`
	QueueDepth int     `json:"queue_depth"`
	QueueCap   int     `json:"queue_capacity"`
	LatencyP50 float64 `json:"latency_p50_ms"` // the element's time per buffer
	LatencyP95 float64 `json:"latency_p95_ms"`
	Pools      int     `json:"pool_outstanding"`
	Reconnects int64   `json:"reconnects,omitempty"`
}

type inferView struct {
	Element   string  `json:"element"`
	FPS       float64 `json:"fps"`
	P50       float64 `json:"p50_ms"`
	P95       float64 `json:"p95_ms"`
	Batches   uint64  `json:"batches"`
	Interval  int     `json:"interval"`
	BatchSize int     `json:"batch_size"`
}

type processView struct {
	Goroutines  int    `json:"goroutines"`
	HeapBytes   uint64 `json:"heap_bytes"`
	LiveFrames  int64  `json:"live_frames"`
	LiveBuffers int64  `json:"live_buffers"`
	CPUs        int    `json:"cpus"`
}

// metricsView is the body of GET /api/v1/metrics.
type metricsView struct {
	Status       string         `json:"status"`
	Reason       string         `json:"reason"`
	Ready        string         `json:"ds-ready"`
	Pipeline     string         `json:"pipeline"`
	UptimeS      float64        `json:"uptime_s"`
	MaxBatchSize int            `json:"max_batch_size"`
	StreamCount  int            `json:"stream_count"`
	Streams      []streamView   `json:"streams"`
	Elements     []elementView  `json:"elements"`
	Inference    *inferView     `json:"inference,omitempty"`
	Process      processView    `json:"process"`
	LiveView     map[string]any `json:"live_view"`
	Events       []event        `json:"events"`
	// Cluster is the cluster view (nodes, load, leader) in cluster mode.
	Cluster any `json:"cluster,omitempty"`
}

// snapshot gathers every statistic once.
type snapshot struct {
	streams  []Stream
	nodes    map[string]element.NodeStats
	order    []element.NodeStats
	book     map[int]streamSnap
	infer    *histogram
	ip50     time.Duration
	ip95     time.Duration
	interval int
}

func (s *Service) snapshot() *snapshot {
	sn := &snapshot{streams: s.Streams(), nodes: map[string]element.NodeStats{}, book: s.stats.snapshot()}
	sn.order = s.p.Stats()
	for _, ns := range sn.order {
		sn.nodes[ns.Name] = ns
	}
	sn.infer, sn.ip50, sn.ip95 = s.stats.inferSnapshot()
	s.mu.Lock()
	sn.interval = s.interval
	s.mu.Unlock()
	return sn
}

func streamState(ns element.NodeStats, ok bool) string {
	switch {
	case !ok || ns.FramesOut == 0:
		return "starting"
	case ns.FPS > 0:
		return "playing"
	case ns.Reconnects > 0:
		return "reconnecting"
	}
	return "stalled"
}

func (s *Service) metricsView() *metricsView {
	sn := s.snapshot()
	v := &metricsView{Status: statusLine(200), Reason: "GET_METRICS_INFO_SUCCESS", Ready: yesNo(s.Ready()), Pipeline: s.cfg.Name,
		MaxBatchSize: s.cfg.MaxBatchSize, StreamCount: len(sn.streams), Streams: []streamView{}, Elements: []elementView{}}
	if !s.start.IsZero() {
		v.UptimeS = math.Round(time.Since(s.start).Seconds()*10) / 10
	}
	for _, st := range sn.streams {
		ns, ok := sn.nodes[st.Element]
		b := sn.book[st.SourceID]
		sv := streamView{CameraID: st.CameraID, CameraName: st.CameraName, SourceID: st.SourceID, CameraURL: deepstream.Redact(st.URI),
			State: streamState(ns, ok), FPS: round2(ns.FPS), Frames: ns.FramesOut, Drops: ns.Drops, Reconnects: ns.Reconnects,
			FrameNumber: b.lastFrame, LatencyP50: ms(b.p50), LatencyP95: ms(b.p95), Objects: b.objects, ObjectsTotal: b.objectsTotal}
		if !st.Added.IsZero() {
			sv.AddedAt = st.Added.UTC().Format(time.RFC3339)
		}
		v.Streams = append(v.Streams, sv)
	}
	streamEls := map[string]bool{}
	for _, st := range sn.streams {
		streamEls[st.Element] = true
	}
	for _, ns := range sn.order {
		if streamEls[ns.Name] || strings.HasPrefix(ns.Name, Batcher+"-stream-") {
			continue // streams are listed above; removed ones not at all
		}
		v.Elements = append(v.Elements, elementView{Name: ns.Name, Kind: ns.Kind, FPS: round2(ns.FPS), FramesIn: ns.FramesIn, FramesOut: ns.FramesOut,
			Drops: ns.Drops, QueueDepth: ns.QueueDepth, QueueCap: ns.QueueCap, LatencyP50: ms(ns.LatencyP50), LatencyP95: ms(ns.LatencyP95),
			Pools: ns.Pools, Reconnects: ns.Reconnects})
	}
	if s.cfg.Infer != nil {
		ns := sn.nodes[InferElement]
		v.Inference = &inferView{Element: InferElement, FPS: round2(ns.FPS), P50: ms(sn.ip50), P95: ms(sn.ip95), Batches: sn.infer.n,
			Interval: sn.interval, BatchSize: s.cfg.MaxBatchSize}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	v.Process = processView{Goroutines: runtime.NumGoroutine(), HeapBytes: m.HeapAlloc, LiveFrames: media.LiveFrames(),
		LiveBuffers: media.LiveBuffers(), CPUs: runtime.NumCPU()}
	v.LiveView = map[string]any{"enabled": s.live != nil}
	if s.live != nil {
		v.LiveView["fps"] = s.cfg.LiveView.FPS
		v.LiveView["width"] = s.cfg.LiveView.Width
		v.LiveView["viewers"] = s.live.viewers()
	}
	s.mu.Lock()
	v.Events = append([]event{}, s.events...)
	s.mu.Unlock()
	if s.opts.Cluster != nil {
		v.Cluster = s.opts.Cluster.View(context.Background())
	}
	return v
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

// promWriter writes the Prometheus text format (version 0.0.4).
type promWriter struct {
	w    *bufio.Writer
	seen map[string]bool
}

func (p *promWriter) head(name, typ, help string) {
	if p.seen[name] {
		return
	}
	p.seen[name] = true
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (p *promWriter) sample(name string, labels []string, v float64) {
	p.w.WriteString(name)
	if len(labels) > 0 {
		p.w.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.w.WriteByte(',')
			}
			p.w.WriteString(labels[i])
			p.w.WriteString(`="`)
			p.w.WriteString(escapeLabel(labels[i+1]))
			p.w.WriteByte('"')
		}
		p.w.WriteByte('}')
	}
	p.w.WriteByte(' ')
	p.w.WriteString(formatFloat(v))
	p.w.WriteByte('\n')
}

func (p *promWriter) metric(name, typ, help string, labels []string, v float64) {
	p.head(name, typ, help)
	p.sample(name, labels, v)
}

func (p *promWriter) histogram(name, help string, labels []string, h *histogram) {
	p.head(name, "histogram", help)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		p.sample(name+"_bucket", append(slicesClone(labels), "le", formatFloat(b)), float64(cum))
	}
	p.sample(name+"_bucket", append(slicesClone(labels), "le", "+Inf"), float64(h.n))
	p.sample(name+"_sum", labels, h.sum)
	p.sample(name+"_count", labels, float64(h.n))
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(s)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// writePrometheus writes every metric in the Prometheus text format.
func (s *Service) writePrometheus(out io.Writer) error {
	sn := s.snapshot()
	p := &promWriter{w: bufio.NewWriter(out), seen: map[string]bool{}}
	p.metric("vidflow_up", "gauge", "1 while the pipeline runs and takes streams.", nil, b2f(s.Ready()))
	if !s.start.IsZero() {
		p.metric("vidflow_uptime_seconds", "gauge", "Seconds since the service started.", nil, time.Since(s.start).Seconds())
	}
	p.metric("vidflow_streams", "gauge", "Streams in the batch.", nil, float64(len(sn.streams)))
	p.metric("vidflow_max_streams", "gauge", "Most streams at once (max-batch-size).", nil, float64(s.cfg.MaxBatchSize))

	// Per stream, labelled by source id and sensor (camera) id and name.
	type series struct {
		name, typ, help string
		val             func(element.NodeStats, streamSnap) float64
	}
	perStream := []series{
		{"vidflow_stream_fps", "gauge", "Frames per second the stream's source delivers (last seconds).", func(n element.NodeStats, _ streamSnap) float64 { return n.FPS }},
		{"vidflow_stream_frames_total", "counter", "Frames the stream's source delivered.", func(n element.NodeStats, _ streamSnap) float64 { return float64(n.FramesOut) }},
		{"vidflow_stream_drops_total", "counter", "Frames of the stream dropped at its source.", func(n element.NodeStats, _ streamSnap) float64 { return float64(n.Drops) }},
		{"vidflow_stream_reconnects_total", "counter", "Times the stream's source reconnected.", func(n element.NodeStats, _ streamSnap) float64 { return float64(n.Reconnects) }},
		{"vidflow_stream_objects", "gauge", "Objects in the stream's last analysed frame.", func(_ element.NodeStats, b streamSnap) float64 { return float64(b.objects) }},
		{"vidflow_stream_objects_total", "counter", "Objects found in the stream's frames.", func(_ element.NodeStats, b streamSnap) float64 { return float64(b.objectsTotal) }},
	}
	labels := func(st Stream) []string {
		return []string{"source_id", strconv.Itoa(st.SourceID), "sensor_id", st.CameraID, "sensor_name", st.CameraName}
	}
	for _, se := range perStream {
		p.head(se.name, se.typ, se.help)
		for _, st := range sn.streams {
			p.sample(se.name, labels(st), se.val(sn.nodes[st.Element], sn.book[st.SourceID]))
		}
	}
	p.head("vidflow_stream_latency_seconds", "histogram", "Capture to the end of the analytics, per frame.")
	for _, st := range sn.streams {
		if b, ok := sn.book[st.SourceID]; ok {
			p.histogram("vidflow_stream_latency_seconds", "", labels(st), b.lat)
		}
	}

	s.stats.writeFailures(p)

	// Per element (streams' sources are above).
	streamEls := map[string]bool{}
	for _, st := range sn.streams {
		streamEls[st.Element] = true
	}
	type elSeries struct {
		name, typ, help string
		val             func(element.NodeStats) float64
	}
	perEl := []elSeries{
		{"vidflow_element_fps", "gauge", "Frames per second out of the element (last seconds).", func(n element.NodeStats) float64 { return n.FPS }},
		{"vidflow_element_frames_in_total", "counter", "Frames into the element.", func(n element.NodeStats) float64 { return float64(n.FramesIn) }},
		{"vidflow_element_frames_out_total", "counter", "Frames out of the element.", func(n element.NodeStats) float64 { return float64(n.FramesOut) }},
		{"vidflow_element_drops_total", "counter", "Buffers the element dropped (probes, leaky queues, the element).", func(n element.NodeStats) float64 { return float64(n.Drops) }},
		{"vidflow_element_queue_depth", "gauge", "Buffers waiting in the element's input queues.", func(n element.NodeStats) float64 { return float64(n.QueueDepth) }},
		{"vidflow_element_queue_capacity", "gauge", "Capacity of the element's input queues.", func(n element.NodeStats) float64 { return float64(n.QueueCap) }},
		{"vidflow_element_pool_outstanding", "gauge", "Pooled frames the element handed out and did not get back.", func(n element.NodeStats) float64 { return float64(n.Pools) }},
	}
	var els []element.NodeStats
	for _, ns := range sn.order {
		if !streamEls[ns.Name] && !strings.HasPrefix(ns.Name, Batcher+"-stream-") {
			els = append(els, ns)
		}
	}
	for _, se := range perEl {
		p.head(se.name, se.typ, se.help)
		for _, ns := range els {
			p.sample(se.name, []string{"element", ns.Name, "kind", ns.Kind}, se.val(ns))
		}
	}
	p.head("vidflow_element_latency_seconds", "gauge", "The element's time per buffer, p50 and p95 of the last 1024.")
	for _, ns := range els {
		p.sample("vidflow_element_latency_seconds", []string{"element", ns.Name, "kind", ns.Kind, "quantile", "0.5"}, ns.LatencyP50.Seconds())
		p.sample("vidflow_element_latency_seconds", []string{"element", ns.Name, "kind", ns.Kind, "quantile", "0.95"}, ns.LatencyP95.Seconds())
	}
	if s.cfg.Infer != nil {
		p.histogram("vidflow_inference_seconds", "Time of each batch in the nvinfer element (batches skipped by interval included).",
			[]string{"element", InferElement}, sn.infer)
		p.metric("vidflow_inference_interval", "gauge", "Batches skipped between inferences.", []string{"element", InferElement}, float64(sn.interval))
	}

	// The process.
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p.metric("vidflow_live_frames", "gauge", "Frames alive in the process.", nil, float64(media.LiveFrames()))
	p.metric("vidflow_live_buffers", "gauge", "Buffers alive in the process.", nil, float64(media.LiveBuffers()))
	p.metric("go_goroutines", "gauge", "Number of goroutines that currently exist.", nil, float64(runtime.NumGoroutine()))
	p.metric("go_memstats_heap_alloc_bytes", "gauge", "Number of heap bytes allocated and still in use.", nil, float64(m.HeapAlloc))
	if s.live != nil {
		p.metric("vidflow_live_view_viewers", "gauge", "MJPEG viewers of the live view.", nil, float64(s.live.viewers()))
		p.metric("vidflow_live_view_jpegs_total", "counter", "JPEGs the live view encoded.", nil, float64(s.live.encoded.Load()))
	}
	s.reqMu.Lock()
	p.head("vidflow_http_requests_total", "counter", "REST requests by route and status code.")
	keys := make([]reqKey, 0, len(s.requests))
	for k := range s.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].code < keys[j].code
	})
	for _, k := range keys {
		p.sample("vidflow_http_requests_total", []string{"route", k.route, "code", strconv.Itoa(k.code)}, float64(s.requests[k]))
	}
	s.reqMu.Unlock()
	if s.opts.Cluster != nil {
		s.opts.Cluster.WritePrometheus(p.w)
	}
	return p.w.Flush()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
