package infer

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
)

// Network types (network-type).
const (
	NetworkDetector     = 0
	NetworkClassifier   = 1
	NetworkSegmentation = 2
	NetworkInstanceSeg  = 3
	NetworkOther        = 100 // no parsing: output-tensor-meta only
)

// Cluster modes (cluster-mode).
const (
	ClusterGroupRectangles = 0 // needs OpenCV in DeepStream: NMS here, as DeepStream builds without OpenCV do
	ClusterDBSCAN          = 1
	ClusterNMS             = 2
	ClusterDBSCANNMS       = 3
	ClusterNone            = 4
)

// Config is an nvinfer configuration: the keys of the [property] group and
// the per-class attributes, with DeepStream's defaults (see
// DefaultConfig). docs/infer.md lists every key.
type Config struct {
	File string // the config file it was read from

	GPUID               int
	NetScaleFactor      float32
	Offsets             []float32 // per model channel, in model channel order
	ModelColorFormat    int       // 0 RGB, 1 BGR, 2 GRAY
	ONNXFile            string    // resolved path
	LabelFile           string    // resolved path, "" if none
	BatchSize           int
	NetworkType         int
	ProcessMode         int // 1 primary (frames), 2 secondary (objects)
	Interval            int // batches skipped between inferences
	UniqueID            int // gie-unique-id
	OperateOnGIEID      int // -1: objects of any element
	OperateOnClassIDs   []int
	FilterOutClassIDs   []int
	NumDetectedClasses  int
	ClusterMode         int
	MaintainAspectRatio bool
	SymmetricPadding    bool
	InferDims           []int // C, H, W; nil: from the model
	InputOrder          int   // 0 NCHW, 1 NHWC
	OutputBlobNames     []string
	ParseBboxFuncName   string
	OutputTensorMeta    bool
	ClassifierThreshold float32
	ClassifierType      string
	ScalingFilter       int // NvBufSurfTransform_Inter: 0 and 6 (default) nearest, 1 bilinear, 2..5 bilinear here
	ScalingComputeHW    int // 0 the GPU's kernel when it can run (else the CPU), 1 the GPU or an error, 2 (VIC, Jetson's) as 0
	InputObjectMinW     int
	InputObjectMinH     int
	InputObjectMaxW     int // 0: no limit
	InputObjectMaxH     int

	// vidflow's own keys.
	ExecutionProvider string            // "cpu" (default), "cuda" (required) or "auto" (CUDA when usable, else CPU)
	CUDAOptions       map[string]string // CUDA execution provider options (cuda-options)
	IntraOpThreads    int               // 0: ONNX Runtime's default (one per core)

	// ClassAttrs are class-attrs-all's values; PerClass the complete
	// attributes of each class-attrs-<id> group (class-attrs-all's values
	// overridden by the group's keys).
	ClassAttrs ClassAttrs
	PerClass   map[int]ClassAttrs

	// Ignored lists the keys given that have no effect here, "group/key".
	Ignored []string
	// Notes are remarks about the configuration to report once as
	// warnings (a cluster mode replaced, ...).
	Notes []string

	given map[string]config.Value // [property] keys given
}

// ClassAttrs are the per-class detector attributes.
type ClassAttrs struct {
	PreClusterThreshold  float32
	PostClusterThreshold float32
	NMSIoUThreshold      float32
	TopK                 int // -1: keep all
	Eps                  float32
	MinBoxes             int
	DBSCANMinScore       float32
	GroupThreshold       int
	ROITopOffset         int
	ROIBottomOffset      int
	DetectedMinW         int
	DetectedMinH         int
	DetectedMaxW         int // 0: no limit
	DetectedMaxH         int
}

// DefaultConfig returns DeepStream's defaults.
func DefaultConfig() *Config {
	return &Config{
		NetScaleFactor:    1,
		BatchSize:         1,
		ProcessMode:       1,
		UniqueID:          15,
		OperateOnGIEID:    -1,
		ScalingFilter:     0,
		ClassAttrs:        DefaultClassAttrs(),
		PerClass:          map[int]ClassAttrs{},
		ClusterMode:       ClusterGroupRectangles,
		ExecutionProvider: "cpu",
		given:             map[string]config.Value{},
	}
}

// DefaultClassAttrs are DeepStream's per-class defaults.
func DefaultClassAttrs() ClassAttrs {
	return ClassAttrs{PreClusterThreshold: 0.2, NMSIoUThreshold: 0.3, TopK: -1}
}

// Class returns the attributes of a class.
func (c *Config) Class(id int) *ClassAttrs {
	if a, ok := c.PerClass[id]; ok {
		return &a
	}
	return &c.ClassAttrs
}

