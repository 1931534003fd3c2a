package infer

import (
	"errors"
	"fmt"
	"os"
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

	GPUID                   int
	NetScaleFactor          float32
	Offsets                 []float32 // per model channel, in model channel order
	ModelColorFormat        int       // 0 RGB, 1 BGR, 2 GRAY
	ONNXFile                string    // resolved path
	LabelFile               string    // resolved path, "" if none
	BatchSize               int
	NetworkType             int
	ProcessMode             int // 1 primary (frames), 2 secondary (objects)
	Interval                int // batches skipped between inferences
	UniqueID                int // gie-unique-id
	OperateOnGIEID          int // -1: objects of any element
	OperateOnClassIDs       []int
	FilterOutClassIDs       []int
	NumDetectedClasses      int
	ClusterMode             int
	MaintainAspectRatio     bool
	SymmetricPadding        bool
	InferDims               []int // C, H, W; nil: from the model
	InputOrder              int   // 0 NCHW, 1 NHWC
	OutputBlobNames         []string
	ParseBboxFuncName       string
	ParseClassifierFuncName string
	// Segmentation (network-type 2) and instance segmentation (3).
	SegmentationThreshold     float32 // a pixel's class needs more than this probability
	SegmentationOutputOrder   int     // 0 [C,H,W], 1 [H,W,C]
	ParseSegmentationFuncName string
	ParseInstanceMaskFuncName string // parse-bbox-instance-mask-func-name
	OutputInstanceMask        bool
	InputTensorMeta           bool   // infer on nvdspreprocess's regions
	CustomLib                 string // custom-lib-path, resolved: named in errors, never loaded
	OutputTensorMeta          bool
	ClassifierThreshold       float32
	ClassifierSoftmax         bool // the outputs are logits (classifier-softmax)
	ClassifierType            string
	ScalingFilter             int // NvBufSurfTransform_Inter: 0 and 6 (default) nearest, 1 bilinear, 2..5 bilinear here
	ScalingComputeHW          int // 0 the GPU's kernel when it can run (else the CPU), 1 the GPU or an error, 2 (VIC, Jetson's) as 0
	InputObjectMinW           int
	InputObjectMinH           int
	InputObjectMaxW           int // 0: no limit
	InputObjectMaxH           int

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
	// Unknown are the warnings about unknown groups and keys (each naming
	// file, line and key, with the closest known name), when not strict.
	Unknown []string
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

// Why a config is refused, for errors.Is: each error says more, naming
// the file, line and key.
var (
	// ErrModelMissing: the model file named, or its labels file, does
	// not exist. These are checked last: the rest of the config is good.
	ErrModelMissing = config.ErrMissingFile
	// ErrTensorRTOnly: the config gives only a model ONNX Runtime cannot
	// run (a TensorRT engine, a TAO .etlt, UFF, Caffe).
	ErrTensorRTOnly = errors.New("no ONNX model")
	// ErrTriton: a Triton Inference Server (nvinferserver) config.
	ErrTriton = errors.New("Triton config")
	// ErrCParser: the config names an output parser of a C library
	// (custom-lib-path) that vidflow does not have as a Go parser.
	ErrCParser = errors.New("C parser")
)

// LoadConfig reads an nvinfer config file, YAML or INI (see package
// config), checks every key and value, and resolves the file paths in it.
// Errors name the file, line and key. Unknown groups and keys are
// warnings (Config.Unknown), as in DeepStream; errors when
// VIDFLOW_STRICT_CONFIG is set (config.StrictEnv) or with LoadStrict.
func LoadConfig(path string) (*Config, error) {
	return load(path, config.StrictFromEnv())
}

// LoadStrict is LoadConfig with unknown groups and keys as errors.
func LoadStrict(path string) (*Config, error) { return load(path, true) }

func load(path string, strict bool) (*Config, error) {
	data, err := config.ReadFile(path, config.MaxFileSize)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %q does not exist", path)
		}
		return nil, fmt.Errorf("config file %q: %w", path, err)
	}
	return parseData(path, data, strict)
}

// ParseConfig is LoadConfig of data, the contents of the file path: path
// tells the form (see LoadConfig), is named in errors, and relative paths
// in the file are resolved against its folder.
func ParseConfig(path string, data []byte) (*Config, error) {
	return parseData(path, data, config.StrictFromEnv())
}

func parseData(path string, data []byte, strict bool) (*Config, error) {
	if isTriton(data) {
		return nil, &config.Error{File: path, Err: config.Reason(ErrTriton, "this is an nvinferserver (Triton Inference Server) config, which vidflow cannot run; "+
			"write an nvinfer config ([property] with onnx-file) for the model's ONNX export")}
	}
	f, err := config.Parse(path, data)
	if err != nil {
		return nil, err
	}
	return fromFile(f, strict)
}

// isTriton tells nvinferserver's protobuf text ("infer_config { ... }")
// before it is read as INI, which would only say the first line is not
// "key=value".
func isTriton(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		return strings.HasPrefix(line, "infer_config") || strings.HasPrefix(line, "input_control") || strings.HasPrefix(line, "output_control")
	}
	return false
}

