package infer

import (
	"fmt"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidflow/vidflow/internal/config"
)

// plan is how a model is run: its input tensor's geometry and the output
// layers read, checked against the config.
type plan struct {
	input      string
	w, h, c    int  // network input size and channels
	nhwc       bool // input layout
	uint8In    bool // the input is uint8 pixels, not float32
	fixedBatch int  // the model's batch size when fixed, 0 when dynamic
	outputs    []string
	outDims    [][]int // per image (batch axis removed); -1 where dynamic
	dynamicOut bool    // some output has a dynamic dimension besides the batch
	// intOut: some output is int32 or int64 (class ids, counts: TAO's
	// Segformer, batched NMS): outputs are then ONNX Runtime's own host
	// tensors, converted to float32 for the parsers, never bound.
	intOut bool
}

// keyError makes an error about a config key, naming the file and the
// line where it was given.
func (c *Config) keyError(key, format string, args ...any) error {
	if v, ok := c.given[key]; ok {
		return v.Errorf(format, args...)
	}
	return &config.Error{File: c.File, Section: "property", Key: key, Err: fmt.Errorf(format, args...)}
}

func shapeString(s ort.Shape) string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// makePlan checks the model's inputs and outputs against the config.
func makePlan(c *Config, mi *modelInfo) (*plan, error) {
	model := c.ONNXFile
	if len(mi.inputs) != 1 {
		var names []string
		for _, in := range mi.inputs {
			names = append(names, in.Name)
		}
		return nil, fmt.Errorf("model %s has %d inputs (%s): nvinfer models take one image input", model, len(mi.inputs), strings.Join(names, ", "))
	}
	in := mi.inputs[0]
	uint8In := in.OrtValueType == ort.ONNXTypeTensor && in.DataType == ort.TensorElementDataTypeUint8
	if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeFloat && !uint8In {
		return nil, fmt.Errorf("model %s: input %q is %v %v, vidflow feeds float32 or uint8 tensors", model, in.Name, in.OrtValueType, in.DataType)
	}
	if uint8In {
		// Bytes carry pixels as they are: the model normalises them.
		if c.NetScaleFactor != 1 {
			return nil, c.keyError("net-scale-factor", "%v: model %s takes uint8 pixels (input %q), which cannot be scaled: use 1", c.NetScaleFactor, model, in.Name)
		}
		for _, o := range c.Offsets {
			if o != 0 {
				return nil, c.keyError("offsets", "%v: model %s takes uint8 pixels (input %q), which cannot be offset: remove offsets", c.Offsets, model, in.Name)
			}
		}
	}
	d := in.Dimensions
	if len(d) != 4 {
		return nil, fmt.Errorf("model %s: input %q is %s, want 4 dimensions (batch and an image: NCHW or NHWC)", model, in.Name, shapeString(d))
	}
	p := &plan{input: in.Name, nhwc: c.InputOrder == 1, uint8In: uint8In}
	if d[0] > 0 {
		p.fixedBatch = int(d[0])
	}
	md := [3]int64{d[1], d[2], d[3]} // C, H, W
	order := "NCHW (network-input-order 0)"
	if p.nhwc {
		md = [3]int64{d[3], d[1], d[2]}
		order = "NHWC (network-input-order 1)"
	}
	channels := 3
	if c.ModelColorFormat == 2 {
		channels = 1
	}
	var chw [3]int
	for i, name := range []string{"channels", "height", "width"} {
		switch {
		case md[i] > 0 && c.InferDims != nil && int(md[i]) != c.InferDims[i]:
			return nil, c.keyError("infer-dims", "%d;%d;%d does not match the input %q of model %s, %s read as %s",
				c.InferDims[0], c.InferDims[1], c.InferDims[2], in.Name, model, shapeString(d), order)
		case md[i] > 0:
			chw[i] = int(md[i])
		case c.InferDims != nil:
			chw[i] = c.InferDims[i]
		default:
			return nil, c.keyError("infer-dims", "missing: the %s of input %q of model %s %s is dynamic; give C;H;W", name, in.Name, model, shapeString(d))
		}
	}
	if chw[0] != channels {
		hint := ""
		switch {
		case !p.nhwc && d[3] == int64(channels):
			hint = "; it looks NHWC: set network-input-order: 1"
		case p.nhwc && d[1] == int64(channels):
			hint = "; it looks NCHW: set network-input-order: 0"
		}
		return nil, c.keyError("network-input-order", "input %q of model %s is %s: read as %s it has %d channels, model-color-format %d needs %d%s",
			in.Name, model, shapeString(d), order, chw[0], c.ModelColorFormat, channels, hint)
	}
	p.c, p.h, p.w = chw[0], chw[1], chw[2]

	// Outputs.
	byName := map[string]ort.InputOutputInfo{}
	var all []string
	for _, o := range mi.outputs {
		byName[o.Name] = o
		all = append(all, o.Name)
	}
	p.outputs = all
	if len(c.OutputBlobNames) > 0 {
		for _, n := range c.OutputBlobNames {
			if _, ok := byName[n]; !ok {
				return nil, c.keyError("output-blob-names", "model %s has no output %q (outputs: %s)", model, n, strings.Join(all, ", "))
			}
		}
		p.outputs = slices.Clone(c.OutputBlobNames)
	}
	if len(p.outputs) == 0 {
		return nil, fmt.Errorf("model %s has no outputs", model)
	}
	for _, n := range p.outputs {
		o := byName[n]
		switch {
		case o.OrtValueType != ort.ONNXTypeTensor:
			return nil, fmt.Errorf("model %s: output %q is %v; vidflow reads tensors (list the others in output-blob-names)", model, n, o.OrtValueType)
		case o.DataType == ort.TensorElementDataTypeInt64 || o.DataType == ort.TensorElementDataTypeInt32:
			p.intOut = true
		case o.DataType != ort.TensorElementDataTypeFloat:
			return nil, fmt.Errorf("model %s: output %q is %v; vidflow reads float32, int32 and int64 outputs (list the others in output-blob-names)", model, n, o.DataType)
		}
		if len(o.Dimensions) < 1 {
			return nil, fmt.Errorf("model %s: output %q is %s, want a batch axis (then the values of each image; none for one value an image, as SSD's num_detections [N])", model, n, shapeString(o.Dimensions))
		}
		if b := o.Dimensions[0]; b > 0 && p.fixedBatch > 0 && int(b) != p.fixedBatch {
			return nil, fmt.Errorf("model %s: output %q has batch %d, input %d", model, n, b, p.fixedBatch)
		}
		dims := make([]int, len(o.Dimensions)-1)
		for i, v := range o.Dimensions[1:] {
			dims[i] = int(v)
			if v <= 0 {
				dims[i] = -1
				p.dynamicOut = true
			}
		}
		p.outDims = append(p.outDims, dims)
	}
	return p, nil
}

