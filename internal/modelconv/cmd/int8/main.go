// Command int8 makes and checks the INT8 variant of vidflow's default
// detector (scripts/setup-model.sh runs it; docs/infer.md, "INT8").
//
// Make: convert the TF.js model with calibration outputs, calibrate the
// ranges on frames of the sample video and the sample photos, measure per
// layer what quantizing costs, keep in float the worst layers until the
// INT8 detections agree with the float ones on held-out frames, write the
// INT8 model:
//
//	go run ./internal/modelconv/cmd/int8 -out centernet_int8.onnx
//
// Check: the INT8 model's detections against the float model's on every
// frame of the video and the photos (precision, recall at IoU 0.5 of the
// same class, score drift); exits 1 below -min:
//
//	go run ./internal/modelconv/cmd/int8 -check
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/modelconv"
	"github.com/vidflow/vidflow/internal/modelconv/calib"
)

func main() {
	cache := config.CacheDir()
	models := filepath.Join(cache, "models", "centernet")
	var o options
	flag.StringVar(&o.tfjs, "tfjs", filepath.Join(models, "tfjs", "centernet.json"), "TF.js model to convert")
	flag.StringVar(&o.out, "out", filepath.Join(models, "centernet_int8.onnx"), "INT8 model to write")
	flag.StringVar(&o.video, "video", filepath.Join(cache, "media", "vtest.mp4"), "calibration / check video")
	flag.StringVar(&o.images, "images", filepath.Join(cache, "media", "images"), "folder of calibration / check photos (*.jpg)")
	flag.IntVar(&o.every, "every", 8, "calibrate on one video frame in every (the layer search uses those halfway between)")
	flag.StringVar(&o.method, "method", "percentile:99.999", "range calibration: minmax or percentile:P (the tensors of -head keep min/max)")
	flag.StringVar(&o.head, "head", "centernet_cls_output,centernet_wh_output,tower_0/Sigmoid,tower_0/mul", "with percentile: tensors (names containing one of these) calibrated by min/max: the detector's last layers")
	flag.IntVar(&o.heldEvery, "held-every", 16, "auto: the search's held-out frames, one video frame in this many (halfway between calibration frames)")
	flag.StringVar(&o.keep, "keep", "auto", `nodes kept in float: "auto" (measured), "none" or a comma-separated list`)
	flag.Float64Var(&o.target, "target", 0.95, "auto: keep layers in float until precision and recall reach this on held-out frames")
	flag.IntVar(&o.threads, "threads", 2, "ONNX Runtime intra-op threads")
	flag.StringVar(&o.ops, "ops", strings.Join(modelconv.DefaultInt8Ops, ","), "op types quantized")
	flag.StringVar(&o.rangesFile, "ranges", "", "JSON file of calibrated ranges: read when it exists (no calibration), else written")
	flag.StringVar(&o.keepMatch, "keep-match", "", "also keep in float every tensor whose name contains one of these comma-separated strings (!s: does not contain s)")
	flag.IntVar(&o.biasFrames, "bias-frames", 16, "bias correction: calibration frames the Convs' input channel means are measured on (0: no correction)")
	flag.IntVar(&o.outputBias, "output-bias", 0, "correct the class logits' mean INT8 error (calib.OutputBias) measured on this many calibration frames (0: none, the default: measured, it moves person precision/recall from 0.951/0.958 to 0.941/0.965)")
	flag.BoolVar(&o.weightsOnly, "weights-only", false, "quantize weights only (to measure their error alone; not faster)")
	flag.BoolVar(&o.sens, "sensitivity", false, "measure each block kept in float alone (and with -solo quantized alone) on the held-out frames; writes nothing")
	flag.StringVar(&o.blocks, "blocks", "", `-sensitivity: only the blocks whose names contain one of these comma-separated strings ("-": none, the baseline only)`)
	flag.IntVar(&o.depth, "depth", 3, "-sensitivity: a group is the first this many parts of the tensors' names (3: MobileNetV3 blocks and head stages, 4: their stages, 9: single tensors)")
	flag.BoolVar(&o.noise, "noise", false, "the agreement Gaussian score noise alone allows: the float model against itself with noise added, on the held-out frames")
	flag.BoolVar(&o.solo, "solo", false, "-sensitivity: also each block quantized alone")
	flag.BoolVar(&o.check, "check", false, "compare -out with the float model on every frame (no conversion)")
	flag.StringVar(&o.floatModel, "float", filepath.Join(models, "centernet.onnx"), "-check: the float model")
	flag.IntVar(&o.checkEvery, "check-every", 1, "-check: one video frame in this many (1: all)")
	flag.Float64Var(&o.min, "min", 0.95, "-check: exit 1 when person, car or all precision/recall is below")
	flag.Parse()
	ctx := context.Background()
	var err error
	switch {
	case o.check:
		err = o.runCheck(ctx)
	case o.sens:
		err = o.sensitivity(ctx)
	case o.noise:
		err = o.noiseSim(ctx)
	default:
		err = o.make(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "int8:", err)
		os.Exit(1)
	}
}

