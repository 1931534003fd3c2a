package infer

import (
	"math"
	"sort"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
)

// A key of the [property] group: set parses and stores its value; an
// ignored key is accepted and reported once.
type key struct {
	set     func(c *Config, v config.Value) error
	ignored bool
	doc     string
}

func intKey(field func(*Config) *int, lo, hi int, doc string) key {
	return key{doc: doc, set: func(c *Config, v config.Value) (err error) {
		*field(c), err = v.IntIn(lo, hi)
		return err
	}}
}

func oneOfKey(field func(*Config) *int, doc string, allowed ...int) key {
	return key{doc: doc, set: func(c *Config, v config.Value) (err error) {
		*field(c), err = v.OneOf(allowed...)
		return err
	}}
}

func floatKey(field func(*Config) *float32, lo, hi float64, doc string) key {
	return key{doc: doc, set: func(c *Config, v config.Value) error {
		f, err := v.FloatIn(lo, hi)
		*field(c) = float32(f)
		return err
	}}
}

func boolKey(field func(*Config) *bool, doc string) key {
	return key{doc: doc, set: func(c *Config, v config.Value) (err error) {
		*field(c), err = v.Bool()
		return err
	}}
}

func pathKey(field func(*Config) *string, doc string) key {
	return key{doc: doc, set: func(c *Config, v config.Value) (err error) {
		*field(c), err = v.Path()
		return err
	}}
}

func classIDsKey(field func(*Config) *[]int, doc string) key {
	return key{doc: doc, set: func(c *Config, v config.Value) error {
		ids, err := v.Ints()
		for _, id := range ids {
			if id < 0 {
				return v.Errorf("class id %d is negative", id)
			}
		}
		*field(c) = ids
		return err
	}}
}

func stringKey(field func(*Config) *string, doc string) key {
	return key{doc: doc, set: func(c *Config, v config.Value) error {
		*field(c) = v.String()
		return nil
	}}
}

func ignoredKey(doc string) key { return key{ignored: true, doc: doc} }

const maxDim = 1 << 16

