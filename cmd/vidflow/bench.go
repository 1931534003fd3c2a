package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/modelconv"
	"github.com/vidflow/vidflow/media"
)

const benchUsage = `usage: vidflow bench [flags] <scenario>

scenarios:
  decode     N streams of the 720p/1080p clips → BatchCapture → discard, beside
             gst-launch-1.0 decoding the same clips to fakesink (the decode floor)
  infer      the default detector run bare by ONNX Runtime in a loop on a
             preprocessed frame (the infer floor), at batch 1 and the -streams
  pipeline   N streams → BatchCapture → Infer → Track → OSD → discard or Encode,
             for each -interval; ratio to min(decode floor, infer floor); with
             -peer, the Python OpenCV peer on the same clip
  overhead   Inject → Batch → probes → Retrieve, no pixels touched (the engine's
             own cost per batch) and its memory over time
  peer       bench/peer_opencv.py (python3-opencv) alone
  all        decode, infer, pipeline (with the peer and a real-time run), overhead

Run it from the repository root, after scripts/setup.sh (and
scripts/setup-bench.sh for the peer). Prints one table and the targets of
docs/performance.md; -json writes everything, per-element statistics
included.

flags:
`

// benchOptions are the flags of vidflow bench.
type benchOptions struct {
	streams               []int
	res                   []string
	intervals             []int
	sinks                 []string
	clip                  string
	frames                int
	threads               int
	config                string
	realtime              bool
	rtStreams             int
	rtRes                 string
	peer                  bool
	python                string
	script                string
	batches               int
	duration              time.Duration
	inferSecs             float64
	sessions              int
	jsonPath              string
	cpuProf               string
	verbose               bool
	repeat                int
	warmup                time.Duration
	rtSessions, rtThreads int
	provider              string            // execution-provider override ("" keeps the config's)
	stall                 time.Duration     // a run with no frame at its sink this long is stopped
	decoder, convert      string            // capture properties ("" keeps their defaults)
	cudaOptions           map[string]string // added to the config's cuda-options
	profile               string            // infer: ONNX Runtime profile prefix (GPU)
}

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
	FPS         float64        `json:"fps"`
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

