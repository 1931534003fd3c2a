package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/media"
)

// benchSetup skips when the set-up's media, model or ONNX Runtime are
// missing, and returns the repository root.
func benchSetup(t *testing.T, needModel bool) string {
	t.Helper()
	if testing.Short() {
		t.Skip("bench smoke tests run pipelines")
	}
	if _, err := exec.LookPath("gst-launch-1.0"); err != nil {
		t.Skip("gst-launch-1.0 not installed (scripts/setup-gstreamer.sh)")
	}
	for _, p := range []string{"media/vtest-720p.mp4", "media/vtest.mp4"} {
		if _, err := os.Stat(filepath.Join(cli.CacheDir(), p)); err != nil {
			t.Skipf("%s not in the cache: run scripts/setup.sh", p)
		}
	}
	if needModel {
		if _, err := os.Stat(filepath.Join(cli.CacheDir(), "models/centernet/centernet.onnx")); err != nil {
			t.Skip("the default detector is not in the cache: run scripts/setup-model.sh")
		}
		if _, err := infer.InitORT(""); err != nil {
			t.Skipf("ONNX Runtime: %v", err)
		}
	}
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// runBench runs `vidflow bench` with args and reads back its JSON report.
func runBench(t *testing.T, args ...string) (*benchReport, string) {
	t.Helper()
	js := filepath.Join(t.TempDir(), "bench.json")
	var out strings.Builder
	o, err := Parse(append([]string{"-json", js}, args...), &out)
	if err == nil {
		err = Run(o, &out)
	}
	t.Logf("vidflow bench %s:\n%s", strings.Join(args, " "), out.String())
	if err != nil {
		t.Fatalf("bench %v: %v", args, err)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep, out.String()
}

func rowsOf(rep *benchReport, scenario, name string) []*benchRow {
	var out []*benchRow
	for _, r := range rep.Rows {
		if r.Scenario == scenario && strings.HasPrefix(r.Name, name) {
			out = append(out, r)
		}
	}
	return out
}

func TestBenchDecode(t *testing.T) {
	benchSetup(t, false)
	rep, out := runBench(t, "-frames", "12", "-streams", "1,2", "-res", "576p", "decode")
	vf, floor := rowsOf(rep, "decode", "vidflow"), rowsOf(rep, "decode", "gst-launch")
	if len(vf) != 2 || len(floor) != 2 {
		t.Fatalf("%d vidflow and %d gst-launch rows, want 2 and 2", len(vf), len(floor))
	}
	for _, r := range vf {
		if r.Frames != int64(12*r.Streams) || r.FPS <= 0 || r.Ratio <= 0 || len(r.StreamFPS) != r.Streams || r.Latency == nil || r.PeakMB <= 0 {
			t.Errorf("row %+v", r)
		}
		if len(r.Elements) == 0 {
			t.Errorf("no element statistics")
		}
	}
	if !strings.Contains(out, "ratio") || !strings.Contains(out, "gst-launch-1.0 (floor)") {
		t.Errorf("table lacks the floor or ratio:\n%s", out)
	}
}

func TestBenchInferFloor(t *testing.T) {
	root := benchSetup(t, true)
	rep, _ := runBench(t, "-config", filepath.Join(root, "configs/config_infer_primary.yml"), "-res", "576p",
		"-streams", "1", "-threads", "1", "-sessions", "2", "-infer-seconds", "0.2", "infer")
	rows := rowsOf(rep, "infer", "bare model")
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2 (2 sessions x 1 thread, 1 session x 2 threads)", len(rows))
	}
	for i, r := range rows {
		if r.FPS <= 0 || r.Batches < 5 || r.Batch != 1 || r.Sessions*r.Threads != 2 || r.Sessions != 2-i {
			t.Errorf("row %+v", r)
		}
	}
}

func TestBenchPipeline(t *testing.T) {
	root := benchSetup(t, true)
	rep, out := runBench(t, "-config", filepath.Join(root, "configs/config_infer_primary.yml"), "-res", "576p",
		"-frames", "6", "-streams", "2", "-interval", "0,2", "-sink", "discard,encode", "-infer-seconds", "0.2", "-sessions", "2",
		"-peer-script", filepath.Join(root, "bench/peer_opencv.py"), "pipeline")
	rows := rowsOf(rep, "pipeline", "vidflow")
	if len(rows) != 4 {
		t.Fatalf("%d pipeline rows, want 4 (2 intervals x 2 sinks)", len(rows))
	}
	for _, r := range rows {
		if r.Frames != 12 || r.FPS <= 0 || r.Ratio <= 0 || r.Floor <= 0 || r.Latency == nil {
			t.Errorf("row %+v", r)
		}
		kinds := map[string]bool{}
		for _, e := range r.Elements {
			kinds[e.Kind] = true
		}
		for _, k := range []string{"nvinfer", "nvtracker", "nvdsosd"} {
			if !kinds[k] {
				t.Errorf("%s run has no %s element: %+v", r.Sink, k, r.Elements)
			}
		}
		// The infer element's 2 sessions, sampled while frames flowed: at
		// interval 0 they ran 6 batches of about 100 ms on these cores.
		for _, e := range r.Elements {
			if e.Kind != "nvinfer" {
				continue
			}
			if e.Workers != 2 || e.WorkingMean < 0 || e.WorkingMean > 2 || (*r.Interval == 0 && e.WorkingMean == 0) {
				t.Errorf("interval %d %s: infer sessions at work %.2f of %d, want 2 sessions, busy at interval 0", *r.Interval, r.Sink, e.WorkingMean, e.Workers)
			}
		}
	}
	if len(rowsOf(rep, "peer", "python3-opencv")) == 0 && !strings.Contains(out, "peer not run") {
		t.Errorf("neither a peer row nor a note saying why not:\n%s", out)
	}
	if len(rep.Targets) == 0 {
		t.Errorf("no targets checked")
	}
}

// -shared-floor measures capture with the bare model paced beside it:
// one row per interval, named, with what the model ran; the pipeline's
// row takes its ratio to it.
func TestBenchSharedFloor(t *testing.T) {
	root := benchSetup(t, true)
	rep, _ := runBench(t, "-config", filepath.Join(root, "configs/config_infer_primary.yml"), "-res", "576p",
		"-frames", "6", "-streams", "2", "-interval", "1", "-sink", "discard", "-infer-seconds", "0.2", "-sessions", "2",
		"-peer=false", "-shared-floor", "pipeline")
	shared := rowsOf(rep, "decode", "vidflow capture beside the model")
	if len(shared) != 1 {
		t.Fatalf("%d shared floor rows, want 1", len(shared))
	}
	if sf := shared[0]; sf.FPS <= 0 || sf.Frames != 12 || !strings.Contains(sf.Note, "interval 1") || !strings.Contains(sf.Note, "it ran") {
		t.Errorf("shared floor row %+v", sf)
	}
	rows := rowsOf(rep, "pipeline", "vidflow")
	// The floor is capture's rate or, lower, the model's beside it x 2.
	if len(rows) != 1 || rows[0].SharedFloor <= 0 || rows[0].SharedFloor > shared[0].FPS || !strings.Contains(rows[0].Note, "of the shared floor") {
		t.Errorf("pipeline rows %+v, want one with a shared floor of at most capture's %.1f", rows, shared[0].FPS)
	}
}

// -mux-batch makes batches of fewer frames than streams: 3 streams in
// batches of 2, every frame still delivered once, the model's floor and
// runs at batch 2.
func TestBenchMuxBatch(t *testing.T) {
	root := benchSetup(t, true)
	rep, out := runBench(t, "-config", filepath.Join(root, "configs/config_infer_primary.yml"), "-res", "576p",
		"-frames", "6", "-streams", "3", "-mux-batch", "2", "-interval", "0", "-sink", "discard", "-infer-seconds", "0.2",
		"-sessions", "1", "-peer=false", "-v", "pipeline")
	rows := rowsOf(rep, "pipeline", "vidflow")
	if len(rows) != 1 || rows[0].Frames != 18 || rows[0].Batch != 2 {
		t.Fatalf("pipeline rows %+v, want one of 18 frames in batches of 2", rows)
	}
	if floors := rowsOf(rep, "infer", "bare model"); len(floors) == 0 || floors[0].Batch != 2 {
		t.Errorf("model floor rows %+v, want batch 2", floors)
	}
	// 18 frames in batches of at most 2: at least 9 runs, none of 3.
	if !strings.Contains(out, "runs of 2.0 images") {
		t.Errorf("the infer element's timing does not show runs of 2 images:\n%s", out)
	}
}

func TestBenchRealtime(t *testing.T) {
	root := benchSetup(t, true)
	rep, _ := runBench(t, "-config", filepath.Join(root, "configs/config_infer_primary.yml"), "-res", "576p",
		"-frames", "5", "-streams", "2", "-interval", "2", "-sessions", "1", "-realtime", "pipeline")
	rows := rowsOf(rep, "pipeline", "vidflow")
	if len(rows) != 1 || !rows[0].Realtime || rows[0].Frames != 10 {
		t.Fatalf("rows %+v", rows)
	}
	// 10 fps clip: 5 frames per stream take about 0.4 s when paced.
	if r := rows[0]; r.Seconds < 0.3 {
		t.Errorf("a paced run of 5 frames at 10 fps took %.2fs", r.Seconds)
	}
}

func TestBenchOverhead(t *testing.T) {
	benchSetup(t, false)
	rep, _ := runBench(t, "-batches", "2000", "overhead")
	rows := rowsOf(rep, "overhead", "vidflow")
	if len(rows) != 1 || rows[0].Batches != 2000 || rows[0].USPerBatch <= 0 {
		t.Fatalf("rows %+v", rows)
	}
}

func TestBenchUsage(t *testing.T) {
	var out strings.Builder
	if _, err := Parse(nil, &out); err == nil || !strings.Contains(out.String(), "scenarios:") {
		t.Errorf("no scenario: err %v, output %q", err, out.String())
	}
	if _, err := Parse([]string{"nope"}, &out); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Errorf("unknown scenario: %v", err)
	}
	if _, err := Parse([]string{"-sink", "window", "decode"}, &out); err == nil {
		t.Errorf("-sink window accepted")
	}
}

