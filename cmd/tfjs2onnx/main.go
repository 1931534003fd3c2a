// Command tfjs2onnx converts a TensorFlow.js graph model (model.json plus
// weight shards) into an ONNX file.
//
//	tfjs2onnx -in dir/centernet.json -out centernet.onnx
//
// Without -outputs a known model layout (see modelconv.DetectPreset) is
// used when the graph matches one; otherwise the signature outputs that can
// be converted are exported.
//
// -opencv writes the model in the form OpenCV 4.6's DNN importer loads
// (Clip and Resize in their opset-10 forms; see
// modelconv.RewriteForOpenCV): for benchmarks beside OpenCV only, ONNX
// Runtime rejects it. With -in an .onnx file, that file is rewritten:
//
//	tfjs2onnx -opencv -in centernet.onnx -out centernet-opencv.onnx
//
// -uint8-input and -device-decode write the device-ready CenterNet variant
// for GPU inference (see modelconv.DeviceDecode): a uint8 input cast to
// float in the graph, and peaks + TopK computed in the graph, with outputs
// scores [N,K], indices [N,K] and boxes [N,K,4], all float32 (decoded by
// the "centernet-topk" parser):
//
//	tfjs2onnx -in dir/centernet.json -out centernet_gpu.onnx -uint8-input -device-decode -topk 100
//
// -fp16 (with -uint8-input) makes the network compute in float16 for the
// CUDA provider's tensor cores (see modelconv.Options.FP16): float16
// weights, the uint8 input cast to float16, the network's outputs cast back
// to float32 before the device decode; inputs and outputs are unchanged:
//
//	tfjs2onnx -in dir/centernet.json -out centernet_gpu_fp16.onnx -uint8-input -device-decode -topk 100 -fp16
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vidflow/vidflow/internal/modelconv"
)

func main() {
	in := flag.String("in", "", "TF.js graph model json (weights are read from its directory)")
	out := flag.String("out", "", "ONNX file to write")
	outputs := flag.String("outputs", "", "comma-separated TF tensors to export, each optionally renamed as tensor=name (default: preset or signature outputs)")
	inputs := flag.String("inputs", "", "comma-separated input renames tfname=name")
	preset := flag.String("preset", "auto", `"auto" (detect), "none" or a preset name ("centernet")`)
	staticBatch := flag.Bool("static-batch", false, "keep the placeholder's fixed batch size instead of a symbolic N")
	opencv := flag.Bool("opencv", false, "write the form OpenCV 4.6's DNN loads (Clip/Resize of opset 10; not for ONNX Runtime); -in may be an .onnx file")
	var dev device
	flag.BoolVar(&dev.uint8Input, "uint8-input", false, "make the input uint8, cast to float32 in the graph")
	flag.BoolVar(&dev.decode, "device-decode", false, "append CenterNet's peak extraction and TopK (outputs scores, indices, boxes)")
	flag.IntVar(&dev.topK, "topk", modelconv.DefaultTopK, "with -device-decode: K, the peaks kept an image")
	flag.BoolVar(&dev.keepRaw, "keep-raw", false, "with -device-decode: keep heat and wh as outputs too")
	flag.BoolVar(&dev.fp16, "fp16", false, "with -uint8-input: compute the network in float16 (float16 weights; outputs stay float32)")
	flag.Parse()
	if *in == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: tfjs2onnx -in model.json -out model.onnx [-outputs t1=name1,t2] [-inputs t=name] [-preset auto|none|centernet]")
		os.Exit(2)
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if (set["topk"] || set["keep-raw"]) && !dev.decode {
		fmt.Fprintln(os.Stderr, "tfjs2onnx: -topk and -keep-raw go with -device-decode")
		os.Exit(2)
	}
	if dev.fp16 && !dev.uint8Input {
		fmt.Fprintln(os.Stderr, "tfjs2onnx: -fp16 goes with -uint8-input (the uint8 input is cast to float16 in the graph)")
		os.Exit(2)
	}
	if *opencv && (dev.decode || dev.uint8Input) {
		fmt.Fprintln(os.Stderr, "tfjs2onnx: -opencv cannot be combined with -uint8-input, -device-decode or -fp16")
		os.Exit(2)
	}
	var err error
	if *opencv && strings.HasSuffix(*in, ".onnx") {
		err = rewriteOpenCV(*in, *out)
	} else {
		err = run(*in, *out, *outputs, *inputs, *preset, *staticBatch, *opencv, dev)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tfjs2onnx:", err)
		os.Exit(1)
	}
}