// bench is one invocation's state.
type bench struct {
	o      benchOptions
	out    io.Writer
	rep    benchReport
	floors map[string]float64 // decode floors by clip and streams, infer floors by batch
	frame  []byte             // one decoded frame for the infer floor
	fw, fh int
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("want a list of numbers like 1,4, got %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func strList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// benchMain is `vidflow bench`.
func benchMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, benchUsage); fs.PrintDefaults() }
	streams := fs.String("streams", "1,4", "stream counts (decode, infer batch sizes, pipeline)")
	res := fs.String("res", "", "clips by resolution: 576p (vtest.mp4), 720p, 1080p (default: decode 720p,1080p; pipeline and peer 720p)")
	intervals := fs.String("interval", "0,2", "pipeline: Infer intervals")
	sinks := fs.String("sink", "discard", "pipeline: discard, encode or both (discard,encode)")
	var o benchOptions
	fs.StringVar(&o.clip, "clip", "", "a clip of your own instead of -res")
	fs.IntVar(&o.frames, "frames", 0, "frames per stream (0: the whole clip, 795 for the sample)")
	fs.IntVar(&o.threads, "threads", 1, "ONNX Runtime intra-op threads of each session (pipeline and infer floor); the peer gets sessions x threads")
	fs.IntVar(&o.sessions, "sessions", runtime.NumCPU(), "ONNX Runtime sessions of the Infer element, run in parallel on successive batches (its sessions property)")
	fs.StringVar(&o.config, "config", "configs/config_infer_primary.yml", "nvinfer config of the detector")
	fs.BoolVar(&o.realtime, "realtime", false, "pipeline: pace every stream at its frame rate (a live camera) instead of as fast as possible")
	fs.IntVar(&o.rtStreams, "rt-streams", 4, "all: streams of the real-time pipeline run")
	fs.StringVar(&o.rtRes, "rt-res", "720p", "all: clip of the real-time pipeline run")
	fs.BoolVar(&o.peer, "peer", true, "pipeline: also run the Python OpenCV peer on the same clip")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "the Python with cv2 (Debian's python3-opencv)")
	fs.StringVar(&o.script, "peer-script", "", "the peer script (default: bench/peer_opencv.py of the repository)")
	fs.IntVar(&o.batches, "batches", 200000, "overhead: batches to run")
	fs.DurationVar(&o.duration, "duration", 0, "overhead: run this long instead of -batches (e.g. 10m for the memory check)")
	fs.Float64Var(&o.inferSecs, "infer-seconds", 8, "infer: seconds of each bare loop (at least 5 runs)")
	fs.StringVar(&o.jsonPath, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the run (go tool pprof)")
	fs.BoolVar(&o.verbose, "v", false, "print each run as it ends")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "real time: latency percentiles leave out the frames of this first stream time (sessions opening); JSON has them with")
	fs.IntVar(&o.repeat, "repeat", 1, "run each measurement this many times and keep the best (a shared machine)")
	fs.IntVar(&o.rtSessions, "rt-sessions", 1, "all: sessions of the real-time run (latency: one session, all threads)")
	fs.IntVar(&o.rtThreads, "rt-threads", runtime.NumCPU(), "all: intra-op threads of the real-time run")
	fs.StringVar(&o.provider, "provider", "", "infer and pipeline: execution provider instead of the config's: cpu, cuda (I/O binding), auto; infer also cuda-host (ONNX Runtime copies host tensors each run: the naive arrangement)")
	cudaOpts := fs.String("cuda-options", "", "infer and pipeline: CUDA provider options added to the config's, key=value;key=value (prefer_nhwc=1, enable_cuda_graph=1)")
	fs.StringVar(&o.decoder, "decoder", "", "decode and pipeline: the sources' decoder property (auto, nvdec, cpu)")
	fs.StringVar(&o.convert, "convert", "", "decode and pipeline: the sources' convert property (cpu, or cuda: GStreamer's CUDA converters)")
	fs.DurationVar(&o.stall, "stall", time.Minute, "stop (and report, with every goroutine's stack) a run in which no frame reaches the sink for this long (before its first frame: at least 3m); gst-launch floors get 5x as long")
	fs.StringVar(&o.profile, "ort-profile", "", "infer: write ONNX Runtime's profile of each GPU bare loop with this file prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	scenario := fs.Arg(0)
	if fs.NArg() > 1 { // flags after the scenario
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			fs.Usage()
			return fmt.Errorf("bench: name one scenario, got %q and %q", scenario, fs.Arg(0))
		}
	}
	if scenario == "" {
		fs.Usage()
		return fmt.Errorf("bench: name one scenario")
	}
	var err error
	if o.streams, err = intList(*streams); err != nil || len(o.streams) == 0 {
		return fmt.Errorf("bench: -streams: want a list like 1,4")
	}
	if o.intervals, err = intList(*intervals); err != nil || len(o.intervals) == 0 {
		return fmt.Errorf("bench: -interval: want a list like 0,2")
	}
	o.res = strList(*res)
	o.sinks = strList(*sinks)
	for _, s := range o.sinks {
		if s != "discard" && s != "encode" {
			return fmt.Errorf("bench: -sink %q: want discard or encode", s)
		}
	}
	if o.cudaOptions, err = infer.ParseCUDAOptions(*cudaOpts); err != nil {
		return fmt.Errorf("bench: -cuda-options: %v", err)
	}
	if o.threads < 0 || o.frames < 0 || o.sessions < 1 {
		return fmt.Errorf("bench: -threads and -frames must not be negative, -sessions at least 1")
	}
	b := &bench{o: o, out: out, floors: map[string]float64{}}
	b.rep.Command = "vidflow bench " + strings.Join(args, " ")
	b.rep.Started = time.Now()
	b.rep.Machine = machine()
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	switch scenario {
	case "decode":
		err = b.decode(b.clips([]string{"720p", "1080p"}))
	case "infer":
		err = b.inferFloors()
	case "pipeline":
		err = b.pipelines()
	case "overhead":
		err = b.overhead()
	case "peer":
		clips := b.clips([]string{"720p"})
		_, err = b.runPeer(clips[0])
	case "all":
		err = b.all()
	default:
		fs.Usage()
		return fmt.Errorf("bench: unknown scenario %q", scenario)
	}
	b.rep.Machine.LoadEnd = loadAvg()
	b.checkTargets()
	b.print()
	if o.jsonPath != "" {
		data, jerr := json.MarshalIndent(&b.rep, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(o.jsonPath, append(data, '\n'), 0o644)
		}
		if jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

// clips resolves -clip / -res (or the defaults) to files.
func (b *bench) clips(def []string) []string {
	if b.o.clip != "" {
		return []string{b.o.clip}
	}
	res := b.o.res
	if len(res) == 0 {
		res = def
	}
	var out []string
	for _, r := range res {
		out = append(out, clipFor(r))
	}
	return out
}

func clipFor(res string) string {
	name := map[string]string{"576p": "vtest.mp4", "vga": "vtest.mp4", "720p": "vtest-720p.mp4", "1080p": "vtest-1080p.mp4"}[res]
	if name == "" {
		name = res // a file name in the cache's media folder
	}
	return filepath.Join(cacheDir(), "media", name)
}

func (b *bench) all() error {
	if err := b.decode(b.clips([]string{"720p", "1080p"})); err != nil {
		return err
	}
	if err := b.inferFloors(); err != nil {
		return err
	}
	if err := b.pipelines(); err != nil {
		return err
	}
	o := b.o
	b.o.realtime, b.o.streams, b.o.intervals, b.o.peer, b.o.sinks = true, []int{o.rtStreams}, []int{2}, false, []string{"discard"}
	b.o.sessions, b.o.threads = o.rtSessions, o.rtThreads
	if o.clip == "" {
		b.o.res = []string{o.rtRes}
	}
	err := b.pipelines()
	b.o = o
	if err != nil {
		return err
	}
	return b.overhead()
}

func (b *bench) add(r *benchRow) {
	b.rep.Rows = append(b.rep.Rows, r)
	if b.o.verbose {
		fmt.Fprintf(b.out, "bench: %s %s: %d frames %.1f fps (%.1fs)\n", r.Scenario, r.Name, r.Frames, r.FPS, r.Seconds)
	}
}

// repeat runs a measurement -repeat times and keeps the best run: the
// highest frames/s, or for real-time runs the lowest p95 latency. On a
// shared machine other work only ever makes a run worse, so the best run
// is the one least disturbed. Each run notes the load average around it.
func (b *bench) repeat(fn func() (*benchRow, error)) (*benchRow, error) {
	var best *benchRow
	var all []float64
	for range max(b.o.repeat, 1) {
		l0 := loadAvg()[0]
		r, err := fn()
		if err != nil {
			return nil, err
		}
		r.Load = [2]float64{l0, loadAvg()[0]}
		all = append(all, r.FPS)
		if best == nil || better(r, best) {
			best = r
		}
	}
	if len(all) > 1 {
		best.Runs = all
	}
	return best, nil
}

func better(a, b *benchRow) bool {
	if a.Realtime && a.Latency != nil && b.Latency != nil {
		return a.Latency.P95 < b.Latency.P95
	}
	return a.FPS > b.FPS
}

// ---- decode ----

func (b *bench) decode(clips []string) error {
	for _, clip := range clips {
		for _, n := range b.o.streams {
			if n == 0 {
				continue
			}
			floor, err := b.decodeFloor(clip, n)
			if err != nil {
				return err
			}
			row, err := b.repeat(func() (*benchRow, error) {
				run := newRunner(b, "decode", clip, n)
				f := vidflow.NewFlow(run.p).BatchCapture(run.uris, b.capture(vidflow.BatchedPushTimeout(-1))...).
					Attach(vidflow.NewProbe("bench-sink", run.sink.probe)).Render(vidflow.RenderDiscard)
				return run.measure(f, false)
			})
			if err != nil {
				return fmt.Errorf("decode %s x%d: %w", filepath.Base(clip), n, err)
			}
			row.Floor, row.FloorOf = floor, "gst-launch-1.0"
			row.Ratio = row.FPS / floor
			b.add(row)
		}
	}
	return nil
}

// decodeFloor runs gst-launch-1.0 decoding n copies of the clip to
// fakesink with the conversion vidflow's capture does (once per clip and
// stream count).
func (b *bench) decodeFloor(clip string, n int) (float64, error) {
	key := fmt.Sprintf("decode %s %d", clip, n)
	if f, ok := b.floors[key]; ok {
		return f, nil
	}
	frames := int64(b.o.frames)
	if frames == 0 {
		mi, err := vidflow.Discover(clip)
		if err != nil {
			return 0, fmt.Errorf("decode floor: %w", err)
		}
		if frames = mi.Frames(); frames == 0 {
			return 0, fmt.Errorf("decode floor: %s: frame count unknown; give -frames", clip)
		}
	}
	desc := []string{"-q"}
	for i := 0; i < n; i++ {
		desc = append(desc, "filesrc", `location="`+clip+`"`, "!", "decodebin", "!")
		if b.o.frames > 0 {
			// identity passes eos-after+1 buffers (GStreamer 1.22).
			desc = append(desc, "identity", fmt.Sprintf("eos-after=%d", max(b.o.frames-1, 1)), "!")
		}
		if b.o.convert == "cuda" { // as the sources then convert
			desc = append(desc, "cudaupload", "!", "cudaconvert", "!", "cudascale", "!", "video/x-raw(memory:CUDAMemory),format=RGB", "!",
				"cudadownload", "!", "video/x-raw,format=RGB", "!", "fakesink", "sync=false")
			continue
		}
		desc = append(desc, "videoconvert", "!", "videoscale", "!", "video/x-raw,format=RGB", "!", "fakesink", "sync=false")
	}
	row, err := b.repeat(func() (*benchRow, error) {
		// The decoders vidflow's decoder=auto prefers: NVDEC where GStreamer
		// has it (no effect elsewhere), so that the floor decodes alike.
		row, err := b.childEnv([]string{nvdecFirst}, "decode", "gst-launch-1.0 (floor)", "gst-launch-1.0", desc...)
		if err != nil {
			return nil, err
		}
		row.Clip, row.Streams, row.Frames = filepath.Base(clip), n, frames*int64(n)
		row.FPS = float64(row.Frames) / row.Seconds
		row.StreamFPS = slices.Repeat([]float64{row.FPS / float64(n)}, n)
		return row, nil
	})
	if err != nil {
		return 0, err
	}
	b.add(row)
	b.floors[key] = row.FPS
	return row.FPS, nil
}

// nvdecFirst ranks GStreamer's NVIDIA decoders first, as vidflow's capture
// does with decoder=auto.
const nvdecFirst = "GST_PLUGIN_FEATURE_RANK=nvh264dec:MAX,nvh265dec:MAX,nvvp9dec:MAX,nvvp8dec:MAX,nvav1dec:MAX," +
	"nvmpegvideodec:MAX,nvmpeg2videodec:MAX,nvmpeg4videodec:MAX,nvjpegdec:MAX"

// child runs a command, measuring its wall time, CPU and peak memory. The
// peak is the child's VmHWM, polled while it runs: the rusage maxrss of a
// child started by Go counts the parent's memory (vfork shares it until exec).
func (b *bench) child(scenario, name, cmd string, args ...string) (*benchRow, error) {
	return b.childEnv(nil, scenario, name, cmd, args...)
}

// childEnv is child with variables added to the environment.
func (b *bench) childEnv(env []string, scenario, name, cmd string, args ...string) (*benchRow, error) {
	c := exec.Command(cmd, args...)
	if env != nil {
		c.Env = append(os.Environ(), env...)
	}
	var stderr strings.Builder
	c.Stderr = &stderr
	var stdout strings.Builder
	c.Stdout = &stdout
	t0 := time.Now()
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", cmd, err)
	}
	var killed atomic.Bool
	if b.o.stall > 0 {
		limit := 5 * b.o.stall
		kill := time.AfterFunc(limit, func() { killed.Store(true); _ = c.Process.Kill() })
		defer kill.Stop()
		defer func() {
			if killed.Load() {
				fmt.Fprintf(b.out, "bench: %s did not finish in %s and was killed\n", cmd, limit)
			}
		}()
	}
	status := fmt.Sprintf("/proc/%d/status", c.Process.Pid)
	done := make(chan struct{})
	peak := make(chan float64, 1)
	go func() {
		hwm := 0.0
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := statusMB(status, "VmHWM"); v > hwm {
				hwm = v
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-t.C:
			}
		}
	}()
	err := c.Wait()
	wall := time.Since(t0).Seconds()
	close(done)
	hwm := <-peak
	if err != nil {
		return nil, fmt.Errorf("%s: %v\n%s%s", cmd, err, stdout.String(), stderr.String())
	}
	row := &benchRow{Scenario: scenario, Name: name, Seconds: wall, Note: stdout.String(), PeakMB: hwm}
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		row.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
		row.CPUCores = row.CPUSeconds / wall
	}
	return row, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// ---- infer floor ----

