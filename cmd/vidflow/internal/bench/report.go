package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
)

// benchRow is one measured run.
type benchRow struct {
	Scenario    string         `json:"scenario"`
	Name        string         `json:"name"`
	Clip        string         `json:"clip,omitempty"`
	Streams     int            `json:"streams,omitempty"`
	Interval    *int           `json:"interval,omitempty"`
	Sink        string         `json:"sink,omitempty"`
	Realtime    bool           `json:"realtime,omitempty"`
	Threads     int            `json:"threads,omitempty"`  // ONNX Runtime intra-op threads per session
	Sessions    int            `json:"sessions,omitempty"` // ONNX Runtime sessions in parallel
	Batch       int            `json:"batch,omitempty"`
	Frames      int64          `json:"frames"`
	Batches     int64          `json:"batches,omitempty"`
	Seconds     float64        `json:"seconds"`
	StartupS    float64        `json:"startup_s,omitempty"` // start to the first batch at the sink (not in the rate)
	FPS         float64        `json:"fps"`
	MiddleFPS   float64        `json:"middle_fps,omitempty"` // the middle 80% of the frames at the sink (runner.go's middleFPS)
	DrainS      float64        `json:"drain_s,omitempty"`    // from the last frame out of capture to the last at the sink
	StreamFPS   []float64      `json:"stream_fps,omitempty"`
	Latency     *latencyMS     `json:"latency_ms,omitempty"`
	LatencyAll  *latencyMS     `json:"latency_ms_with_warmup,omitempty"` // real time: warm-up included
	USPerBatch  float64        `json:"us_per_batch,omitempty"`
	MSPerFrame  float64        `json:"ms_per_frame,omitempty"`
	CPUCores    float64        `json:"cpu_cores"` // CPU seconds / wall seconds
	CPUSeconds  float64        `json:"cpu_seconds"`
	PeakMB      float64        `json:"peak_rss_mb"`
	Objects     float64        `json:"objects_per_frame,omitempty"`
	Floor       float64        `json:"floor_fps,omitempty"`
	FloorOf     string         `json:"floor_of,omitempty"`
	Ratio       float64        `json:"ratio,omitempty"`
	SharedFloor float64        `json:"shared_floor_fps,omitempty"` // -shared-floor: capture beside the paced model (sharedfloor.go)
	Elements    []elementStats `json:"elements,omitempty"`
	Memory      []memSample    `json:"memory,omitempty"`
	Note        string         `json:"note,omitempty"`
	Load        [2]float64     `json:"load"`           // 1-minute load average before and after the run
	Runs        []float64      `json:"runs,omitempty"` // frames/s of every run when -repeat > 1 (the row is the best)
	PeerDetails map[string]any `json:"peer,omitempty"`
	GPU         *gpuUse        `json:"gpu,omitempty"` // NVIDIA GPU load during the run (nvidia-smi)
	Provider    string         `json:"provider,omitempty"`
}

type latencyMS struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// elementStats is an element's statistics at the end of a run, with its
// input queue depth sampled during the run.
type elementStats struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	FramesOut int64   `json:"frames_out"`
	P50MS     float64 `json:"p50_ms"` // time per buffer
	P95MS     float64 `json:"p95_ms"`
	QueueMean float64 `json:"queue_mean"`
	QueueMax  int     `json:"queue_max"`
	QueueCap  int     `json:"queue_cap"`
	Drops     int64   `json:"drops"`
	// The element's workers at work on average (the infer element's
	// sessions running), of Workers: all of them means it is the limit.
	WorkingMean float64 `json:"working_mean,omitempty"`
	Workers     int     `json:"workers,omitempty"`
}

type memSample struct {
	Seconds float64 `json:"s"`
	RSSMB   float64 `json:"rss_mb"`
	HeapMB  float64 `json:"heap_mb"`
}

// benchTarget is one of the targets of issue 8, checked on the rows.
type benchTarget struct {
	Target string `json:"target"`
	Value  string `json:"value"`
	Met    bool   `json:"met"`
}

type machineInfo struct {
	CPU       string     `json:"cpu"`
	Cores     int        `json:"cores"`
	MemoryGB  float64    `json:"memory_gb"`
	Kernel    string     `json:"kernel"`
	Go        string     `json:"go"`
	GStreamer string     `json:"gstreamer"`
	ORT       string     `json:"onnxruntime"`
	LoadStart [3]float64 `json:"load_start"`
	LoadEnd   [3]float64 `json:"load_end"`
}

type benchReport struct {
	Command string        `json:"command"`
	Started time.Time     `json:"started"`
	Machine machineInfo   `json:"machine"`
	Rows    []*benchRow   `json:"rows"`
	Targets []benchTarget `json:"targets,omitempty"`
	Notes   []string      `json:"notes,omitempty"`
}