// runBatch is how many images go into one ONNX Runtime call: the model's
// batch when fixed, else the configured batch size.
func (p *plan) runBatch(batchSize int) int {
	if p.fixedBatch > 0 {
		return p.fixedBatch
	}
	return batchSize
}

// checkOutputs checks the output layers (per-image dimensions) against
// the config and the labels, and settles the detector's parser and class
// count.
func (e *nvinfer) checkOutputs(dims [][]int) error {
	cfg := e.cfg
	switch cfg.NetworkType {
	case NetworkDetector:
		if e.parser == nil {
			p, err := detectParser(e.plan.outputs, dims)
			if err != nil {
				return fmt.Errorf("model %s: %v", cfg.ONNXFile, err)
			}
			e.parser = p
		}
		classes := cfg.NumDetectedClasses
		if e.parser.classes != nil {
			n, err := e.parser.classes(e.plan.outputs, dims, cfg.NumDetectedClasses)
			if err != nil {
				return fmt.Errorf("model %s, parser %s: %v", cfg.ONNXFile, e.parser.name, err)
			}
			if cfg.NumDetectedClasses > 0 && n > 0 && n != cfg.NumDetectedClasses {
				return cfg.keyError("num-detected-classes", "%d, but the outputs of model %s (%s) have %d classes",
					cfg.NumDetectedClasses, cfg.ONNXFile, describeLayers(e.plan.outputs, dims), n)
			}
			if n > 0 {
				classes = n
			}
		}
		e.classes = classes
		if e.labels != nil && classes > 0 {
			if n := len(e.labels[0]); len(e.labels) != 1 || n != classes {
				return cfg.keyError("labelfile-path", "%s has %d labels, the model has %d classes", cfg.LabelFile, countLabels(e.labels), classes)
			}
		}
	case NetworkSegmentation:
		if len(dims[0]) != 3 && !isSegformer(cfg.ParseSegmentationFuncName) {
			return fmt.Errorf("model %s: segmentation output %q is %s per image: want [C,H,W] (segmentation-output-order 0) or [H,W,C] (1); "+
				"list the class probabilities first in output-blob-names", cfg.ONNXFile, e.plan.outputs[0], describeLayers(e.plan.outputs[:1], dims[:1]))
		}
	case NetworkClassifier:
		if e.labels == nil || e.classParser != nil { // a parser of its own reads the labels it wants
			return nil
		}
		if len(e.labels) == 1 && len(dims) == 1 {
			if n := size(dims[0]); n != len(e.labels[0]) {
				return cfg.keyError("labelfile-path", "%s has %d labels, the classifier output %q has %d classes", cfg.LabelFile, len(e.labels[0]), e.plan.outputs[0], n)
			}
			return nil
		}
		if len(e.labels) != len(dims) {
			return cfg.keyError("labelfile-path", "%s has %d lines of labels, the classifier has %d output layers (one ';'-separated line each)", cfg.LabelFile, len(e.labels), len(dims))
		}
		for i, d := range dims {
			if n := size(d); n != len(e.labels[i]) {
				return cfg.keyError("labelfile-path", "%s line %d has %d labels, output %q has %d classes", cfg.LabelFile, i+1, len(e.labels[i]), e.plan.outputs[i], n)
			}
		}
	}
	return nil
}

func countLabels(l [][]string) int {
	n := 0
	for _, x := range l {
		n += len(x)
	}
	return n
}

func size(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

func sizes(dims [][]int) []int {
	per := make([]int, len(dims))
	for i, d := range dims {
		per[i] = size(d)
	}
	return per
}
