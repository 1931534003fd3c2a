package vidflow

import (
	"os"

	// Package infer also registers the inference element (nvinfer).
	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/media"
)

// Infer runs a model on the flow's batches: DeepStream's nvinfer on ONNX
// Runtime, configured by an nvinfer config file (YAML or INI; see
// docs/infer.md). The flow must be batched (Batch or BatchCapture). The
// element's batch-size defaults to the flow's batch size; other options
// (Props, e.g. unique-id, process-mode, interval, output-tensor-meta,
// intra-op-threads) override the config's keys.
//
// A primary detector adds objects to the frames; a secondary element
// (process-mode 2) works on the objects of earlier elements, adding
// Classifications (or child objects); with output-tensor-meta the raw
// output layers are attached as TensorMeta. Chain Infer calls for a
// primary detector followed by secondary classifiers.
func (f *Flow) Infer(config string, opts ...Option) *Flow {
	if !f.ok("Infer") {
		return f.next(nil, false)
	}
	if !f.batched {
		return f.fail("Infer: the flow is not batched: call Batch (or use BatchCapture) first")
	}
	o := collect(opts)
	if config == "" {
		if s, _ := o.props["config-file-path"].(string); s == "" {
			return f.fail("Infer: no config file given")
		}
	} else {
		if st, err := os.Stat(config); err != nil || st.IsDir() {
			return f.fail("Infer: config file %q doesn't exist", config)
		}
		o.props["config-file-path"] = config
	}
	if _, set := o.props["batch-size"]; !set {
		if f.size > 0 {
			o.props["batch-size"] = f.size
		}
	}
	name, ok := f.step("infer", "nvinfer", "infer", o)
	if !ok {
		return f.next(nil, false)
	}
	return f.next([]string{name}, true)
}

// RegisterDetectionParser makes a detection parser available to infer
// configs under name (their parse-bbox-func-name). Built in: centernet,
// yolov5, yolov8, ssd (TF order), ssd-xyxy and detectnet (DetectNet_v2),
// also under DeepStream's function names; see docs/infer.md.
func RegisterDetectionParser(name string, fn bbox.Parser) error {
	return infer.RegisterBBoxParser(name, fn)
}

// RegisterInstanceMaskParser makes an instance segmentation parser
// available to infer configs under name (their
// parse-bbox-instance-mask-func-name, network-type 3), in place of the C
// function of a DeepStream custom-lib-path: fn turns the output layers of
// one image into objects with masks (with output-instance-mask, each
// object's ObjectMeta.InstanceMask, drawn by the OSD).
func RegisterInstanceMaskParser(name string, fn bbox.InstanceParser) error {
	return infer.RegisterInstanceMaskParser(name, fn)
}

// RegisterClassifierParser makes a classifier parser available to infer
// configs under name (their parse-classifier-func-name), in place of the C
// function of a DeepStream custom-lib-path: fn reads the output layers of
// one object (or frame) and appends its attributes to dst; info.Threshold
// is the config's classifier-threshold. Without one, classifiers use
// DeepStream's default parser.
func RegisterClassifierParser(name string, fn func(layers []bbox.Layer, info bbox.Info, dst []media.Classification) ([]media.Classification, error)) error {
	return infer.RegisterClassifierParser(name, fn)
}