// checkTargets evaluates issue 8's targets on the rows there are.
func (b *bench) checkTargets() {
	var peer *benchRow
	for _, r := range b.rep.Rows {
		if r.Scenario == "peer" {
			peer = r
		}
	}
	for _, r := range b.rep.Rows {
		switch {
		case r.Scenario == "pipeline" && r.Name == "vidflow" && !r.Realtime && *r.Interval == 0 && r.Ratio > 0:
			b.rep.Targets = append(b.rep.Targets, benchTarget{
				Target: fmt.Sprintf("pipeline interval 0, %d stream(s) %s %s: >= 90%% of min(decode, infer floor)", r.Streams, r.Clip, r.Sink),
				Value:  fmt.Sprintf("%.0f%% (%.1f of %.1f fps, %s)", 100*r.Ratio, r.FPS, r.Floor, r.FloorOf),
				Met:    r.Ratio >= 0.9})
			if peer != nil && r.Streams == 1 && peer.Clip == r.Clip && peer.FPS > 0 {
				b.rep.Targets = append(b.rep.Targets, benchTarget{
					Target: fmt.Sprintf("pipeline (1 stream %s, interval 0, %s) >= 3x the Python OpenCV peer", r.Clip, r.Sink),
					Value:  fmt.Sprintf("%.1fx (%.1f vs %.1f fps)", r.FPS/peer.FPS, r.FPS, peer.FPS),
					Met:    r.FPS >= 3*peer.FPS})
			}
		case r.Scenario == "pipeline" && r.Name == "vidflow" && r.Realtime:
			want := 0.0
			if mi, err := vidflow.Discover(clipPath(r)); err == nil && len(mi.Video) > 0 && mi.Video[0].FramerateDen > 0 {
				want = float64(mi.Video[0].FramerateNum) / float64(mi.Video[0].FramerateDen) * float64(r.Streams)
			}
			p95 := 0.0
			if r.Latency != nil {
				p95 = r.Latency.P95
			}
			b.rep.Targets = append(b.rep.Targets, benchTarget{
				Target: fmt.Sprintf("real time, interval %d + tracking, %d streams %s: every frame in time, p95 latency < 300 ms", *r.Interval, r.Streams, r.Clip),
				Value:  fmt.Sprintf("%.1f of %.0f fps, p95 %.0f ms, drops %d", r.FPS, want, p95, drops(r)),
				Met:    r.FPS >= 0.97*want && p95 < 300 && drops(r) == 0})
		case r.Scenario == "overhead":
			b.rep.Targets = append(b.rep.Targets, benchTarget{
				Target: "overhead: < 20 µs per batch (4 streams)",
				Value:  fmt.Sprintf("%.2f µs", r.USPerBatch),
				Met:    r.USPerBatch < 20})
			if warm, end, ok := memGrowth(r.Memory); ok {
				grow := end.RSSMB - warm.RSSMB
				b.rep.Targets = append(b.rep.Targets, benchTarget{
					Target: fmt.Sprintf("overhead: memory flat after warm-up over %s", (time.Duration(r.Seconds) * time.Second).String()),
					Value:  fmt.Sprintf("RSS %+.1f MB (%.1f → %.1f), Go heap %.1f → %.1f MB", grow, warm.RSSMB, end.RSSMB, warm.HeapMB, end.HeapMB),
					Met:    grow < 4})
			}
		}
	}
}

func clipPath(r *benchRow) string {
	if filepath.IsAbs(r.Clip) {
		return r.Clip
	}
	return cli.MediaPath(r.Clip)
}

func drops(r *benchRow) int64 {
	var n int64
	for _, e := range r.Elements {
		n += e.Drops
	}
	return n
}

