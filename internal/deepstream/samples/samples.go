// Package samples runs DeepStream's own sample configuration files through
// the loaders a vidflow user would use, and says what became of each: it
// loaded, or it was refused for a reason that is true and says what to do
// (a TensorRT engine or TAO .etlt model, a C parser library, a Triton
// config). Its tests hold a committed set of NVIDIA's files (testdata/);
// run over a whole checked-out corpus with
//
//	VIDFLOW_DS_CORPUS=/path/to/checkouts go test -run Corpus -v ./internal/deepstream/samples
package samples

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/deepstream"
	"github.com/vidflow/vidflow/internal/dsapp"
	"github.com/vidflow/vidflow/internal/dsgraph"
	"github.com/vidflow/vidflow/internal/elements/analytics"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/elements/preprocess"
	"github.com/vidflow/vidflow/internal/elements/publish"
	"github.com/vidflow/vidflow/internal/elements/track"
	"github.com/vidflow/vidflow/internal/msgconv"
)

// Kinds of file, by what reads them.
const (
	KindInfer       = "nvinfer"
	KindTriton      = "nvinferserver"
	KindTracker     = "tracker"     // NvMultiObjectTracker YAML (ll-config-file)
	KindTrackerINI  = "tracker-ini" // an app's [tracker] group of nvtracker properties
	KindAnalytics   = "nvdsanalytics"
	KindMsgconv     = "nvmsgconv"
	KindBroker      = "msgbroker" // nvmsgbroker's cfg_*.txt ([message-broker])
	KindPreprocess  = "nvdspreprocess"
	KindSourceList  = "source-list"
	KindApp         = "deepstream-app" // deepstream-app or Service Maker pipeline configs: read elsewhere
	KindOther       = "other-element"  // nvdspostprocess, nvdsvideotemplate, nvdsmetamux: no such element
	KindNotDSConfig = ""               // not a DeepStream element config (TAO training specs, ...)
)

// Outcomes of a load.
const (
	Loaded       = "loaded"        // every key and value accepted
	FileAbsent   = "file-absent"   // accepted; a file it names (model, labels, tracker config) is not in the checkout
	NeedTensorRT = "need-tensorrt" // refused: the config gives only a TensorRT engine, .etlt, UFF or Caffe model
	NeedTriton   = "need-triton"   // refused: Triton Inference Server config
	NeedCLib     = "need-c-lib"    // refused: a parser of a C library vidflow does not have
	NoElement    = "no-element"    // refused: the config of an element vidflow does not have (nvdspreprocess, nvdspostprocess, ...)
	Skipped      = "skipped"       // not read here (deepstream-app configs, non-configs)
	Failed       = "failed"        // any other error: a bug unless the file is wrong
)

// Result is what became of one file.
type Result struct {
	Path     string
	Kind     string
	Outcome  string
	Err      error    // the refusal or failure
	Warnings []string // keys accepted with a warning (no effect, unknown)
}

func (r Result) String() string {
	s := fmt.Sprintf("%-14s %-13s %s", r.Outcome, r.Kind, r.Path)
	if r.Err != nil {
		s += "\n    " + r.Err.Error()
	}
	return s
}

var (
	groupRE = regexp.MustCompile(`(?m)^\s*\[([^\]]+)\]`)
	yamlTop = regexp.MustCompile(`(?m)^([A-Za-z][\w-]*):`)
	// tritonRE finds nvinferserver's infer_config block.
	tritonRE = regexp.MustCompile(`(?m)^\s*infer_config\s*[{:]`)
)

