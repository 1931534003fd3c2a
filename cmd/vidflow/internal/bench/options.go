package bench

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vidflow/vidflow/internal/elements/infer"
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

// Options are the flags of vidflow bench, read by Parse.
type Options struct {
	scenario              string // the scenario named on the command line
	command               string // the command line, for the report
	streams               []int
	res                   []string
	intervals             []int
	sinks                 []string
	clip                  string
	frames                int
	loop                  bool // runs longer than the clip (runClip); needs frames
	threads               int
	config                string
	peerConfig            string // the peer's model (float: OpenCV cannot load the QDQ INT8 one)
	vs                    string // infer: a second config run interleaved with config
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
	muxQueue              int               // the batcher's input-queue-size (0: its default)
	muxBatch              int               // the batcher's and the model's batch-size (0: the number of streams)
	sharedFloor           bool              // also measure capture beside the paced bare model
	cudaOptions           map[string]string // added to the config's cuda-options
	profile               string            // infer: ONNX Runtime profile prefix (GPU)
}

// intList reads a comma-separated list of counts (-streams, -interval).
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

// strList reads a comma-separated list (-res, -sink), blanks left out.
func strList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Parse reads the flags and the scenario of `vidflow bench` (flags may
// also follow the scenario); on a flag error it has printed the usage.
func Parse(args []string, out io.Writer) (*Options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, benchUsage); fs.PrintDefaults() }
	streams := fs.String("streams", "1,4", "stream counts (decode, infer batch sizes, pipeline)")
	res := fs.String("res", "", "clips by resolution: 576p (vtest.mp4), 720p, 1080p (default: decode 720p,1080p; pipeline and peer 720p)")
	intervals := fs.String("interval", "0,2", "pipeline: Infer intervals")
	sinks := fs.String("sink", "discard", "pipeline: discard (OSD, then discarded), metadata (no OSD: Track then discard, pixels never used), encode, or a list (discard,encode)")
	o := &Options{}
	fs.StringVar(&o.clip, "clip", "", "a clip of your own instead of -res")
	fs.IntVar(&o.frames, "frames", 0, "frames per stream (0: the whole clip, 795 for the sample)")
	fs.BoolVar(&o.loop, "loop", false, "decode and pipeline: runs longer than the clip (needs -frames): as fast as possible, the pipeline and its gst-launch floor decode the clip remuxed over -frames into one file; in real time the sources loop it (file-loop)")
	fs.IntVar(&o.threads, "threads", 1, "ONNX Runtime intra-op threads of each session (pipeline and infer floor); the peer gets sessions x threads")
	fs.IntVar(&o.sessions, "sessions", runtime.NumCPU(), "ONNX Runtime sessions of the Infer element, run in parallel on successive batches (its sessions property)")
	fs.StringVar(&o.config, "config", "configs/config_infer_primary.yml", "nvinfer config of the detector")
	fs.StringVar(&o.vs, "vs", "", "infer: also run this config's bare model, interleaved with -config's in each repetition, and print their ratio (e.g. -config configs/config_infer_primary_int8.yml -vs configs/config_infer_primary.yml)")
	fs.BoolVar(&o.realtime, "realtime", false, "pipeline: pace every stream at its frame rate (a live camera) instead of as fast as possible")
	fs.IntVar(&o.rtStreams, "rt-streams", 4, "all: streams of the real-time pipeline run")
	fs.StringVar(&o.rtRes, "rt-res", "720p", "all: clip of the real-time pipeline run")
	fs.BoolVar(&o.peer, "peer", true, "pipeline: also run the Python OpenCV peer on the same clip")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "the Python with cv2 (Debian's python3-opencv)")
	fs.StringVar(&o.peerConfig, "peer-config", "configs/config_infer_primary.yml", "nvinfer config whose model the peer runs: the float one whatever -config is (OpenCV 4.6's DNN does not load the INT8 QDQ model)")
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
	fs.StringVar(&o.convert, "convert", "", "decode and pipeline: the sources' convert property (cpu; cuda: GStreamer's CUDA converters; device: frames stay in GPU memory)")
	fs.BoolVar(&o.sharedFloor, "shared-floor", false, "pipeline, as fast as possible: also measure vidflow's capture with the bare model beside it in the process, paced at what the pipeline needs of it at the decode floor's rate (the decoders and the model share one GPU, or the cores); the pipeline's note gives its ratio to it")
	fs.IntVar(&o.muxQueue, "mux-queue", 0, "pipeline: frames queued per stream in front of the batcher (its input-queue-size; 0: its default, 8)")
	fs.IntVar(&o.muxBatch, "mux-batch", 0, "pipeline: the batcher's and the model's batch-size when below the number of streams (0: the number of streams); a batch then takes the streams that have a frame, instead of waiting for the slowest")
	fs.DurationVar(&o.stall, "stall", time.Minute, "stop (and report, with every goroutine's stack) a run in which no frame reaches the sink for this long (before its first frame: at least 3m); gst-launch floors get 5x as long")
	fs.StringVar(&o.profile, "ort-profile", "", "infer: write ONNX Runtime's profile of each GPU bare loop with this file prefix")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.scenario = fs.Arg(0)
	if fs.NArg() > 1 { // flags after the scenario
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, err
		}
		if fs.NArg() > 0 {
			fs.Usage()
			return nil, fmt.Errorf("bench: name one scenario, got %q and %q", o.scenario, fs.Arg(0))
		}
	}
	if o.scenario == "" {
		fs.Usage()
		return nil, fmt.Errorf("bench: name one scenario")
	}
	if scenarios[o.scenario] == nil {
		fs.Usage()
		return nil, fmt.Errorf("bench: unknown scenario %q", o.scenario)
	}
	var err error
	if o.streams, err = intList(*streams); err != nil || len(o.streams) == 0 {
		return nil, fmt.Errorf("bench: -streams: want a list like 1,4")
	}
	if o.intervals, err = intList(*intervals); err != nil || len(o.intervals) == 0 {
		return nil, fmt.Errorf("bench: -interval: want a list like 0,2")
	}
	o.res = strList(*res)
	o.sinks = strList(*sinks)
	for _, s := range o.sinks {
		if s != "discard" && s != "metadata" && s != "encode" {
			return nil, fmt.Errorf("bench: -sink %q: want discard, metadata or encode", s)
		}
	}
	if o.cudaOptions, err = infer.ParseCUDAOptions(*cudaOpts); err != nil {
		return nil, fmt.Errorf("bench: -cuda-options: %v", err)
	}
	if o.threads < 0 || o.frames < 0 || o.sessions < 1 {
		return nil, fmt.Errorf("bench: -threads and -frames must not be negative, -sessions at least 1")
	}
	if o.loop && o.frames == 0 {
		return nil, fmt.Errorf("bench: -loop needs -frames (the frames per stream that end a run)")
	}
	o.command = "vidflow bench " + strings.Join(args, " ")
	return o, nil
}