// FromFile interprets a parsed config file (unknown keys as LoadConfig).
func FromFile(f *config.File) (*Config, error) { return fromFile(f, config.StrictFromEnv()) }

func fromFile(f *config.File, strict bool) (*Config, error) {
	c := DefaultConfig()
	c.File = f.Path
	unknown := &config.Unknown{Strict: strict}
	prop := f.Section("property")
	if prop == nil {
		return nil, f.Errorf("no [property] group (YAML: property:)")
	}
	var classGroups []*config.Section
	for _, s := range f.Sections {
		switch {
		case s.Name == "property", s.Name == "class-attrs-all":
		case strings.HasPrefix(s.Name, "class-attrs-"):
			if id, err := strconv.Atoi(strings.TrimPrefix(s.Name, "class-attrs-")); err != nil || id < 0 {
				return nil, s.Errorf(f.Path, "unknown group: want class-attrs-all or class-attrs-<class id>")
			}
			classGroups = append(classGroups, s)
		default:
			if err := unknown.Group(f.Path, s, "property, class-attrs-all, class-attrs-<class id>"); err != nil {
				return nil, err
			}
		}
	}
	known := config.Keys(propertyKeys)
	for _, v := range prop.Values {
		k, ok := propertyKeys[v.Key]
		if !ok {
			if err := unknown.Key(v, known); err != nil {
				return nil, err
			}
			continue
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
		if err := c.ClassAttrs.apply(c, s, unknown); err != nil {
			return nil, err
		}
	}
	for _, s := range classGroups {
		id, _ := strconv.Atoi(strings.TrimPrefix(s.Name, "class-attrs-"))
		a := c.ClassAttrs
		if err := a.apply(c, s, unknown); err != nil {
			return nil, err
		}
		c.PerClass[id] = a
	}
	c.Unknown = unknown.Warnings
	return c, c.check(f)
}

// check verifies what single keys cannot: required keys and combinations.
// The model file's existence is checked last, so that a config whose
// model is elsewhere is checked whole first.
func (c *Config) check(f *config.File) error {
	if c.ONNXFile == "" {
		for _, m := range nonONNX {
			if c.Given(m.key) {
				return c.keyError("onnx-file", "%w", config.Reason(ErrTensorRTOnly, "missing: vidflow runs ONNX models with ONNX Runtime, and %s is %s; %s",
					m.key, m.what, m.todo))
			}
		}
		return c.keyError("onnx-file", "missing: the ONNX model to run")
	}
	channels := 3
	if c.ModelColorFormat == 2 {
		channels = 1
	}
	if c.Offsets != nil && len(c.Offsets) != channels {
		return c.keyError("offsets", "%d values for a %d-channel model-color-format (want %d)", len(c.Offsets), channels, channels)
	}
	if c.InferDims != nil && c.InferDims[0] != channels {
		return c.keyError(c.dimsKey(), "%d channels, but model-color-format %d has %d", c.InferDims[0], c.ModelColorFormat, channels)
	}
	if err := c.checkNetwork(); err != nil {
		return err
	}
	if c.ExecutionProvider != "cpu" && c.ExecutionProvider != "cuda" && c.ExecutionProvider != "auto" {
		return c.keyError("execution-provider", "%q is not cpu, cuda or auto", c.ExecutionProvider)
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
	if _, err := os.Stat(c.ONNXFile); err != nil {
		return c.keyError("onnx-file", "%w", config.Reason(ErrModelMissing, "model file %q does not exist (export the model to ONNX and name it here)", c.ONNXFile))
	}
	if c.LabelFile != "" {
		if _, err := os.Stat(c.LabelFile); err != nil {
			return c.keyError("labelfile-path", "%w", config.Reason(ErrModelMissing, "labels file %q does not exist", c.LabelFile))
		}
	}
	return nil
}

// nonONNX are the model keys of configs without onnx-file, in the order
// their refusal names them: what each is, and what to give instead.
var nonONNX = []struct{ key, what, todo string }{
	{"tlt-encoded-model", "a TAO .etlt model (encrypted, for TensorRT)", "give the model's ONNX export (TAO exports ONNX; NGC has ONNX versions of most TAO models) as onnx-file"},
	{"custom-network-config", "a network a C library builds for TensorRT (a Darknet .cfg)", "export the model to ONNX and give it as onnx-file"},
	{"uff-file", "a UFF model (TensorRT only)", "export the model to ONNX and give it as onnx-file"},
	{"model-file", "a Caffe model", "convert it to ONNX and give it as onnx-file"},
	{"model-engine-file", "a TensorRT engine", "give the ONNX file the engine was built from as onnx-file"},
}

// dimsKey is the key that gave the input dimensions, for errors.
func (c *Config) dimsKey() string {
	for _, k := range []string{"infer-dims", "input-dims", "uff-input-dims"} {
		if c.Given(k) {
			return k
		}
	}
	return "infer-dims"
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