// propertyKeys are the keys of the [property] group: spec §9.1 of
// DeepStream's nvinfer plus vidflow's own.
var propertyKeys = map[string]key{
	"gpu-id":                  intKey(func(c *Config) *int { return &c.GPUID }, 0, 1024, "GPU for the CUDA execution provider"),
	"net-scale-factor":        floatKey(func(c *Config) *float32 { return &c.NetScaleFactor }, -1e6, 1e6, "pixel scale: y = net-scale-factor × (x − offset)"),
	"model-color-format":      oneOfKey(func(c *Config) *int { return &c.ModelColorFormat }, "0 RGB, 1 BGR, 2 GRAY", 0, 1, 2),
	"onnx-file":               pathKey(func(c *Config) *string { return &c.ONNXFile }, "the ONNX model"),
	"labelfile-path":          pathKey(func(c *Config) *string { return &c.LabelFile }, "labels, one a line (or ';'-separated)"),
	"batch-size":              intKey(func(c *Config) *int { return &c.BatchSize }, 1, 1024, "frames (or objects) per inference"),
	"network-type":            oneOfKey(func(c *Config) *int { return &c.NetworkType }, "0 detector, 1 classifier, 2 segmentation, 3 instance segmentation, 100 other", 0, 1, 2, 3, 100),
	"process-mode":            oneOfKey(func(c *Config) *int { return &c.ProcessMode }, "1 primary (frames), 2 secondary (objects)", 1, 2),
	"interval":                intKey(func(c *Config) *int { return &c.Interval }, 0, math.MaxInt32, "batches skipped between inferences"),
	"gie-unique-id":           intKey(func(c *Config) *int { return &c.UniqueID }, 0, math.MaxInt32, "component id written to the metadata"),
	"operate-on-gie-id":       intKey(func(c *Config) *int { return &c.OperateOnGIEID }, -1, math.MaxInt32, "secondary: objects of this element only (-1 any)"),
	"gie-id-for-operation":    intKey(func(c *Config) *int { return &c.OperateOnGIEID }, -1, math.MaxInt32, "old name of operate-on-gie-id"),
	"operate-on-class-ids":    classIDsKey(func(c *Config) *[]int { return &c.OperateOnClassIDs }, "secondary: objects of these classes only"),
	"filter-out-class-ids":    classIDsKey(func(c *Config) *[]int { return &c.FilterOutClassIDs }, "detector: drop these classes"),
	"num-detected-classes":    intKey(func(c *Config) *int { return &c.NumDetectedClasses }, 0, 1<<20, "detector classes"),
	"cluster-mode":            oneOfKey(func(c *Config) *int { return &c.ClusterMode }, "0 groupRectangles (NMS here), 1 DBSCAN, 2 NMS, 3 DBSCAN+NMS, 4 none", 0, 1, 2, 3, 4),
	"maintain-aspect-ratio":   boolKey(func(c *Config) *bool { return &c.MaintainAspectRatio }, "letterbox instead of stretching"),
	"symmetric-padding":       boolKey(func(c *Config) *bool { return &c.SymmetricPadding }, "centre the letterboxed image"),
	"network-input-order":     oneOfKey(func(c *Config) *int { return &c.InputOrder }, "0 NCHW, 1 NHWC", 0, 1),
	"uff-input-order":         oneOfKey(func(c *Config) *int { return &c.InputOrder }, "old name of network-input-order", 0, 1),
	"output-tensor-meta":      boolKey(func(c *Config) *bool { return &c.OutputTensorMeta }, "attach the raw output layers"),
	"classifier-threshold":    floatKey(func(c *Config) *float32 { return &c.ClassifierThreshold }, 0, 1, "a class is a result when its probability is above this"),
	"classifier-softmax":      boolKey(func(c *Config) *bool { return &c.ClassifierSoftmax }, "vidflow: the classifier's outputs are logits: softmax each layer before classifier-threshold (DeepStream's parser takes them as probabilities)"),
	"scaling-compute-hw":      intKey(func(c *Config) *int { return &c.ScalingComputeHW }, 0, 2, "0 GPU kernel when available (execution-provider cuda) else CPU, 1 GPU kernel or an error, 2 (VIC, on Jetson) as 0"),
	"scaling-filter":          intKey(func(c *Config) *int { return &c.ScalingFilter }, 0, 6, "0 and 6 nearest, 1 bilinear (2..5, GPU filters: bilinear)"),
	"input-object-min-width":  intKey(func(c *Config) *int { return &c.InputObjectMinW }, 0, maxDim, "secondary: smallest object width"),
	"input-object-min-height": intKey(func(c *Config) *int { return &c.InputObjectMinH }, 0, maxDim, "secondary: smallest object height"),
	"input-object-max-width":  intKey(func(c *Config) *int { return &c.InputObjectMaxW }, 0, maxDim, "secondary: largest object width (0 any)"),
	"input-object-max-height": intKey(func(c *Config) *int { return &c.InputObjectMaxH }, 0, maxDim, "secondary: largest object height (0 any)"),
	"intra-op-threads":        intKey(func(c *Config) *int { return &c.IntraOpThreads }, 0, 1024, "vidflow: ONNX Runtime intra-op threads (0 its default)"),
	"offsets": {doc: "per-channel means, 'R;G;B' in model channel order", set: func(c *Config, v config.Value) error {
		fs, err := v.Floats()
		c.Offsets = make([]float32, len(fs))
		for i, f := range fs {
			c.Offsets[i] = float32(f)
		}
		return err
	}},
	"infer-dims":     {doc: "C;H;W of the input (needed for dynamic-shape models)", set: setDims(false)},
	"input-dims":     {doc: "old form of infer-dims and network-input-order: C;H;W;order (order 0 NCHW, 1 NHWC)", set: setDims(true)},
	"uff-input-dims": {doc: "old form of infer-dims and uff-input-order: C;H;W;order", set: setDims(true)},
	"output-blob-names": {doc: "output layers to use, 'a;b'", set: func(c *Config, v config.Value) error {
		c.OutputBlobNames = v.Strings()
		return nil
	}},
	"parse-bbox-func-name": {doc: "detector output parser (see docs/infer.md)", set: func(c *Config, v config.Value) error {
		c.ParseBboxFuncName = v.String()
		return nil
	}},
	"classifier-type": {doc: "a name for the classifier's results", set: func(c *Config, v config.Value) error {
		c.ClassifierType = v.String()
		return nil
	}},
	"is-classifier": {doc: "old form of network-type 1", set: func(c *Config, v config.Value) error {
		b, err := v.Bool()
		if b {
			c.NetworkType = NetworkClassifier
		}
		return err
	}},
	"execution-provider": {doc: "vidflow: cpu, cuda (the GPU is required) or auto (CUDA when a GPU and a CUDA build of ONNX Runtime are found, else the CPU with a warning)", set: func(c *Config, v config.Value) error {
		c.ExecutionProvider = strings.ToLower(v.String())
		if c.ExecutionProvider != "cpu" && c.ExecutionProvider != "cuda" && c.ExecutionProvider != "auto" {
			return v.Errorf("want cpu, cuda or auto, got %q", v.Text)
		}
		return nil
	}},
	"cuda-options": {doc: "vidflow: CUDA execution provider options, key=value;key=value (prefer_nhwc=1, enable_cuda_graph=1, cudnn_conv_algo_search=HEURISTIC, ...)", set: func(c *Config, v config.Value) error {
		m, err := ParseCUDAOptions(v.String())
		if err != nil {
			return v.Errorf("%v", err)
		}
		c.CUDAOptions = m
		return nil
	}},

	// Accepted for compatibility, no effect.
	"model-engine-file":                  ignoredKey("TensorRT engine: vidflow runs onnx-file"),
	"int8-calib-file":                    ignoredKey("TensorRT INT8 calibration"),
	"network-mode":                       ignoredKey("TensorRT precision: ONNX Runtime runs the model's own types"),
	"tlt-encoded-model":                  ignoredKey("TAO model: give its ONNX export as onnx-file"),
	"tlt-model-key":                      ignoredKey("TAO model key"),
	"uff-file":                           ignoredKey("UFF model"),
	"uff-input-blob-name":                ignoredKey("UFF input"),
	"model-file":                         ignoredKey("Caffe model"),
	"proto-file":                         ignoredKey("Caffe prototxt"),
	"custom-network-config":              ignoredKey("custom TensorRT network"),
	"custom-lib-path":                    pathKey(func(c *Config) *string { return &c.CustomLib }, "C parser library: not loaded; its parser functions of the same names are built in (or registered Go parsers)"),
	"engine-create-func-name":            ignoredKey("TensorRT engine builder"),
	"workspace-size":                     ignoredKey("TensorRT workspace"),
	"enable-dla":                         ignoredKey("DLA"),
	"use-dla-core":                       ignoredKey("DLA"),
	"tensor-meta-pool-size":              ignoredKey("tensor metadata is not pooled"),
	"classifier-async-mode":              ignoredKey("classifiers run in line"),
	"secondary-reinfer-interval":         ignoredKey("objects are classified on every inferred frame"),
	"mean-file":                          ignoredKey("not supported: use offsets"),
	"input-tensor-meta":                  boolKey(func(c *Config) *bool { return &c.InputTensorMeta }, "infer on what an nvdspreprocess upstream chose (primary: its regions of each frame; secondary: its objects), each prepared with this config's settings"),
	"input-tensor-from-meta":             boolKey(func(c *Config) *bool { return &c.InputTensorMeta }, "old name of input-tensor-meta"),
	"output-instance-mask":               boolKey(func(c *Config) *bool { return &c.OutputInstanceMask }, "instance segmentation: attach each object's mask (ObjectMeta.InstanceMask)"),
	"parse-bbox-instance-mask-func-name": stringKey(func(c *Config) *string { return &c.ParseInstanceMaskFuncName }, "instance segmentation parser: NvDsInferParseCustomMask2Former, or a Go parser registered with RegisterInstanceMaskParser"),
	"parse-classifier-func-name":         stringKey(func(c *Config) *string { return &c.ParseClassifierFuncName }, "classifier output parser: DeepStream's default (probabilities against classifier-threshold), NvDsInferParseCustomNVPlate, or a Go parser registered with RegisterClassifierParser"),
	"parse-segmentation-func-name":       stringKey(func(c *Config) *string { return &c.ParseSegmentationFuncName }, "segmentation parser: DeepStream's default (per-pixel most probable class) or NvDsInferParseCustomSegformerTAO (int64 class ids)"),
	"segmentation-threshold":             floatKey(func(c *Config) *float32 { return &c.SegmentationThreshold }, -math.MaxFloat32, math.MaxFloat32, "segmentation: least class probability of a pixel"),
	"segmentation-output-order":          oneOfKey(func(c *Config) *int { return &c.SegmentationOutputOrder }, "segmentation output: 0 [C,H,W], 1 [H,W,C]", 0, 1),
	"crop-objects-to-roi-boundary":       ignoredKey("objects are always cropped to the frame"),
	"strongly-typed":                     ignoredKey("TensorRT"),
	"warmup-engine":                      ignoredKey("the session always runs once before the first batch"),
	"layer-device-precision":             ignoredKey("TensorRT"),
	"output-io-formats":                  ignoredKey("TensorRT"),
	"force-implicit-batch-dim":           ignoredKey("TensorRT"),
	"dump-input-tensor":                  ignoredKey("debugging"),
	"dump-output-tensor":                 ignoredKey("debugging"),
	"overwrite-input-tensor":             ignoredKey("debugging"),
	"ip-tensor-file":                     ignoredKey("debugging"),
	"enable-dbscan":                      ignoredKey("old key: use cluster-mode"),
	"gie-mode":                           ignoredKey("old key: use process-mode"),
	"num-detected-classes-per-layer":     ignoredKey("not used"),
	"disable-output-host-copy":           ignoredKey("outputs are always read on the host"),
}