// Classify tells which loader reads a file, from its content.
func Classify(path string, data []byte) string {
	text := string(data)
	// nvinferserver's infer_config as a key (prototxt or YAML): not a
	// key that merely contains the word (Inference Builder's
	// infer_config_path).
	if tritonRE.Match(data) {
		return KindTriton
	}
	groups := map[string]bool{}
	if config.IsYAML(path) {
		for _, m := range yamlTop.FindAllStringSubmatch(text, -1) {
			groups[m[1]] = true
		}
	} else {
		for _, m := range groupRE.FindAllStringSubmatch(text, -1) {
			groups[strings.TrimSpace(m[1])] = true
		}
	}
	// Configs of elements vidflow does not read files for (nvdspostprocess,
	// nvdsvideotemplate) look like nvinfer's: their names tell them.
	base := strings.ToLower(filepath.Base(path))
	for _, other := range []string{"post_process", "postprocess", "videotemplate", "metamux"} {
		if strings.Contains(base, other) {
			return KindOther
		}
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if groups[n] {
				return true
			}
		}
		return false
	}
	anyPrefix := func(prefixes ...string) bool {
		for g := range groups {
			for _, p := range prefixes {
				if strings.HasPrefix(g, p) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("application", "source0", "primary-gie", "deepstream", "source", "streammux", "osd", "tiled-display") &&
		!has("property") || has("application", "deepstream") || has("name") && has("models"):
		return KindApp
	case has("source-list", "source-config") && onlyGroups(groups, "source-list", "source-config", "camera-list"):
		return KindSourceList
	case has("source-list", "source-config") && !has("property"):
		return KindApp // an app's YAML with its sources in it
	case has("BaseConfig", "TargetManagement", "StateEstimator", "DataAssociator", "VisualTracker", "ReID", "TrajectoryManagement", "NvDCF", "IOUTracker", "DeepSORT",
		"ObjectModelProjection", "PoseEstimator", "MultiViewAssociator", "Communicator", "Segmenter"):
		return KindTracker
	case has("tracker") && !has("property"):
		return KindTrackerINI
	case has("message-broker"):
		return KindBroker
	case anyPrefix("sensor", "place", "analytics") && !has("property"):
		return KindMsgconv
	case anyPrefix("roi-filtering-stream-", "overcrowding-stream-", "line-crossing-stream-", "direction-detection-stream-"):
		return KindAnalytics
	case anyPrefix("group-") && has("property"), has("user-configs") && has("property"):
		return KindPreprocess
	case has("property"):
		if strings.Contains(text, "processing-width") || strings.Contains(text, "target-unique-ids") {
			return KindPreprocess
		}
		if strings.Contains(text, "config-width") && !strings.Contains(text, "gie-unique-id") {
			return KindAnalytics
		}
		return KindInfer
	}
	return KindNotDSConfig
}

// Load reads one file with the loader of its kind.
func Load(path string, data []byte) Result {
	r := Result{Path: path, Kind: Classify(path, data)}
	var err error
	switch r.Kind {
	case KindInfer:
		var c *infer.Config
		c, err = infer.ParseConfig(path, data)
		if c != nil {
			r.Warnings = append(append(r.Warnings, c.Unknown...), c.Ignored...)
		}
	case KindTriton:
		_, err = infer.ParseConfig(path, data)
	case KindTracker:
		var c *track.Config
		c, err = track.ParseConfig(path, data)
		if c != nil {
			r.Warnings = append(append(r.Warnings, c.Unknown...), c.Ignored...)
		}
	case KindTrackerINI:
		_, err = track.ParsePropertiesFile(path, data)
	case KindAnalytics:
		_, err = analytics.ParseConfig(path, data)
	case KindMsgconv:
		_, err = msgconv.ParseConfig(path, data)
	case KindSourceList:
		_, err = deepstream.ParseSourceList(path, data)
	case KindBroker:
		var b *publish.BrokerConfig
		b, err = publish.ParseBrokerConfig(path, data)
		if b != nil {
			r.Warnings = append(append(r.Warnings, b.Unknown...), b.Ignored...)
		}
	case KindPreprocess:
		var c *preprocess.Config
		c, err = preprocess.ParseConfig(path, data)
		if c != nil {
			r.Warnings = append(r.Warnings, c.Unknown...)
		}
	case KindOther:
		err = noElement(path, r.Kind)
	case KindApp:
		if err = loadApp(path, data); errors.Is(err, errAppSpecific) {
			r.Outcome, r.Err = Skipped, err
			return r
		}
	default:
		r.Outcome = Skipped
		return r
	}
	r.Err = err
	r.Outcome = outcome(err)
	return r
}

func outcome(err error) string {
	switch {
	case err == nil:
		return Loaded
	case errors.Is(err, config.ErrMissingFile):
		return FileAbsent
	case errors.Is(err, infer.ErrTensorRTOnly):
		return NeedTensorRT
	case errors.Is(err, infer.ErrTriton):
		return NeedTriton
	case errors.Is(err, infer.ErrCParser):
		return NeedCLib
	case errors.Is(err, ErrNoElement):
		return NoElement
	}
	return Failed
}

// Rel is path relative to root, with "/" separators, for reports.
func Rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return filepath.ToSlash(r)
	}
	return path
}

// onlyGroups reports whether every group is one of names.
func onlyGroups(groups map[string]bool, names ...string) bool {
	for g := range groups {
		found := false
		for _, n := range names {
			found = found || g == n
		}
		if !found {
			return false
		}
	}
	return true
}

// ErrNoElement marks the config of a DeepStream element that vidflow does
// not have.
var ErrNoElement = errors.New("no such element")

// noElement says which element a config is for and what to do instead.
func noElement(path, kind string) error {
	what := "an nvdspostprocess, nvdsvideotemplate or nvdsmetamux config: vidflow has none of these elements " +
		"(nvinfer's built-in parsers, parse-bbox-func-name, do nvdspostprocess's work; docs/deepstream.md says what to use for the others)"
	return fmt.Errorf("%s: %w: %s", path, ErrNoElement, what)
}

// errAppSpecific marks the YAML configs of NVIDIA's sample applications
// that only their own C code reads (deepstream-lpr-app, the TAO apps'
// ds-tao-*): not a DeepStream file format; vidflow runs such an
// application as a Go port.
var errAppSpecific = errors.New("the config of a sample application's own code")

// loadApp reads an application config as vidflow would: a deepstream-app
// config with `vidflow app -c` (internal/dsapp), a Service Maker graph
// with `vidflow run -pipeline` (internal/dsgraph).
func loadApp(path string, data []byte) error {
	text := string(data)
	switch {
	case config.IsYAML(path) && regexp.MustCompile(`(?m)^deepstream:`).MatchString(text):
		_, err := dsgraph.Parse(path, data)
		return err
	case config.IsYAML(path) && !regexp.MustCompile(`(?m)^application:`).MatchString(text):
		return fmt.Errorf("%s: %w", path, errAppSpecific)
	}
	_, err := dsapp.Load(path)
	if errors.Is(err, dsapp.ErrOtherApp) { // deepstream-parallel-infer's YAML
		return fmt.Errorf("%w: %w", errAppSpecific, err)
	}
	return err
}