// TestBenchCLI runs `vidflow bench` from the repository root with the
// arguments in $VIDFLOW_BENCH_ARGS (until the CLI dispatches "bench"):
//
//	VIDFLOW_BENCH_ARGS="pipeline -streams 1" go test -run TestBenchCLI -v -timeout 1h ./cmd/vidflow/internal/bench
func TestBenchCLI(t *testing.T) {
	args := strings.Fields(os.Getenv("VIDFLOW_BENCH_ARGS"))
	if len(args) == 0 {
		t.Skip("set VIDFLOW_BENCH_ARGS to run vidflow bench")
	}
	if err := os.Chdir("../../../.."); err != nil {
		t.Fatal(err)
	}
	o, err := Parse(args, os.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(o, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// TestOpenCVModelMatchesORT checks that the model rewritten for OpenCV 4.6
// computes, in OpenCV's DNN, what the original computes in ONNX Runtime,
// on a real frame: the peer runs the same detector.
func TestOpenCVModelMatchesORT(t *testing.T) {
	root := benchSetup(t, true)
	if err := exec.Command("/usr/bin/python3", "-c", "import cv2").Run(); err != nil {
		t.Skip("/usr/bin/python3 has no cv2 (scripts/setup-bench.sh)")
	}
	config := filepath.Join(root, "configs/config_infer_primary.yml")
	cvModel, err := openCVModel(config)
	if err != nil {
		t.Fatal(err)
	}
	frame, w, h, err := firstFrame(clipFor("576p"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := infer.OpenBareModel(config, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Fill(frame, w, h); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := m.InputData()
	raw := make([]byte, 4*len(in))
	for i, v := range in {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(dir, "in.f32"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import sys, numpy as np, cv2
d = sys.argv[2]
net = cv2.dnn.readNetFromONNX(sys.argv[1])
net.setInput(np.fromfile(d + "/in.f32", np.float32).reshape(1, 512, 512, 3))
for name, out in zip(["heat", "wh"], net.forward(["heat", "wh"])):
    out.astype(np.float32).tofile(d + "/" + name + ".f32")
`
	if out, err := exec.Command("/usr/bin/python3", "-c", script, cvModel, dir).CombinedOutput(); err != nil {
		t.Fatalf("OpenCV: %v\n%s", err, out)
	}
	for i, name := range []string{"heat", "wh"} {
		raw, err := os.ReadFile(filepath.Join(dir, name+".f32"))
		if err != nil {
			t.Fatal(err)
		}
		want := m.Outputs()[i]
		if len(raw) != 4*len(want) {
			t.Fatalf("%s: OpenCV gave %d values, ONNX Runtime %d", name, len(raw)/4, len(want))
		}
		var worst float64
		for k, v := range want {
			got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
			worst = max(worst, math.Abs(float64(got-v))/max(1, math.Abs(float64(v))))
		}
		t.Logf("%s: largest difference %.2g", name, worst)
		if worst > 1e-3 {
			t.Errorf("%s: OpenCV and ONNX Runtime differ by %.2g", name, worst)
		}
	}
}

// numbered hands out frames of one photo-sized picture, numbering them
// through their metadata (FrameMeta.User), so that order can be checked.
type numbered struct {
	data []byte
	w, h int
	n, i int
}

func (p *numbered) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: p.w, Height: p.h}
}

func (p *numbered) Generate(context.Context) (*media.Buffer, error) {
	if p.i >= p.n {
		return nil, io.EOF
	}
	p.i++
	return media.NewBuffer(p.data), nil
}

// TestInferSessionsKeepOrderAndInterval runs the detector with several
// sessions (the sessions property, internal/infer/parallel.go): batches
// leave in order, interval skips the same batches as with one session,
// the detections are those of one session, and every frame is released.
func TestInferSessionsKeepOrderAndInterval(t *testing.T) {
	root := benchSetup(t, true)
	frame, w, h, err := firstFrame(clipFor("576p"))
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(root, "configs/config_infer_primary.yml")
	type result struct {
		frames  []int64 // frame numbers of stream 0, in the order they left
		objects []int   // objects per frame of stream 0
	}
	runWith := func(sessions, interval int) result {
		var res result
		providers := []media.BufferProvider{&numbered{data: frame, w: w, h: h, n: 13}, &numbered{data: frame, w: w, h: h, n: 13}}
		sink := retrieverFunc(func(b *media.Buffer) error {
			for _, fm := range b.Meta().Frames {
				if fm.SourceID == 0 {
					res.frames = append(res.frames, fm.FrameNumber)
					res.objects = append(res.objects, len(fm.Objects))
				}
			}
			return nil
		})
		err := vidflow.NewFlow(vidflow.NewPipeline("sessions")).Inject(providers).Batch(vidflow.BatchedPushTimeout(-1)).
			Infer(config, vidflow.Props{"sessions": sessions, "intra-op-threads": 1, "interval": interval}).
			Retrieve(sink).Run(context.Background())
		if err != nil {
			t.Fatalf("sessions %d: %v", sessions, err)
		}
		if media.LiveBuffers() != 0 || media.LiveFrames() != 0 {
			t.Errorf("sessions %d: %d buffers, %d frames still held", sessions, media.LiveBuffers(), media.LiveFrames())
		}
		return res
	}
	for _, interval := range []int{0, 2} {
		one, three := runWith(1, interval), runWith(3, interval)
		if len(three.frames) != 13 {
			t.Fatalf("interval %d: %d frames of stream 0, want 13", interval, len(three.frames))
		}
		for i, n := range three.frames {
			if n != int64(i) {
				t.Fatalf("interval %d: frames left in the order %v", interval, three.frames)
			}
		}
		if !slices.Equal(one.objects, three.objects) {
			t.Errorf("interval %d: objects per frame with 1 session %v, with 3 %v", interval, one.objects, three.objects)
		}
		for i, n := range three.objects {
			if inferred := interval == 0 || i%(interval+1) == 0; inferred != (n > 0) {
				t.Errorf("interval %d: frame %d has %d objects", interval, i, n)
			}
		}
	}
	if _, err := Parse([]string{"-sessions", "0", "infer"}, io.Discard); err == nil {
		t.Errorf("-sessions 0 accepted")
	}
}

// A -loop run as fast as possible decodes the clip remuxed over -frames:
// every pass's frames in one file, timestamps running on; a real-time
// run loops the clip itself.
func TestLoopRunClip(t *testing.T) {
	benchSetup(t, false)
	clip := filepath.Join(cli.CacheDir(), "media/vtest.mp4")
	one, err := vidflow.Discover(clip)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{o: Options{loop: true, frames: int(2*one.Frames() + 1)}}
	long, err := b.runClip(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(b.tmp)
	if filepath.Base(long) != "vtest-x3.mp4" {
		t.Errorf("long clip %s, want vtest-x3.mp4", long)
	}
	three, err := vidflow.Discover(long)
	if err != nil {
		t.Fatal(err)
	}
	if one.Frames() == 0 || three.Frames() != 3*one.Frames() {
		t.Errorf("%s: %d frames, want 3 x %d", long, three.Frames(), one.Frames())
	}
	if d := three.Duration - 3*one.Duration; d < -time.Second || d > time.Second {
		t.Errorf("duration %v, want 3 x %v", three.Duration, one.Duration)
	}
	if again, _ := b.runClip(clip); again != long {
		t.Errorf("second call made %s, want the first copy %s", again, long)
	}
	rt := &bench{o: Options{loop: true, realtime: true, frames: 10000}}
	if c, err := rt.runClip(clip); err != nil || c != clip {
		t.Errorf("real time: %s, %v; want the clip itself", c, err)
	}
}