// setDims reads infer-dims (C;H;W) or, withOrder, the older input-dims
// and uff-input-dims (C;H;W;order, order 0 NCHW or 1 NHWC; DeepStream
// writes the order as its fourth value).
func setDims(withOrder bool) func(c *Config, v config.Value) error {
	return func(c *Config, v config.Value) error {
		d, err := v.Ints()
		if err != nil {
			return err
		}
		want := "three positive numbers C;H;W"
		if withOrder {
			want = "C;H;W;order: three positive numbers and 0 (NCHW) or 1 (NHWC)"
			if len(d) == 4 && (d[3] == 0 || d[3] == 1) {
				c.InputOrder, d = d[3], d[:3]
			} else {
				d = nil
			}
		}
		if len(d) != 3 || d[0] <= 0 || d[1] <= 0 || d[2] <= 0 || d[1] > maxDim || d[2] > maxDim {
			return v.Errorf("want %s, got %q", want, v.Text)
		}
		c.InferDims = d
		return nil
	}
}

// classKeys are the keys of class-attrs-all and class-attrs-<id>.
var classKeys = map[string]func(a *ClassAttrs, v config.Value) error{
	// Above 1 no object of the class passes: DeepStream takes it (TAO's
	// configs turn classes off so), and so does vidflow.
	"pre-cluster-threshold":  func(a *ClassAttrs, v config.Value) error { return setF(&a.PreClusterThreshold, v, 0, 1e6) },
	"threshold":              func(a *ClassAttrs, v config.Value) error { return setF(&a.PreClusterThreshold, v, 0, 1e6) },
	"post-cluster-threshold": func(a *ClassAttrs, v config.Value) error { return setF(&a.PostClusterThreshold, v, 0, 1) },
	"nms-iou-threshold":      func(a *ClassAttrs, v config.Value) error { return setF(&a.NMSIoUThreshold, v, 0, 1) },
	"topk":                   func(a *ClassAttrs, v config.Value) error { return setI(&a.TopK, v, -1, math.MaxInt32) },
	"eps":                    func(a *ClassAttrs, v config.Value) error { return setF(&a.Eps, v, 0, 1) },
	"minBoxes":               func(a *ClassAttrs, v config.Value) error { return setI(&a.MinBoxes, v, 0, math.MaxInt32) },
	"dbscan-min-score":       func(a *ClassAttrs, v config.Value) error { return setF(&a.DBSCANMinScore, v, 0, 1e9) },
	"group-threshold":        func(a *ClassAttrs, v config.Value) error { return setI(&a.GroupThreshold, v, 0, math.MaxInt32) },
	"roi-top-offset":         func(a *ClassAttrs, v config.Value) error { return setI(&a.ROITopOffset, v, 0, maxDim) },
	"roi-bottom-offset":      func(a *ClassAttrs, v config.Value) error { return setI(&a.ROIBottomOffset, v, 0, maxDim) },
	"detected-min-w":         func(a *ClassAttrs, v config.Value) error { return setI(&a.DetectedMinW, v, 0, maxDim) },
	"detected-min-h":         func(a *ClassAttrs, v config.Value) error { return setI(&a.DetectedMinH, v, 0, maxDim) },
	"detected-max-w":         func(a *ClassAttrs, v config.Value) error { return setI(&a.DetectedMaxW, v, 0, maxDim) },
	"detected-max-h":         func(a *ClassAttrs, v config.Value) error { return setI(&a.DetectedMaxH, v, 0, maxDim) },
	"border-color":           nil, // OSD colours: accepted, not used yet
	"bg-color":               nil,
}