func (b *bench) inferFloors() error {
	batches := []int{1}
	for _, n := range b.o.streams {
		if n > 1 {
			batches = append(batches, n)
		}
	}
	for _, n := range batches {
		if _, err := b.inferFloor(n); err != nil {
			return err
		}
	}
	return nil
}

// inferFloor runs the bare model at batch n on one real frame of the clip
// preprocessed as the element does: in the pipeline's arrangement
// (-sessions sessions of -threads intra-op threads, in parallel) and, when
// that differs, as one session with all those threads (the element's
// default arrangement). The floor is the faster (once per n).
func (b *bench) inferFloor(n int) (float64, error) {
	key := fmt.Sprintf("infer %d", n)
	if f, ok := b.floors[key]; ok {
		return f, nil
	}
	if b.frame == nil {
		var err error
		if b.frame, b.fw, b.fh, err = firstFrame(b.clips([]string{"720p"})[0]); err != nil {
			return 0, fmt.Errorf("infer floor: %w", err)
		}
	}
	k := max(b.o.sessions, 1)
	arrangements := [][2]int{{k, b.o.threads}}
	if k > 1 {
		arrangements = append(arrangements, [2]int{1, k * b.o.threads})
	}
	best := 0.0
	for _, a := range arrangements {
		row, err := b.repeat(func() (*benchRow, error) { return b.bareLoop(n, a[1], a[0]) })
		if err != nil {
			return 0, err
		}
		best = max(best, row.FPS)
		b.add(row)
	}
	b.floors[key] = best
	return best, nil
}