// Given reports whether a [property] key was set in the file.
func (c *Config) Given(key string) bool { _, ok := c.given[key]; return ok }

// LoadConfig reads an nvinfer config file, YAML or INI (see package
// config), checks every key and value, and resolves the file paths in it.
// Unknown groups and keys are errors naming the file and the key.
func LoadConfig(path string) (*Config, error) {
	data, err := config.ReadFile(path, config.MaxFileSize)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %q does not exist", path)
		}
		return nil, fmt.Errorf("config file %q: %w", path, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig is LoadConfig of data, the contents of the file path: path
// tells the form (see LoadConfig), is named in errors, and relative paths
// in the file are resolved against its folder.
func ParseConfig(path string, data []byte) (*Config, error) {
	f, err := config.Parse(path, data)
	if err != nil {
		return nil, err
	}
	return FromFile(f)
}

// FromFile interprets a parsed config file.
func FromFile(f *config.File) (*Config, error) {
	c := DefaultConfig()
	c.File = f.Path
	prop := f.Section("property")
	if prop == nil {
		return nil, f.Errorf("no [property] group (YAML: property:)")
	}
	for _, s := range f.Sections {
		switch {
		case s.Name == "property", s.Name == "class-attrs-all":
		case strings.HasPrefix(s.Name, "class-attrs-"):
			if id, err := strconv.Atoi(strings.TrimPrefix(s.Name, "class-attrs-")); err != nil || id < 0 {
				return nil, s.Errorf(f.Path, "unknown group: want class-attrs-all or class-attrs-<class id>")
			}
		default:
			return nil, s.Errorf(f.Path, "unknown group (known: property, class-attrs-all, class-attrs-<class id>)")
		}
	}
	for _, v := range prop.Values {
		k, ok := propertyKeys[v.Key]
		if !ok {
			return nil, v.Errorf("unknown key%s", suggest(v.Key, propertyKeys))
		}
		if k.ignored {
			c.Ignored = append(c.Ignored, "property/"+v.Key)
		}
		c.given[v.Key] = v
		if k.set != nil {
			if err := k.set(c, v); err != nil {
				return nil, err
			}
		}
	}
	if s := f.Section("class-attrs-all"); s != nil {
		if err := c.ClassAttrs.apply(c, s); err != nil {
			return nil, err
		}
	}
	for _, s := range f.Sections {
		if !strings.HasPrefix(s.Name, "class-attrs-") || s.Name == "class-attrs-all" {
			continue
		}
		id, _ := strconv.Atoi(strings.TrimPrefix(s.Name, "class-attrs-"))
		a := c.ClassAttrs
		if err := a.apply(c, s); err != nil {
			return nil, err
		}
		c.PerClass[id] = a
	}
	return c, c.check(f)
}

// check verifies what single keys cannot: required keys and combinations.
func (c *Config) check(f *config.File) error {
	keyErr := func(key, format string, args ...any) error {
		if v, ok := c.given[key]; ok {
			return v.Errorf(format, args...)
		}
		return &config.Error{File: f.Path, Section: "property", Key: key, Err: fmt.Errorf(format, args...)}
	}
	if c.ONNXFile == "" {
		for _, k := range []string{"model-engine-file", "tlt-encoded-model", "uff-file", "model-file", "custom-network-config"} {
			if c.Given(k) {
				return keyErr("onnx-file", "missing: vidflow runs ONNX models only (%s is for TensorRT); give the ONNX file the engine was built from", k)
			}
		}
		return keyErr("onnx-file", "missing: the ONNX model to run")
	}
	if _, err := os.Stat(c.ONNXFile); err != nil {
		return keyErr("onnx-file", "model file %q does not exist", c.ONNXFile)
	}
	if c.LabelFile != "" {
		if _, err := os.Stat(c.LabelFile); err != nil {
			return keyErr("labelfile-path", "labels file %q does not exist", c.LabelFile)
		}
	}
	channels := 3
	if c.ModelColorFormat == 2 {
		channels = 1
	}
	if c.Offsets != nil && len(c.Offsets) != channels {
		return keyErr("offsets", "%d values for a %d-channel model-color-format (want %d)", len(c.Offsets), channels, channels)
	}
	if c.InferDims != nil && c.InferDims[0] != channels {
		return keyErr("infer-dims", "%d channels, but model-color-format %d has %d", c.InferDims[0], c.ModelColorFormat, channels)
	}
	switch c.NetworkType {
	case NetworkSegmentation, NetworkInstanceSeg:
		return keyErr("network-type", "%d (segmentation) is not supported yet: use network-type 100 with output-tensor-meta and read the masks in a probe", c.NetworkType)
	}
	if c.ExecutionProvider != "cpu" && c.ExecutionProvider != "cuda" && c.ExecutionProvider != "auto" {
		return keyErr("execution-provider", "%q is not cpu, cuda or auto", c.ExecutionProvider)
	}
	if c.ClusterMode == ClusterGroupRectangles && c.NetworkType == NetworkDetector {
		// DeepStream (built without OpenCV, as it ships) does the same.
		c.ClusterMode = ClusterNMS
		c.ClassAttrs.TopK, c.ClassAttrs.NMSIoUThreshold = 20, 0.5
		for id, a := range c.PerClass {
			a.TopK, a.NMSIoUThreshold = 20, 0.5
			c.PerClass[id] = a
		}
		c.Notes = append(c.Notes, "cluster-mode 0 (OpenCV groupRectangles) is replaced by NMS with topk 20 and nms-iou-threshold 0.5, as in DeepStream; set cluster-mode 2 to choose them")
	}
	return nil
}

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
	"classifier-threshold":    floatKey(func(c *Config) *float32 { return &c.ClassifierThreshold }, 0, 1, "minimum probability of a classifier result"),
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
	"infer-dims": {doc: "C;H;W of the input (needed for dynamic-shape models)", set: func(c *Config, v config.Value) error {
		d, err := v.Ints()
		if err != nil {
			return err
		}
		if len(d) != 3 || d[0] <= 0 || d[1] <= 0 || d[2] <= 0 || d[1] > maxDim || d[2] > maxDim {
			return v.Errorf("want three positive numbers C;H;W, got %q", v.Text)
		}
		c.InferDims = d
		return nil
	}},
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
	"custom-lib-path":                    ignoredKey("C parser libraries cannot be loaded: register a Go parser"),
	"engine-create-func-name":            ignoredKey("TensorRT engine builder"),
	"workspace-size":                     ignoredKey("TensorRT workspace"),
	"enable-dla":                         ignoredKey("DLA"),
	"use-dla-core":                       ignoredKey("DLA"),
	"tensor-meta-pool-size":              ignoredKey("tensor metadata is not pooled"),
	"classifier-async-mode":              ignoredKey("classifiers run in line"),
	"secondary-reinfer-interval":         ignoredKey("objects are classified on every inferred frame"),
	"mean-file":                          ignoredKey("not supported: use offsets"),
	"input-tensor-meta":                  ignoredKey("nvdspreprocess tensors are not consumed"),
	"input-tensor-from-meta":             ignoredKey("nvdspreprocess tensors are not consumed"),
	"output-instance-mask":               ignoredKey("instance segmentation is not supported"),
	"parse-bbox-instance-mask-func-name": ignoredKey("instance segmentation is not supported"),
	"parse-classifier-func-name":         ignoredKey("the built-in classifier parser is used"),
	"parse-segmentation-func-name":       ignoredKey("segmentation is not supported"),
	"segmentation-threshold":             ignoredKey("segmentation is not supported"),
	"segmentation-output-order":          ignoredKey("segmentation is not supported"),
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
}