type options struct {
	tfjs, out, video, images, method, keep, floatModel, ops, rangesFile, keepMatch, head, blocks string
	every, threads, checkEvery, biasFrames, heldEvery, depth, outputBias                         int
	target, min                                                                                  float64
	check, weightsOnly, sens, solo, noise                                                        bool
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[int8 %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (o *options) photos() ([]string, error) {
	return filepath.Glob(filepath.Join(o.images, "*.jpg"))
}

// classes are the sample video's classes (COCO ids) reported and checked.
var classes = map[int]string{0: "person", 2: "car"}

// prepared is what making and measuring share: the TF.js model, the
// conversion options, the calibration conversion, the quantization
// (ranges, bias-correction means, -keep and -keep-match applied) and the
// held-out frames.
type prepared struct {
	m    *modelconv.Model
	base modelconv.Options
	cal  *modelconv.Result
	q    *modelconv.Int8
	held []calib.Frame
	// frames are the calibration frames.
	frames []calib.Frame
}

func (o *options) prepare(ctx context.Context) (*prepared, error) {
	method, err := calib.ParseMethod(o.method)
	if err != nil {
		return nil, err
	}
	m, err := modelconv.LoadModel(o.tfjs)
	if err != nil {
		return nil, err
	}
	base := modelconv.CenterNetPreset.Options
	calOpts := base
	calOpts.Calibration = true
	calOpts.Int8 = &modelconv.Int8{Ops: strings.Split(o.ops, ",")}
	cal, err := modelconv.Convert(m, calOpts)
	if err != nil {
		return nil, err
	}
	photos, err := o.photos()
	if err != nil {
		return nil, err
	}
	var frames, held []calib.Frame
	collect := func(dst *[]calib.Frame) func(calib.Frame) error {
		return func(f calib.Frame) error { *dst = append(*dst, f); return nil }
	}
	if err := (calib.FrameSource{Every: o.every}).Video(ctx, o.video, collect(&frames)); err != nil {
		return nil, err
	}
	if err := (calib.FrameSource{Every: o.heldEvery, Offset: o.every / 2}).Video(ctx, o.video, collect(&held)); err != nil {
		return nil, err
	}
	pf, err := calib.Photos(ctx, photos)
	if err != nil {
		return nil, err
	}
	frames = append(frames, pf...)
	logf("calibrating %d tensors of %d quantizable nodes on %d frames (%d video, %d photos), %s",
		len(cal.Calibration), len(cal.Quantizable), len(frames), len(frames)-len(pf), len(pf), method)
	ranges, err := o.calibrate(cal, frames, method)
	if err != nil {
		return nil, err
	}
	q := &modelconv.Int8{Ranges: ranges, Ops: strings.Split(o.ops, ","), WeightsOnly: o.weightsOnly}
	if o.biasFrames > 0 && !o.weightsOnly {
		if q.InputMeans, err = o.inputMeans(cal, frames); err != nil {
			return nil, err
		}
	}
	if o.keep != "auto" && o.keep != "none" && o.keep != "" {
		q.KeepFloat = strings.Split(o.keep, ",")
	}
	if o.keepMatch != "" {
		for _, n := range cal.Calibration {
			for _, sub := range strings.Split(o.keepMatch, ",") {
				neg := strings.HasPrefix(sub, "!")
				if strings.Contains(n, strings.TrimPrefix(sub, "!")) != neg {
					q.KeepFloat = append(q.KeepFloat, n)
					break
				}
			}
		}
	}
	return &prepared{m: m, base: base, cal: cal, q: q, held: held, frames: frames}, nil
}

func (o *options) make(ctx context.Context) error {
	p, err := o.prepare(ctx)
	if err != nil {
		return err
	}
	q := p.q
	if o.keep == "auto" {
		auto, err := o.search(p.m, p.base, p.cal, q, p.held)
		if err != nil {
			return err
		}
		q.KeepFloat = append(q.KeepFloat, auto...)
	}
	opts := p.base
	opts.Int8 = q
	res, err := modelconv.Convert(p.m, opts)
	if err != nil {
		return err
	}
	if o.outputBias > 0 {
		if res, err = o.correctOutputBias(p, res); err != nil {
			return err
		}
	}
	if err := writeFile(o.out, res.ONNX); err != nil {
		return err
	}
	logf("wrote %s (%d bytes, %d nodes; %d of %d tensors kept in float)", o.out, len(res.ONNX), res.Nodes, len(q.KeepFloat), len(p.cal.Calibration))
	return nil
}

// search chooses what runs in INT8, measured block by block (a block: the
// tensors of one MobileNetV3 block or CenterNet head stage, by name): each
// block quantized alone, its detections on the held-out frames compared
// with the float model's; then blocks are added to the INT8 set from the
// least harmful, keeping each only while the agreement (precision and
// recall of persons, cars and all classes) stays >= target. It returns the
// tensors kept in float.
func (o *options) search(m *modelconv.Model, base modelconv.Options, cal *modelconv.Result, q *modelconv.Int8, held []calib.Frame) ([]string, error) {
	blocks, order := blocksOf(cal.Calibration)
	floatExcept := func(in map[string]bool) []string {
		var keep []string
		for _, t := range cal.Calibration {
			if !in[blockOf(t)] {
				keep = append(keep, t)
			}
		}
		return keep
	}
	fres, err := modelconv.Convert(m, base)
	if err != nil {
		return nil, err
	}
	ref, err := detectAll(fres.ONNX, held, o.threads, calib.Threshold)
	if err != nil {
		return nil, err
	}
	eval := func(in map[string]bool) (float64, *calib.Agreement, error) {
		opts := base
		opts.Int8 = &modelconv.Int8{Ranges: q.Ranges, KeepFloat: floatExcept(in), Ops: q.Ops, InputMeans: q.InputMeans}
		res, err := modelconv.Convert(m, opts)
		if err != nil {
			return 0, nil, err
		}
		got, err := detectAll(res.ONNX, held, o.threads, calib.Threshold)
		if err != nil {
			return 0, nil, err
		}
		a := calib.NewAgreement()
		for i := range held {
			a.Add(ref[i], got[i])
		}
		return worstOf(a), a, nil
	}
	solo := map[string]float64{}
	for _, b := range order {
		w, _, err := eval(map[string]bool{b: true})
		if err != nil {
			return nil, err
		}
		solo[b] = w
		logf("  block %-45s %3d tensors: agreement %.4f quantized alone", b, blocks[b], w)
	}
	// Cheapest first: the agreement a block loses alone, per tensor it
	// brings into INT8 (free blocks first, the larger of equals first).
	cost := func(b string) float64 { return (1 - solo[b]) / float64(blocks[b]) }
	slices.SortStableFunc(order, func(a, b string) int {
		if c := cmp.Compare(cost(a), cost(b)); c != 0 {
			return c
		}
		return cmp.Compare(blocks[b], blocks[a])
	})
	in := map[string]bool{}
	for _, b := range order {
		if solo[b] < o.target {
			continue
		}
		in[b] = true
		w, a, err := eval(in)
		if err != nil {
			return nil, err
		}
		if w < o.target {
			delete(in, b)
			logf("- %-45s agreement %.4f: kept in float", b, w)
			continue
		}
		logf("+ %-45s agreement %.4f (person P %.4f R %.4f, car P %.4f R %.4f, all P %.4f R %.4f)", b, w,
			a.Class(0).Precision(), a.Class(0).Recall(), a.Class(2).Precision(), a.Class(2).Recall(), a.Class(-1).Precision(), a.Class(-1).Recall())
	}
	return floatExcept(in), nil
}

// blockOf is a tensor's block: tower_0/MobilenetV3/expanded_conv_3/... is
// tower_0/MobilenetV3/expanded_conv_3, the head's tensors their stage
// (tower_0/CenternetHead/c4_upsample), other tensors their own name.
func blockOf(t string) string { return groupOf(t, 3) }

// groupOf is the first depth parts of a tensor's name (3: its block; 4: the
// block's stage, e.g. expanded_conv_3/squeeze_excite), or the whole name.
func groupOf(t string, depth int) string {
	parts := strings.SplitN(t, "/", depth+1)
	if len(parts) > depth {
		return strings.Join(parts[:depth], "/")
	}
	return t
}

// blocksOf returns each block's tensor count and the blocks in graph order.
func blocksOf(tensors []string) (map[string]int, []string) { return groupsOf(tensors, 3) }

// groupsOf is blocksOf for groupOf(t, depth).
func groupsOf(tensors []string, depth int) (map[string]int, []string) {
	n := map[string]int{}
	var order []string
	for _, t := range tensors {
		b := groupOf(t, depth)
		if n[b] == 0 {
			order = append(order, b)
		}
		n[b]++
	}
	return n, order
}

// worstOf is the lowest precision or recall of persons, cars and all.
func worstOf(a *calib.Agreement) float64 {
	w := 1.0
	for _, id := range []int{0, 2, -1} {
		c := a.Class(id)
		w = min(w, c.Precision(), c.Recall())
	}
	return w
}

func detectAll(model []byte, frames []calib.Frame, threads int, threshold float32) ([][]bboxDets, error) {
	d, err := calib.NewDetector(model, threads)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	d.SetThreshold(threshold)
	out := make([][]bboxDets, len(frames))
	for i, f := range frames {
		if out[i], err = d.Detect(f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeFile writes data to path through a temporary file.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// calibrate returns the ranges of -ranges when that file exists, else
// calibrates them (and writes -ranges when set).
func (o *options) calibrate(cal *modelconv.Result, frames []calib.Frame, method calib.Method) (map[string][2]float32, error) {
	if o.rangesFile != "" {
		if data, err := os.ReadFile(o.rangesFile); err == nil {
			var r map[string][2]float32
			if err := json.Unmarshal(data, &r); err != nil {
				return nil, fmt.Errorf("%s: %w", o.rangesFile, err)
			}
			logf("ranges read from %s", o.rangesFile)
			return r, nil
		}
	}
	r, err := calib.Calibrate(cal.ONNX, cal.Calibration, frames, method, o.headTensor, o.threads)
	if err != nil {
		return nil, err
	}
	// A sigmoid's output lies in [0, 1]: its range is that, not the
	// calibration frames' highest score.
	for _, n := range cal.Quantizable {
		if n.Op == "Sigmoid" {
			r[n.Output] = [2]float32{0, 1}
		}
	}
	if o.rangesFile == "" {
		return r, nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return r, writeFile(o.rangesFile, data)
}

// inputMeans measures the channel means of every Conv's input on
// -bias-frames calibration frames spread over the set (bias correction).
func (o *options) inputMeans(cal *modelconv.Result, frames []calib.Frame) (map[string][]float32, error) {
	var sample []calib.Frame
	for i := 0; i < len(frames) && len(sample) < o.biasFrames; i += max(1, len(frames)/o.biasFrames) {
		sample = append(sample, frames[i])
	}
	means, err := calib.InputMeans(cal.ONNX, cal.Calibration, cal.Quantizable, sample, o.threads)
	if err != nil {
		return nil, err
	}
	logf("bias correction: channel means of %d Conv inputs on %d frames", len(means), len(sample))
	return means, nil
}

// headTensor reports whether a tensor is one of -head's.
func (o *options) headTensor(t string) bool {
	for _, s := range strings.Split(o.head, ",") {
		if s != "" && strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// clsConv is the Conv computing the class logits (before the sigmoid).
const clsConv = "tower_0/CenternetHead/centernet_cls_output/BiasAdd"

// correctOutputBias measures the class logits' mean error of the INT8
// model res on -output-bias calibration frames spread over the set and
// converts again with it added to the logits' bias (calib.OutputBias).
func (o *options) correctOutputBias(p *prepared, res *modelconv.Result) (*modelconv.Result, error) {
	fres, err := modelconv.Convert(p.m, p.base)
	if err != nil {
		return nil, err
	}
	var sample []calib.Frame
	for i := 0; i < len(p.frames) && len(sample) < o.outputBias; i += max(1, len(p.frames)/o.outputBias) {
		sample = append(sample, p.frames[i])
	}
	shift, err := calib.OutputBias(fres.ONNX, res.ONNX, sample, 80, 0.1, o.threads)
	if err != nil {
		return nil, err
	}
	logf("output bias correction on %d frames: class logits shifted by %+.3f (person), %+.3f (car)", len(sample), shift[0], shift[2])
	q := *p.q
	q.BiasShift = map[string][]float32{clsConv: shift}
	opts := p.base
	opts.Int8 = &q
	return modelconv.Convert(p.m, opts)
}