func (b *bench) print() {
	out := b.out
	m := b.rep.Machine
	fmt.Fprintf(out, "vidflow bench: %s, %d cores, %.0f GB, %s, %s; load %.2f %.2f %.2f at the start, %.2f at the end\n",
		m.CPU, m.Cores, m.MemoryGB, m.Go, m.GStreamer, m.LoadStart[0], m.LoadStart[1], m.LoadStart[2], m.LoadEnd[0])
	fmt.Fprintf(out, "%-9s %-30s %-20s %3s %3s %-10s %7s %8s %-11s %-14s %18s %5s %6s %7s %5s %s\n",
		"scenario", "run", "clip", "n", "int", "sink", "frames", "fps", "fps/stream", "cost", "lat p50/p95/p99ms", "cpu", "MB", "floor", "ratio", "load")
	for _, r := range b.rep.Rows {
		iv := "-"
		if r.Interval != nil {
			iv = fmt.Sprint(*r.Interval)
		}
		sink := r.Sink
		if r.Realtime {
			sink += "/rt"
		}
		if sink == "" {
			sink = "-"
		}
		per := "-"
		if len(r.StreamFPS) > 0 {
			lo, hi := slices.Min(r.StreamFPS), slices.Max(r.StreamFPS)
			per = fmt.Sprintf("%.1f", lo)
			if hi-lo >= 0.05 {
				per = fmt.Sprintf("%.1f..%.1f", lo, hi)
			}
		}
		lat := "-"
		if r.Latency != nil {
			lat = fmt.Sprintf("%.0f/%.0f/%.0f", r.Latency.P50, r.Latency.P95, r.Latency.P99)
			if r.Latency.P99 < 10 {
				lat = fmt.Sprintf("%.1f/%.1f/%.1f", r.Latency.P50, r.Latency.P95, r.Latency.P99)
			}
		}
		floor, ratio := "-", "-"
		if r.Floor > 0 {
			floor, ratio = fmt.Sprintf("%.1f", r.Floor), fmt.Sprintf("%.2f", r.Ratio)
		}
		fps := fmt.Sprintf("%.1f", r.FPS)
		name := r.Name
		cost := "-"
		switch {
		case r.USPerBatch > 0:
			cost = fmt.Sprintf("%.2f µs/batch", r.USPerBatch)
		case r.MSPerFrame > 0:
			cost = fmt.Sprintf("%.1f ms/frame", r.MSPerFrame)
			if r.MSPerFrame < 1 {
				cost = fmt.Sprintf("%.3f ms/frame", r.MSPerFrame)
			}
			name = strings.Replace(name, " (floor)", fmt.Sprintf(" b%d (floor)", r.Batch), 1)
		}
		clip := r.Clip
		if clip == "" {
			clip = "-"
		}
		streams := "-"
		if r.Streams > 0 {
			streams = fmt.Sprint(r.Streams)
		}
		fmt.Fprintf(out, "%-9s %-30s %-20s %3s %3s %-10s %7d %8s %-11s %-14s %18s %5.2f %6.0f %7s %5s %.1f-%.1f\n",
			r.Scenario, name, clip, streams, iv, sink, r.Frames, fps, per, cost, lat, r.CPUCores, r.PeakMB, floor, ratio, r.Load[0], r.Load[1])
		if g := r.GPU; g != nil {
			fmt.Fprintf(out, "%-9s   gpu: %s utilisation %.0f%% mean, %.0f%% max; NVDEC %.0f%%, NVENC %.0f%%; memory %.0f MB; provider %s\n",
				"", g.Name, g.UtilMean, g.UtilMax, g.DecMean, g.EncMean, g.MemMaxMB, r.Provider)
		}
		if r.Provider != "" && r.Provider != "cpu" && r.Note != "" {
			fmt.Fprintf(out, "%-9s   %s\n", "", r.Note)
		}
	}
	for _, r := range b.rep.Rows {
		if len(r.Elements) == 0 || r.Scenario == "overhead" && !b.o.verbose {
			continue
		}
		iv := ""
		if r.Interval != nil {
			iv = fmt.Sprintf(" interval %d", *r.Interval)
		}
		fmt.Fprintf(out, "  elements of %s %s x%d%s %s: name p50/p95 ms per buffer, input queue mean/max/capacity, drops; sessions at work on average/of them\n", r.Scenario, r.Clip, r.Streams, iv, r.Sink)
		var parts []string
		for _, e := range r.Elements {
			part := fmt.Sprintf("%s %.1f/%.1f q %.1f/%d/%d d %d", e.Name, e.P50MS, e.P95MS, e.QueueMean, e.QueueMax, e.QueueCap, e.Drops)
			if e.Workers > 0 {
				part += fmt.Sprintf(" working %.1f/%d", e.WorkingMean, e.Workers)
			}
			parts = append(parts, part)
		}
		for i := 0; i < len(parts); i += 3 {
			fmt.Fprintf(out, "    %s\n", strings.Join(parts[i:min(i+3, len(parts))], " | "))
		}
	}
	for _, t := range b.rep.Targets {
		verdict := "MET"
		if !t.Met {
			verdict = "NOT MET"
		}
		fmt.Fprintf(out, "target: %-8s %s: %s\n", verdict, t.Target, t.Value)
	}
	for _, n := range b.rep.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
}

// writeJSON writes the report, every row's details included.
func (b *bench) writeJSON(path string) error {
	data, err := json.MarshalIndent(&b.rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