// classKeys are the keys of class-attrs-all and class-attrs-<id>.
var classKeys = map[string]func(a *ClassAttrs, v config.Value) error{
	"pre-cluster-threshold":  func(a *ClassAttrs, v config.Value) error { return setF(&a.PreClusterThreshold, v, 0, 1) },
	"threshold":              func(a *ClassAttrs, v config.Value) error { return setF(&a.PreClusterThreshold, v, 0, 1) },
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

func (a *ClassAttrs) apply(c *Config, s *config.Section) error {
	for _, v := range s.Values {
		set, ok := classKeys[v.Key]
		if !ok {
			if v.Key == "min-boxes" {
				return v.Errorf("unknown key: DeepStream spells it minBoxes")
			}
			return v.Errorf("unknown key%s", suggest(v.Key, classKeys))
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

// suggest names the closest known key, for typos.
func suggest[V any](k string, known map[string]V) string {
	best, bestD := "", 4
	for name := range known {
		if d := editDistance(k, name); d < bestD {
			best, bestD = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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

// ReadLabels reads a labels file: one label a line, or one line of
// ";"-separated labels (a classifier's file has one such line per output
// layer). It returns the labels of each line with more than one, or a
// single list of every line's label.
// The file is read bounded (config.ReadFile): labelfile-path may name
// anything, /dev/zero included.
func ReadLabels(path string) ([][]string, error) {
	data, err := config.ReadFile(path, config.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("labels %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("labels file %q is empty", path)
	}
	multi := false
	for _, l := range lines {
		if len(config.SplitList(l)) > 1 {
			multi = true
		}
	}
	if !multi {
		return [][]string{lines}, nil
	}
	out := make([][]string, len(lines))
	for i, l := range lines {
		out[i] = config.SplitList(l)
	}
	return out, nil
}