func setF(dst *float32, v config.Value, lo, hi float64) error {
	f, err := v.FloatIn(lo, hi)
	*dst = float32(f)
	return err
}

func setI(dst *int, v config.Value, lo, hi int) error {
	i, err := v.IntIn(lo, hi)
	*dst = i
	return err
}

func (a *ClassAttrs) apply(c *Config, s *config.Section, unknown *config.Unknown) error {
	for _, v := range s.Values {
		set, ok := classKeys[v.Key]
		if !ok {
			if err := unknown.Key(v, config.Keys(classKeys)); err != nil {
				return err
			}
			continue
		}
		if set == nil {
			c.Ignored = append(c.Ignored, s.Name+"/"+v.Key)
			continue
		}
		if err := set(a, v); err != nil {
			return err
		}
	}
	return nil
}

// PropertyKeys lists the [property] keys: used, then ignored, for docs.
func PropertyKeys() (used, ignored []string) {
	for k, v := range propertyKeys {
		if v.ignored {
			ignored = append(ignored, k)
		} else {
			used = append(used, k)
		}
	}
	sort.Strings(used)
	sort.Strings(ignored)
	return used, ignored
}

// KeyDoc is one config key for the compatibility table (docs/deepstream.md).
type KeyDoc struct {
	Group, Key string
	Effect     bool   // false: accepted with no effect
	Doc        string // what it does, or why it has no effect
}

// KeyDocs lists the [property] and class-attrs keys, sorted.
func KeyDocs() []KeyDoc {
	var out []KeyDoc
	for k, v := range propertyKeys {
		out = append(out, KeyDoc{Group: "property", Key: k, Effect: !v.ignored, Doc: v.doc})
	}
	for k := range classKeys {
		out = append(out, KeyDoc{Group: "class-attrs-all / class-attrs-<id>", Key: k, Effect: true})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group > out[j].Group // property first
		}
		return out[i].Key < out[j].Key
	})
	return out
}