// bareLoop runs k bare models of batch n with threads threads each, in
// parallel, for -infer-seconds, and reports their summed rate.
func (b *bench) bareLoop(n, threads, k int) (*benchRow, error) {
	models := make([]*infer.BareModel, k)
	defer func() {
		for _, m := range models {
			if m != nil {
				m.Close()
			}
		}
	}()
	for i := range models {
		prof := ""
		if b.o.profile != "" {
			prof = fmt.Sprintf("%s-b%d-s%d", b.o.profile, n, i)
		}
		m, err := infer.OpenBareModelWith(b.o.config, infer.BareOptions{Batch: n, Threads: threads, Provider: b.o.provider,
			CUDAOptions: b.o.cudaOptions, Profile: prof})
		if err != nil {
			return nil, fmt.Errorf("infer floor: %w", err)
		}
		models[i] = m
		if err := m.Fill(b.frame, b.fw, b.fh); err != nil {
			return nil, err
		}
		if err := m.Run(); err != nil { // one more warm-up run
			return nil, err
		}
	}
	m0 := measureStart()
	lats := make([][]time.Duration, k)
	errs := make([]error, k)
	start := time.Now()
	var wg sync.WaitGroup
	for i, m := range models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(lats[i]) < 5 || time.Since(start).Seconds() < b.o.inferSecs {
				t := time.Now()
				if err := m.Run(); err != nil {
					errs[i] = err
					return
				}
				lats[i] = append(lats[i], time.Since(t))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var lat []time.Duration
	for _, l := range lats {
		lat = append(lat, l...)
	}
	batch := models[0].Batch()
	row := &benchRow{Scenario: "infer", Name: fmt.Sprintf("bare model %dx%d (floor)", k, threads), Threads: threads, Sessions: k, Batch: batch,
		Frames: int64(len(lat) * batch), Batches: int64(len(lat)), Seconds: wall}
	row.FPS = float64(row.Frames) / wall
	row.MSPerFrame = 1000 / row.FPS
	row.Latency = percentiles(lat)
	m0.finish(row)
	row.Provider = models[0].Provider()
	row.Note = fmt.Sprintf("%d session(s) of %d intra-op thread(s) in parallel; latency is per run of %d images; %s", k, threads, batch, models[0].Describe())
	if up, model, down, ok, err := models[0].Breakdown(20); err != nil {
		return nil, err
	} else if ok {
		row.Note += fmt.Sprintf("; each part waited for, per run: upload %.2f ms, model %.2f ms, download %.2f ms", ms(up), ms(model), ms(down))
	}
	return row, nil
}

// firstFrame decodes the clip's first frame as packed RGB.
func firstFrame(clip string) ([]byte, int, int, error) {
	var data []byte
	var w, h int
	stop := errors.New("got it")
	r := retrieverFunc(func(buf *media.Buffer) error {
		s, err := buf.Surface(0)
		if err != nil {
			return err
		}
		w, h = s.Width, s.Height
		data = make([]byte, 0, w*h*3)
		for y := 0; y < h; y++ {
			row := s.Data[s.Offsets[0]+y*s.Strides[0]:]
			data = append(data, row[:w*3]...)
		}
		return stop
	})
	err := vidflow.NewFlow(vidflow.NewPipeline("bench-frame")).BatchCapture([]string{clip}).Retrieve(r).Run(context.Background())
	if data == nil {
		if err == nil {
			err = fmt.Errorf("%s: no frame", clip)
		}
		return nil, 0, 0, err
	}
	return data, w, h, nil
}

type retrieverFunc func(*media.Buffer) error

func (f retrieverFunc) Consume(b *media.Buffer) error { return f(b) }

// ---- pipeline ----

func (b *bench) pipelines() error {
	clips := b.clips([]string{"720p"})
	for _, clip := range clips {
		var oneStream *benchRow
		for _, n := range b.o.streams {
			if n == 0 {
				continue
			}
			var dfloor, ifloor float64
			var err error
			if !b.o.realtime {
				if dfloor, err = b.decodeFloor(clip, n); err != nil {
					return err
				}
				if ifloor, err = b.inferFloor(n); err != nil {
					return err
				}
			}
			for _, interval := range b.o.intervals {
				for _, sink := range b.o.sinks {
					row, err := b.repeat(func() (*benchRow, error) { return b.pipeline(clip, n, interval, sink) })
					if err != nil {
						return fmt.Errorf("pipeline %s x%d interval %d %s: %w", filepath.Base(clip), n, interval, sink, err)
					}
					if !b.o.realtime {
						row.Floor = dfloor
						row.FloorOf = "decode floor"
						if f := ifloor * float64(interval+1); f < dfloor {
							row.Floor, row.FloorOf = f, "infer floor"
							if interval > 0 {
								row.FloorOf = fmt.Sprintf("infer floor x%d", interval+1)
							}
						}
						row.Ratio = row.FPS / row.Floor
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
	var f *vidflow.Flow
	if b.o.realtime {
		// Live cameras, emulated: each stream's frames are released at their
		// timestamps (the clip's frame rate) and stamped as captured then.
		pace := &pacer{}
		run.sink.warmup = b.o.warmup
		f = vidflow.NewFlow(run.p).Capture(run.uris, b.capture()...).Attach(vidflow.NewProbe("bench-pace", pace.probe)).Batch()
	} else {
		// Files: full batches (no push timeout), as fast as they decode.
		f = vidflow.NewFlow(run.p).BatchCapture(run.uris, b.capture(vidflow.BatchedPushTimeout(-1))...)
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
	default:
		f.OSD().Attach(vidflow.NewProbe("bench-sink", run.sink.probe)).Render(vidflow.RenderDiscard)
	}
	row, err := run.measure(f, !b.o.realtime)
	if err != nil {
		return nil, err
	}
	iv := interval
	row.Interval, row.Sink, row.Threads, row.Sessions, row.Batch, row.Realtime = &iv, sink, b.o.threads, b.o.sessions, n, b.o.realtime
	if tmp != "" {
		if st, err := os.Stat(filepath.Join(tmp, "out.mp4")); err == nil {
			row.Note = fmt.Sprintf("encoded %.1f MB", float64(st.Size())/1e6)
		}
	}
	return row, nil
}

// pacer releases each stream's frames at their timestamps from the first
// frame on, as a live camera delivers them, and stamps them as captured
// then. It is attached to every capture source (safe for concurrent use).
type pacer struct {
	once  sync.Once
	start time.Time
}

func (p *pacer) probe(m *media.BatchMeta) {
	p.once.Do(func() { p.start = time.Now() })
	for _, fm := range m.Frames {
		if d := time.Until(p.start.Add(fm.PTS)); d > 0 {
			time.Sleep(d)
		}
		fm.NTPTimestamp = time.Now()
	}
}

// ---- the peer ----

// runPeer runs bench/peer_opencv.py on the clip; nil when python3-opencv
// is missing (said in the notes).
func (b *bench) runPeer(clip string) (*benchRow, error) {
	script := b.o.script
	if script == "" {
		script = findUp(filepath.Join("bench", "peer_opencv.py"))
	}
	if script == "" {
		return nil, fmt.Errorf("peer: bench/peer_opencv.py not found: run from the repository root or give -peer-script")
	}
	if err := exec.Command(b.o.python, "-c", "import cv2").Run(); err != nil {
		note := fmt.Sprintf("peer not run: %s has no cv2 (install python3-opencv: bash scripts/setup-bench.sh)", b.o.python)
		b.rep.Notes = append(b.rep.Notes, note)
		fmt.Fprintln(b.out, "bench:", note)
		return nil, nil
	}
	model, err := openCVModel(b.o.config)
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	threads := b.o.threads * b.o.sessions // the same cores
	args := []string{script, "--clip", clip, "--model", model, "--threads", fmt.Sprint(threads)}
	if b.o.frames > 0 {
		args = append(args, "--frames", fmt.Sprint(b.o.frames))
	}
	row, err := b.repeat(func() (*benchRow, error) { return b.peerOnce(clip, args, threads) })
	if err != nil {
		return nil, err
	}
	b.add(row)
	return row, nil
}

// peerOnce runs the peer script once and reads its JSON.
func (b *bench) peerOnce(clip string, args []string, threads int) (*benchRow, error) {
	row, err := b.child("peer", "python3-opencv (peer)", b.o.python, args...)
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	var res struct {
		Frames  int64     `json:"frames"`
		Seconds float64   `json:"seconds"`
		FPS     float64   `json:"fps"`
		Latency latencyMS `json:"latency_ms"`
		Objects float64   `json:"objects_per_frame"`
		Error   string    `json:"error"`
	}
	var details map[string]any
	if err := json.Unmarshal([]byte(row.Note), &res); err != nil {
		return nil, fmt.Errorf("peer: output %q: %v", row.Note, err)
	}
	_ = json.Unmarshal([]byte(row.Note), &details)
	if res.Error != "" {
		return nil, fmt.Errorf("peer: %s", res.Error)
	}
	row.Note = ""
	row.Clip, row.Streams, row.Threads, row.Batch = filepath.Base(clip), 1, threads, 1
	row.Frames, row.FPS, row.Latency, row.Objects = res.Frames, res.FPS, &res.Latency, res.Objects
	row.StreamFPS = []float64{res.FPS}
	row.PeerDetails = details
	iv := 0
	row.Interval = &iv
	return row, nil
}

// findUp looks for rel in the working directory and its parents.
func findUp(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
			return filepath.Join(dir, rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// openCVModel writes (once) the detector's model in the form OpenCV 4.6
// loads, beside the model: <name>-opencv.onnx.
func openCVModel(config string) (string, error) {
	cfg, err := infer.LoadConfig(config)
	if err != nil {
		return "", err
	}
	src := cfg.ONNXFile
	dst := strings.TrimSuffix(src, ".onnx") + "-opencv.onnx"
	si, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	if di, err := os.Stat(dst); err == nil && !di.ModTime().Before(si.ModTime()) {
		return dst, nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	cv, _, err := modelconv.RewriteForOpenCV(data)
	if err != nil {
		return "", err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, cv, 0o644); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp, dst)
}

// ---- overhead ----

// sharedProvider hands out the same pixels until told to stop: no pixel
// is touched, so the pipeline measures the engine's own cost.
type sharedProvider struct {
	data     []byte
	n, i     int
	deadline time.Time
}

func (p *sharedProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: 64, Height: 48}
}

func (p *sharedProvider) Generate(context.Context) (*media.Buffer, error) {
	if p.n > 0 && p.i >= p.n {
		return nil, io.EOF
	}
	if p.n == 0 && p.i%1024 == 0 && time.Now().After(p.deadline) {
		return nil, io.EOF
	}
	p.i++
	return media.NewBuffer(p.data), nil
}

func (b *bench) overhead() error {
	const streams = 4
	data := make([]byte, 64*48*3)
	providers := make([]media.BufferProvider, streams)
	deadline := time.Now().Add(b.o.duration)
	for i := range providers {
		sp := &sharedProvider{data: data, n: b.o.batches, deadline: deadline}
		if b.o.duration > 0 {
			sp.n = 0
		}
		providers[i] = sp
	}
	var frames, objects, batches int64
	meta := vidflow.NewProbe("bench-meta", func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			objects += int64(len(fm.Objects))
		}
	})
	buf := vidflow.NewProbe("bench-buffer", func(bf *media.Buffer) bool { frames += int64(bf.BatchSize()); return true })
	sink := retrieverFunc(func(*media.Buffer) error { batches++; return nil })
	p := vidflow.NewPipeline("bench-overhead")
	f := vidflow.NewFlow(p).Inject(providers).Batch(vidflow.BatchedPushTimeout(-1)).Attach(meta).Attach(buf).Retrieve(sink)
	if err := f.Err(); err != nil {
		return err
	}
	// Memory: RSS and Go heap sampled over the run.
	var mem []memSample
	var mu sync.Mutex
	done := make(chan struct{})
	every := time.Second
	if b.o.duration >= 2*time.Minute {
		every = 5 * time.Second
	}
	l0 := loadAvg()[0]
	m0 := measureStart()
	start := time.Now()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s := sampleMemory(start)
				mu.Lock()
				mem = append(mem, s)
				mu.Unlock()
			}
		}
	}()
	err := p.Run(context.Background())
	wall := time.Since(start).Seconds()
	close(done)
	if err != nil {
		return err
	}
	mu.Lock()
	mem = append(mem, sampleMemory(start))
	mu.Unlock()
	row := &benchRow{Scenario: "overhead", Name: "vidflow (inject-batch-retrieve)", Streams: streams, Batch: streams,
		Frames: frames, Batches: batches, Seconds: wall, Memory: mem}
	row.FPS = float64(frames) / wall
	row.USPerBatch = wall * 1e6 / float64(max(batches, 1))
	row.Load = [2]float64{l0, loadAvg()[0]}
	m0.finish(row)
	row.Elements = elements(p.Stats(), nil)
	if w, end, ok := memGrowth(mem); ok {
		row.Note = fmt.Sprintf("RSS %.1f MB after warm-up, %.1f MB at the end", w.RSSMB, end.RSSMB)
	}
	b.add(row)
	return nil
}

// memGrowth returns the sample at the end of warm-up (a fifth of the run,
// at least the second sample) and the last one.
func memGrowth(mem []memSample) (warm, end memSample, ok bool) {
	if len(mem) < 3 {
		return warm, end, false
	}
	i := max(len(mem)/5, 1)
	return mem[i], mem[len(mem)-1], true
}

func sampleMemory(start time.Time) memSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{Seconds: time.Since(start).Seconds(), RSSMB: procStatusMB("VmRSS"), HeapMB: float64(ms.HeapAlloc) / (1 << 20)}
}

// ---- measuring a vidflow run ----

// sinkStats collects per-frame data at the end of a pipeline.
type sinkStats struct {
	mu        sync.Mutex
	perStream []int64
	frames    int64
	objects   int64
	lat       []time.Duration // after warm-up
	latAll    []time.Duration
	warmup    time.Duration // frames of the first warmup of stream time are left out of lat
	first     time.Time     // first frame at the sink
	last      time.Time
	firstN    int64 // frames of the first batch at the sink
	limit     int64 // frames per stream before the run is stopped (0: none)
	stop      func()
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
		s.objects += int64(len(fm.Objects))
		if !fm.NTPTimestamp.IsZero() {
			s.latency(fm, now)
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
	if s.first.IsZero() {
		s.first, s.firstN = now, counted
	}
	s.last = now
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
	q := &queueSampler{depth: map[string][]int{}}
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
	row.Objects = float64(s.objects) / float64(max(counted, 1))
	row.Latency = percentiles(s.lat)
	if s.warmup > 0 {
		row.LatencyAll = percentiles(s.latAll)
	}
	m0.finishAt(row, end.Sub(start).Seconds())
	row.Elements = elements(p.Stats(), q)
	if media.LiveBuffers() != 0 || media.LiveFrames() != 0 {
		row.Note = fmt.Sprintf("after the run: %d buffers, %d frames still held", media.LiveBuffers(), media.LiveFrames())
	}
	return row, nil
}

// capture returns the capture options of the runs: opts and the -decoder
// and -convert properties.
func (b *bench) capture(opts ...vidflow.Option) []vidflow.Option {
	props := vidflow.Props{}
	if b.o.decoder != "" {
		props["decoder"] = b.o.decoder
	}
	if b.o.convert != "" {
		props["convert"] = b.o.convert
	}
	if len(props) > 0 {
		opts = append(opts, props)
	}
	return opts
}

// startupStall is the least time a run may take to its first frame at the
// sink before watch calls it stalled.
const startupStall = 3 * time.Minute

// watch stops a run in which no frame reaches the sink for -stall, after
// printing every element's counts (where the frames stopped); if the
// pipeline does not stop either, the process exits: a bench never hangs.
func (r *runner) watch(done <-chan struct{}, stalled *atomic.Bool) {
	stall := r.b.o.stall
	if stall <= 0 {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, since := int64(-1), time.Now()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		r.sink.mu.Lock()
		n := r.sink.frames
		r.sink.mu.Unlock()
		if n != last {
			last, since = n, time.Now()
			continue
		}
		limit := stall
		if n <= 0 {
			// Start-up: ONNX Runtime's CUDA provider tries cuDNN's
			// algorithms on its first run of each session (seconds to
			// tens of seconds each while decoders load the GPU).
			limit = max(stall, startupStall)
		}
		if time.Since(since) < limit {
			continue
		}
		stalled.Store(true)
		out := r.b.out
		fmt.Fprintf(out, "bench: %s %s x%d: no frame at the sink for %s (%d frames so far); stopping. Elements (buffers in/out, queue, pooled frames held):\n",
			r.scenario, filepath.Base(r.clip), len(r.uris), stall, n)
		for _, st := range r.p.Stats() {
			fmt.Fprintf(out, "    %s (%s) in %d out %d queue %d/%d pooled %d\n", st.Name, st.Kind, st.BuffersIn, st.BuffersOut, st.QueueDepth, st.QueueCap, st.Pools)
		}
		r.dumpGoroutines(out)
		go func() {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				fmt.Fprintln(out, "bench: the stalled pipeline did not stop within 30 s; exiting")
				os.Exit(3)
			}
		}()
		r.p.Stop()
		return
	}
}

// dumpGoroutines writes every goroutine's stack (a goroutine blocked in a
// C call shows the call) where a stalled run can be examined: beside the
// -json file, or into out without one.
func (r *runner) dumpGoroutines(out io.Writer) {
	w, name := out, ""
	if p := r.b.o.jsonPath; p != "" {
		name = strings.TrimSuffix(p, ".json") + fmt.Sprintf("-stall-%s-x%d.txt", r.scenario, len(r.uris))
		f, err := os.Create(name)
		if err != nil {
			fmt.Fprintf(out, "bench: goroutine dump: %v\n", err)
			return
		}
		defer f.Close()
		w = f
	}
	if err := pprof.Lookup("goroutine").WriteTo(w, 2); err != nil {
		fmt.Fprintf(out, "bench: goroutine dump: %v\n", err)
		return
	}
	if name != "" {
		fmt.Fprintf(out, "bench: every goroutine's stack: %s\n", name)
	}
}

// queueSampler samples every element's input queue depth.
type queueSampler struct {
	mu    sync.Mutex
	depth map[string][]int
}

func (q *queueSampler) run(p *vidflow.Pipeline, done <-chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			st := p.Stats()
			q.mu.Lock()
			for _, s := range st {
				q.depth[s.Name] = append(q.depth[s.Name], s.QueueDepth)
			}
			q.mu.Unlock()
		}
	}
}