func parsePairs(s string) [][2]string {
	var out [][2]string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

// rewriteOpenCV rewrites an ONNX file for OpenCV 4.6.
func rewriteOpenCV(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	cv, rep, err := modelconv.RewriteForOpenCV(data)
	if err != nil {
		return err
	}
	if err := writeFile(out, cv); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tfjs2onnx: wrote %s for OpenCV (%d Clip, %d Resize rewritten)\n", out, rep.Clips, rep.Resizes)
	return nil
}

// writeFile writes data to path through a temporary file.
func writeFile(path string, data []byte) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// device holds the device-ready variant's flags.
type device struct {
	uint8Input, decode, keepRaw, fp16 bool
	topK                              int
}

func run(in, out, outputs, inputs, preset string, staticBatch, opencv bool, dev device) error {
	m, err := modelconv.LoadModel(in)
	if err != nil {
		return err
	}
	var opts modelconv.Options
	used := ""
	switch {
	case outputs != "" || preset == "none":
	case preset == "auto":
		if p, ok := modelconv.DetectPreset(m); ok {
			opts, used = p.Options, p.Name
		}
	case preset == modelconv.CenterNetPreset.Name:
		opts, used = modelconv.CenterNetPreset.Options, preset
	default:
		return fmt.Errorf("unknown preset %q", preset)
	}
	if outputs != "" {
		opts.Outputs = nil
		for _, p := range parsePairs(outputs) {
			opts.Outputs = append(opts.Outputs, modelconv.OutputSpec{Tensor: p[0], Name: p[1]})
		}
	}
	if inputs != "" {
		opts.InputNames = map[string]string{}
		for _, p := range parsePairs(inputs) {
			opts.InputNames[p[0]] = p[1]
		}
	}
	if len(opts.Outputs) == 0 {
		opts.SkipUnsupportedOutputs = true
	}
	opts.StaticBatch = staticBatch
	opts.UInt8Input = dev.uint8Input
	opts.FP16 = dev.fp16
	if dev.decode {
		opts.DeviceDecode = &modelconv.DeviceDecode{TopK: dev.topK, KeepRaw: dev.keepRaw}
	}
	res, err := modelconv.Convert(m, opts)
	if err != nil {
		return err
	}
	data := res.ONNX
	if opencv {
		var rep modelconv.OpenCVReport
		if data, rep, err = modelconv.RewriteForOpenCV(data); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "tfjs2onnx: OpenCV form (%d Clip, %d Resize rewritten)\n", rep.Clips, rep.Resizes)
	}
	if err := writeFile(out, data); err != nil {
		return err
	}
	if used != "" {
		fmt.Fprintf(os.Stderr, "tfjs2onnx: preset %s\n", used)
	}
	for _, d := range res.Dropped {
		fmt.Fprintf(os.Stderr, "tfjs2onnx: output dropped: %s\n", d)
	}
	inType := "float32"
	if dev.uint8Input {
		inType = "uint8"
	}
	for _, i := range res.Inputs {
		fmt.Fprintf(os.Stderr, "tfjs2onnx: input  %s %v %s %s (tf %s)\n", i.Name, i.Shape, inType, i.Layout, i.Tensor)
	}
	for _, o := range res.Outputs {
		fmt.Fprintf(os.Stderr, "tfjs2onnx: output %s %v %s (tf %s)\n", o.Name, o.Shape, o.Layout, o.Tensor)
	}
	if dev.fp16 {
		fmt.Fprintln(os.Stderr, "tfjs2onnx: network in float16 (weights float16, outputs float32)")
	}
	fmt.Fprintf(os.Stderr, "tfjs2onnx: wrote %s (%d nodes, %d bytes)\n", out, res.Nodes, len(data))
	return nil
}