func elements(st []element.NodeStats, q *queueSampler) []elementStats {
	var out []elementStats
	for _, s := range st {
		e := elementStats{Name: s.Name, Kind: s.Kind, FramesOut: s.FramesOut, P50MS: ms(s.LatencyP50), P95MS: ms(s.LatencyP95),
			QueueCap: s.QueueCap, QueueMax: s.QueueDepth, QueueMean: float64(s.QueueDepth), Drops: s.Drops}
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

// cpuMark is CPU time and the peak-RSS mark at the start of a measurement.
type cpuMark struct {
	cpu  float64
	wall time.Time
	gpu  *gpuSampler
}

// measureStart resets the process's peak RSS (VmHWM) and notes its CPU time.
func measureStart() cpuMark {
	debug.FreeOSMemory()                                      // so that the peak is this run's, as far as Go's heap goes
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM (Linux ≥ 4.0)
	return cpuMark{cpu: cpuSeconds(), wall: time.Now(), gpu: startGPUSampler()}
}

func (u cpuMark) finish(row *benchRow) { u.finishAt(row, time.Since(u.wall).Seconds()) }

func (u cpuMark) finishAt(row *benchRow, wall float64) {
	row.CPUSeconds = cpuSeconds() - u.cpu
	row.CPUCores = row.CPUSeconds / wall
	row.PeakMB = procStatusMB("VmHWM")
	row.GPU = u.gpu.stop()
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

// procStatusMB reads a kB field of /proc/self/status in MB.
func procStatusMB(field string) float64 { return statusMB("/proc/self/status", field) }

// statusMB reads a kB field of a /proc/<pid>/status file in MB.
func statusMB(path, field string) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// ---- machine ----

func machine() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadAvg()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "MemTotal:"), "%f", &kb)
		m.MemoryGB = math.Round(kb/1024/1024*10) / 10
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if out, err := exec.Command("gst-launch-1.0", "--version").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "GStreamer") {
				m.GStreamer = strings.TrimSpace(line)
			}
		}
	}
	if lib, err := infer.InitORT(""); err == nil {
		m.ORT = lib
	}
	return m
}

func loadAvg() [3]float64 {
	var l [3]float64
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscanf(string(data), "%f %f %f", &l[0], &l[1], &l[2])
	}
	return l
}

// ---- targets and output ----

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
	return filepath.Join(cacheDir(), "media", r.Clip)
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
	fmt.Fprintf(out, "%-9s %-30s %-15s %3s %3s %-10s %7s %8s %-11s %-14s %18s %5s %6s %7s %5s %s\n",
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
		fmt.Fprintf(out, "%-9s %-30s %-15s %3s %3s %-10s %7d %8s %-11s %-14s %18s %5.2f %6.0f %7s %5s %.1f-%.1f\n",
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
		fmt.Fprintf(out, "  elements of %s %s x%d%s %s: name p50/p95 ms per buffer, input queue mean/max/capacity, drops\n", r.Scenario, r.Clip, r.Streams, iv, r.Sink)
		var parts []string
		for _, e := range r.Elements {
			parts = append(parts, fmt.Sprintf("%s %.1f/%.1f q %.1f/%d/%d d %d", e.Name, e.P50MS, e.P95MS, e.QueueMean, e.QueueMax, e.QueueCap, e.Drops))
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
