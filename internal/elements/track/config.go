package track

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vidflow/vidflow/internal/config"
)

// Algorithms.
const (
	IOU       = "iou"       // greedy IoU matching, no motion model
	SORT      = "sort"      // Kalman filter + optimal (Hungarian) IoU matching
	ByteTrack = "bytetrack" // SORT + a second matching stage for low-score detections
)

// Algorithms lists the trackers by name.
var Algorithms = []string{IOU, SORT, ByteTrack}

// Config is a tracker's configuration: DeepStream's NvMultiObjectTracker
// parameters where they apply (the YAML names are in the comments), and
// vidflow's own. Preset gives each algorithm's defaults; LoadConfig
// overrides them from a DeepStream tracker YAML file.
type Config struct {
	// Algorithm is iou, sort or bytetrack.
	Algorithm string

	// BaseConfig.minDetectorConfidence: detections below are not tracked
	// (they keep TrackID -1).
	MinDetectorConfidence float64

	// TargetManagement.maxTargetsPerStream: tracks per stream, shadow ones included.
	MaxTargetsPerStream int
	// TargetManagement.minIouDiff4NewTarget: a detection overlapping an
	// existing track by more than this IoU does not start a track.
	MinIouDiff4NewTarget float64
	// TargetManagement.probationAge: matches after the first before a track
	// is confirmed and gets an id.
	ProbationAge int
	// TargetManagement.maxShadowTrackingAge: frames a confirmed track lives
	// without a match.
	MaxShadowTrackingAge int
	// TargetManagement.earlyTerminationAge: misses that end a track still on probation.
	EarlyTerminationAge int
	// TargetManagement.enableBboxUnClipping: predicted boxes may leave the
	// frame (else they are clipped to it).
	EnableBboxUnClipping bool
	// TargetManagement.outputShadowTracks: add tracks that missed their
	// detection as predicted objects (Confidence -0.1).
	OutputShadowTracks bool

	// TrajectoryManagement.useUniqueID: ids are SourceID<<32 | n, unique
	// across streams.
	UseUniqueID bool

	// DataAssociator.associationMatcherType 1 (cascaded): match confirmed
	// tracks with high-score detections first, then with the tentative
	// (low-score) ones, then tracks on probation with what is left.
	Cascaded bool
	// Optimal says whether matching is optimal (Hungarian) or greedy (best
	// pairs first, DeepStream's IOU tracker). Not in DeepStream's YAML.
	Optimal bool
	// DataAssociator.checkClassMatch: only match objects of the same class.
	CheckClassMatch bool
	// DataAssociator thresholds and weights of the matching score
	// wIou·IoU + wSize·sizeSimilarity; pairs must overlap (IoU > 0).
	MinMatchingScore4Overall           float64
	MinMatchingScore4SizeSimilarity    float64
	MinMatchingScore4Iou               float64
	MatchingScoreWeight4SizeSimilarity float64
	MatchingScoreWeight4Iou            float64
	// DataAssociator.tentativeDetectorConfidence: with Cascaded, detections
	// below are tentative: matched in the second stage, never starting tracks.
	TentativeDetectorConfidence float64
	// DataAssociator.minMatchingScore4TentativeIou: the IoU the second stage needs.
	MinMatchingScore4TentativeIou float64
	// DataAssociator.usePrediction4Assoc: match against predicted boxes
	// (else against the last matched ones).
	UsePrediction4Assoc bool

	// StateEstimator.stateEstimatorType: 0 none (boxes stay where last
	// seen), 1 and 3 Kalman with constant noise, 2 Kalman with noise
	// proportional to the box height.
	StateEstimatorType           int
	ProcessNoiseVar4Loc          float64
	ProcessNoiseVar4Size         float64
	ProcessNoiseVar4Vel          float64
	MeasurementNoiseVar4Detector float64
	NoiseWeightVar4Loc           float64
	NoiseWeightVar4Vel           float64

	// PredictOnEmpty treats a frame without objects as one the detector
	// did not run on (Infer with interval > 0): tracks are predicted, not
	// aged by misses, and confirmed ones are added as objects with
	// Confidence -0.1.
	PredictOnEmpty bool

	// Ignored lists the keys and sections the config file (LoadConfig)
	// gives that have no effect in vidflow, in file order, for a warning.
	Ignored []string
	// Unknown are warnings about the file's unknown sections and keys.
	Unknown []string

	// file is the config file's content, kept so that WithAlgorithm can
	// apply it over another algorithm's preset; nil for a Preset.
	file *configFile
}

// Preset returns the defaults of an algorithm.
func Preset(algorithm string) (Config, error) {
	c := Config{
		Algorithm:                     algorithm,
		MinDetectorConfidence:         0.3,
		MaxTargetsPerStream:           150,
		MinIouDiff4NewTarget:          0.5,
		ProbationAge:                  2,
		MaxShadowTrackingAge:          30,
		EarlyTerminationAge:           1,
		CheckClassMatch:               true,
		MinMatchingScore4Iou:          0.3,
		MatchingScoreWeight4Iou:       1,
		TentativeDetectorConfidence:   0.5,
		MinMatchingScore4TentativeIou: 0.5,
		UsePrediction4Assoc:           true,
		StateEstimatorType:            2,
		ProcessNoiseVar4Loc:           2,
		ProcessNoiseVar4Size:          1,
		ProcessNoiseVar4Vel:           0.1,
		MeasurementNoiseVar4Detector:  4,
		NoiseWeightVar4Loc:            0.05,
		NoiseWeightVar4Vel:            0.00625,
		PredictOnEmpty:                true,
	}
	switch algorithm {
	case IOU:
		c.StateEstimatorType = 0
	case SORT:
		c.Optimal = true
		c.MinIouDiff4NewTarget = 0.7
	case ByteTrack:
		c.Optimal = true
		c.Cascaded = true
		c.MinDetectorConfidence = 0.1
		c.MinIouDiff4NewTarget = 0.7
		c.MinMatchingScore4Iou = 0.2
	default:
		return Config{}, fmt.Errorf("unknown tracker %q (want %s)", algorithm, strings.Join(Algorithms, ", "))
	}
	return c, nil
}

// Validate checks the ranges of the values.
func (c *Config) Validate() error {
	unit := map[string]float64{
		"DataAssociator.minMatchingScore4Overall":           c.MinMatchingScore4Overall,
		"DataAssociator.minMatchingScore4SizeSimilarity":    c.MinMatchingScore4SizeSimilarity,
		"DataAssociator.minMatchingScore4Iou":               c.MinMatchingScore4Iou,
		"DataAssociator.matchingScoreWeight4SizeSimilarity": c.MatchingScoreWeight4SizeSimilarity,
		"DataAssociator.matchingScoreWeight4Iou":            c.MatchingScoreWeight4Iou,
		"DataAssociator.minMatchingScore4TentativeIou":      c.MinMatchingScore4TentativeIou,
		"TargetManagement.minIouDiff4NewTarget":             c.MinIouDiff4NewTarget,
	}
	keys := make([]string, 0, len(unit))
	for k := range unit {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := unit[k]; !(v >= 0 && v <= 1) {
			return fmt.Errorf("%s: %v out of range 0..1", k, v)
		}
	}
	switch {
	case c.Algorithm != IOU && c.Algorithm != SORT && c.Algorithm != ByteTrack:
		return fmt.Errorf("unknown tracker %q (want %s)", c.Algorithm, strings.Join(Algorithms, ", "))
	case math.IsNaN(c.MinDetectorConfidence) || math.IsNaN(c.TentativeDetectorConfidence):
		return fmt.Errorf("detector confidence thresholds must be numbers")
	case c.MaxTargetsPerStream < 1 || c.MaxTargetsPerStream > 65535:
		return fmt.Errorf("TargetManagement.maxTargetsPerStream: %d out of range 1..65535", c.MaxTargetsPerStream)
	case c.ProbationAge < 0 || c.MaxShadowTrackingAge < 0 || c.EarlyTerminationAge < 0:
		return fmt.Errorf("TargetManagement: probationAge, maxShadowTrackingAge and earlyTerminationAge must not be negative")
	case c.StateEstimatorType < 0 || c.StateEstimatorType > 3:
		return fmt.Errorf("StateEstimator.stateEstimatorType: %d out of range 0..3", c.StateEstimatorType)
	case c.StateEstimatorType == 2 && (c.NoiseWeightVar4Loc <= 0 || c.NoiseWeightVar4Vel <= 0):
		return fmt.Errorf("StateEstimator: stateEstimatorType 2 needs noiseWeightVar4Loc and noiseWeightVar4Vel > 0")
	case (c.StateEstimatorType == 1 || c.StateEstimatorType == 3) && (c.ProcessNoiseVar4Loc < 0 || c.ProcessNoiseVar4Size < 0 ||
		c.ProcessNoiseVar4Vel < 0 || c.MeasurementNoiseVar4Detector <= 0):
		return fmt.Errorf("StateEstimator: noise variances must not be negative and measurementNoiseVar4Detector must be positive")
	case c.MatchingScoreWeight4Iou+c.MatchingScoreWeight4SizeSimilarity <= 0:
		return fmt.Errorf("DataAssociator: matchingScoreWeight4Iou + matchingScoreWeight4SizeSimilarity must be positive")
	}
	return nil
}

// keyType is the type of a YAML value.
type keyType int

const (
	tInt keyType = iota
	tFloat
	tBool
	tString
)

func (t keyType) String() string {
	return [...]string{"an integer", "a number", "a boolean (0, 1, true, false)", "a string"}[t]
}

// key is a known key of a tracker YAML section: its type, and where its
// value goes (nil: accepted, no effect in vidflow).
type key struct {
	t   keyType
	set func(c *Config, v value)
}

type value struct {
	i int
	f float64
	b bool
}

func fl(p func(c *Config) *float64) key {
	return key{tFloat, func(c *Config, v value) { *p(c) = v.f }}
}
func in(p func(c *Config) *int) key  { return key{tInt, func(c *Config, v value) { *p(c) = v.i }} }
func bo(p func(c *Config) *bool) key { return key{tBool, func(c *Config, v value) { *p(c) = v.b }} }

var (
	unusedInt    = key{t: tInt}
	unusedFloat  = key{t: tFloat}
	unusedBool   = key{t: tBool}
	unusedString = key{t: tString}
)

// sections are the tracker YAML sections vidflow reads: every key
// DeepStream documents for them is known, the ones without a setter have
// no effect here.
var sections = map[string]map[string]key{
	"BaseConfig": {
		"minDetectorConfidence": fl(func(c *Config) *float64 { return &c.MinDetectorConfidence }),
	},
	"TargetManagement": {
		"preserveStreamUpdateOrder": unusedBool,
		"maxTargetsPerStream":       in(func(c *Config) *int { return &c.MaxTargetsPerStream }),
		"minIouDiff4NewTarget":      fl(func(c *Config) *float64 { return &c.MinIouDiff4NewTarget }),
		"minTrackerConfidence":      unusedFloat,
		"probationAge":              in(func(c *Config) *int { return &c.ProbationAge }),
		"maxShadowTrackingAge":      in(func(c *Config) *int { return &c.MaxShadowTrackingAge }),
		"earlyTerminationAge":       in(func(c *Config) *int { return &c.EarlyTerminationAge }),
		"enableBboxUnClipping":      bo(func(c *Config) *bool { return &c.EnableBboxUnClipping }),
		"outputTerminatedTracks":    unusedBool,
		"outputShadowTracks":        bo(func(c *Config) *bool { return &c.OutputShadowTracks }),
		"terminatedTrackFilename":   unusedString,
		"maxTrajectoryBufferLength": unusedInt, // DeepStream 8: past-frame trajectory length
	},
	"TrajectoryManagement": {
		"useUniqueID":                               bo(func(c *Config) *bool { return &c.UseUniqueID }),
		"enableReAssoc":                             unusedBool,
		"minMatchingScore4Overall":                  unusedFloat,
		"minTrackletMatchingScore":                  unusedFloat,
		"minMatchingScore4ReidSimilarity":           unusedFloat,
		"matchingScoreWeight4TrackletSimilarity":    unusedFloat,
		"matchingScoreWeight4ReidSimilarity":        unusedFloat,
		"minTrajectoryLength4Projection":            unusedInt,
		"prepLength4TrajectoryProjection":           unusedInt,
		"trajectoryProjectionLength":                unusedInt,
		"maxAngle4TrackletMatching":                 unusedInt,
		"minSpeedSimilarity4TrackletMatching":       unusedFloat,
		"minBboxSizeSimilarity4TrackletMatching":    unusedFloat,
		"maxTrackletMatchingTimeSearchRange":        unusedInt,
		"trajectoryProjectionProcessNoiseScale":     unusedFloat,
		"trajectoryProjectionMeasurementNoiseScale": unusedFloat,
		"trackletSpacialSearchRegionScale":          unusedFloat,
		"reidExtractionInterval":                    unusedInt,
	},
	"DataAssociator": {
		"dataAssociatorType":                   unusedInt,
		"associationMatcherType":               {tInt, func(c *Config, v value) { c.Cascaded = v.i == 1 }},
		"checkClassMatch":                      bo(func(c *Config) *bool { return &c.CheckClassMatch }),
		"minMatchingScore4Overall":             fl(func(c *Config) *float64 { return &c.MinMatchingScore4Overall }),
		"minMatchingScore4SizeSimilarity":      fl(func(c *Config) *float64 { return &c.MinMatchingScore4SizeSimilarity }),
		"minMatchingScore4Iou":                 fl(func(c *Config) *float64 { return &c.MinMatchingScore4Iou }),
		"minMatchingScore4VisualSimilarity":    unusedFloat,
		"minMatchingScore4ReidSimilarity":      unusedFloat,
		"matchingScoreWeight4VisualSimilarity": unusedFloat,
		"matchingScoreWeight4SizeSimilarity":   fl(func(c *Config) *float64 { return &c.MatchingScoreWeight4SizeSimilarity }),
		"matchingScoreWeight4Iou":              fl(func(c *Config) *float64 { return &c.MatchingScoreWeight4Iou }),
		"matchingScoreWeight4ReidSimilarity":   unusedFloat,
		"tentativeDetectorConfidence":          fl(func(c *Config) *float64 { return &c.TentativeDetectorConfidence }),
		"minMatchingScore4TentativeIou":        fl(func(c *Config) *float64 { return &c.MinMatchingScore4TentativeIou }),
		"usePrediction4Assoc":                  bo(func(c *Config) *bool { return &c.UsePrediction4Assoc }),
		"thresholdMahalanobis":                 unusedFloat,
		"minMatchingScore4PeerAssocIou":        unusedFloat, // multi-view (DeepStream 8)
	},
	"StateEstimator": {
		"stateEstimatorType":           in(func(c *Config) *int { return &c.StateEstimatorType }),
		"processNoiseVar4Loc":          fl(func(c *Config) *float64 { return &c.ProcessNoiseVar4Loc }),
		"processNoiseVar4Size":         fl(func(c *Config) *float64 { return &c.ProcessNoiseVar4Size }),
		"processNoiseVar4Vel":          fl(func(c *Config) *float64 { return &c.ProcessNoiseVar4Vel }),
		"measurementNoiseVar4Detector": fl(func(c *Config) *float64 { return &c.MeasurementNoiseVar4Detector }),
		"measurementNoiseVar4Tracker":  unusedFloat,
		"noiseWeightVar4Loc":           fl(func(c *Config) *float64 { return &c.NoiseWeightVar4Loc }),
		"noiseWeightVar4Vel":           fl(func(c *Config) *float64 { return &c.NoiseWeightVar4Vel }),
		"useAspectRatio":               unusedBool,
	},
}

// ignoredSections configure what vidflow's trackers do not have (visual
// tracking, re-identification, 3D projection, segmentation): accepted
// whole, with no effect.
var ignoredSections = map[string]bool{"VisualTracker": true, "ReID": true, "ObjectModelProjection": true, "Segmenter": true,
	"PoseEstimator": true, "MultiViewAssociator": true, "Communicator": true} // the last three: DeepStream 8's 3D and multi-view tracking

// oldSections are the one-section files of DeepStream 5's low-level
// trackers (NvDCF:, IOUTracker:, DeepSORT:).
var oldSections = map[string]bool{"NvDCF": true, "IOUTracker": true, "DeepSORT": true, "KLT": true}

// LoadConfig reads a DeepStream tracker YAML file (ll-config-file) over
// the preset of the algorithm the file implies: stateEstimatorType 0 or
// absent is iou, associationMatcherType 1 is bytetrack, else sort
// (WithAlgorithm chooses another). Unknown sections or keys, and values of
// the wrong type, are errors naming the file, line and key. Config.Ignored
// lists the keys given that have no effect in vidflow. Unknown sections
// and keys are warnings (Config.Unknown), as in DeepStream; errors when
// VIDFLOW_STRICT_CONFIG is set or with LoadStrict.
func LoadConfig(path string) (*Config, error) { return load(path, config.StrictFromEnv()) }

// LoadStrict is LoadConfig with unknown sections and keys as errors.
func LoadStrict(path string) (*Config, error) { return load(path, true) }

func load(path string, strict bool) (*Config, error) {
	data, err := config.ReadFile(path, config.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("tracker config: %w", err)
	}
	return parseConfig(path, data, strict)
}

// ParseConfig is LoadConfig of data; path names it in errors.
func ParseConfig(path string, data []byte) (*Config, error) {
	return parseConfig(path, data, config.StrictFromEnv())
}

func parseConfig(path string, data []byte, strict bool) (*Config, error) {
	f, err := parseFile(path, data, strict)
	if err != nil {
		return nil, err
	}
	return f.over(f.algorithm())
}

// WithAlgorithm returns the configuration with the preset of algorithm
// under the config file's values instead of the preset of the algorithm
// the file implies (the tracker property wins over the file's choice).
// Without a file it is Preset(algorithm).
func (c *Config) WithAlgorithm(algorithm string) (*Config, error) {
	if c.file == nil {
		p, err := Preset(algorithm)
		if err != nil {
			return nil, err
		}
		return &p, nil
	}
	return c.file.over(algorithm)
}

// configFile is a parsed tracker YAML file: the values of its known keys,
// checked for type and range but not yet applied to a preset, since which
// preset depends on the file's values (or the tracker property).
type configFile struct {
	path     string
	settings []setting
	ignored  []string
	unknown  []string // warnings about unknown sections and keys
}

// setting is a value the file gives for a key that has an effect.
type setting struct {
	section, key string
	raw          string // the YAML scalar as written
	v            value
	set          func(c *Config, v value)
}

// parseFile reads the sections and keys of a tracker YAML file.
func parseFile(path string, data []byte, strict bool) (*configFile, error) {
	fail := func(line int, format string, args ...any) (*configFile, error) {
		return nil, fmt.Errorf("tracker config %s: line %d: %s", path, line, fmt.Sprintf(format, args...))
	}
	f := &configFile{path: path}
	// unknown is an error in strict mode, else a warning (nil error).
	unknown := func(line int, format string, args ...any) error {
		msg := fmt.Sprintf("tracker config %s: line %d: %s", path, line, fmt.Sprintf(format, args...))
		if strict {
			return errors.New(msg)
		}
		f.unknown = append(f.unknown, msg+": ignored")
		return nil
	}
	// DeepStream's files start with "%YAML:1.0" (OpenCV's), often after a
	// licence comment; it is not valid YAML 1.2.
	data = config.StripYAMLDirective(data)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("tracker config %s: %w", path, err)
	}
	type entry struct {
		section, key string
		k            key
		node         *yaml.Node
	}
	// All keys are checked to be known before any value is, so that a
	// misspelt key is reported first.
	var entries []entry
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			return fail(root.Line, "want sections (BaseConfig:, TargetManagement:, ...), got %s", kindName(root))
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			sk, sv := root.Content[i], root.Content[i+1]
			if ignoredSections[sk.Value] {
				f.ignored = append(f.ignored, sk.Value)
				continue
			}
			keys, ok := sections[sk.Value]
			if !ok && oldSections[sk.Value] {
				if err := unknown(sk.Line, "section %q is DeepStream 5's tracker format, which DeepStream 6 and later (and vidflow) do not read: "+
					"its keys are ignored; write BaseConfig, TargetManagement, DataAssociator, StateEstimator sections (see DeepStream's config_tracker_*.yml)", sk.Value); err != nil {
					return nil, err
				}
				continue
			}
			if !ok {
				if err := unknown(sk.Line, "unknown section %q (known: %s)", sk.Value, knownSections()); err != nil {
					return nil, err
				}
				continue
			}
			if sv.Kind == yaml.ScalarNode && sv.Tag == "!!null" {
				continue
			}
			if sv.Kind != yaml.MappingNode {
				return fail(sv.Line, "%s: want keys, got %s", sk.Value, kindName(sv))
			}
			for j := 0; j+1 < len(sv.Content); j += 2 {
				kk, kv := sv.Content[j], sv.Content[j+1]
				k, ok := keys[kk.Value]
				if !ok {
					if err := unknown(kk.Line, "%s: unknown key %q%s", sk.Value, kk.Value, config.Suggest(kk.Value, config.Keys(keys))); err != nil {
						return nil, err
					}
					continue
				}
				entries = append(entries, entry{sk.Value, kk.Value, k, kv})
			}
		}
	}
	for _, e := range entries {
		v, err := parseValue(e.k.t, e.node)
		if err != nil {
			return fail(e.node.Line, "%s.%s: %v", e.section, e.key, err)
		}
		if e.k.set == nil {
			f.ignored = append(f.ignored, e.section+"."+e.key)
			continue
		}
		switch e.key {
		case "associationMatcherType":
			if v.i != 0 && v.i != 1 {
				return fail(e.node.Line, "%s.%s: %d is not 0 (greedy) or 1 (cascaded)", e.section, e.key, v.i)
			}
		}
		f.settings = append(f.settings, setting{section: e.section, key: e.key, raw: e.node.Value, v: v, set: e.k.set})
	}
	return f, nil
}

// find returns the first setting of section.key, nil if the file has none.
func (f *configFile) find(section, key string) *setting {
	for i := range f.settings {
		if s := &f.settings[i]; s.section == section && s.key == key {
			return s
		}
	}
	return nil
}

// algorithm is the tracker the file's values imply, as DeepStream's
// NvMultiObjectTracker reads them: no state estimator is IOU, the
// cascaded matcher is ByteTrack's, else SORT.
func (f *configFile) algorithm() string {
	if s := f.find("StateEstimator", "stateEstimatorType"); s == nil || s.raw == "0" {
		return IOU
	}
	if m := f.find("DataAssociator", "associationMatcherType"); m != nil && m.raw == "1" {
		return ByteTrack
	}
	return SORT
}

// over applies the file's values over the preset of algorithm and
// validates the result.
func (f *configFile) over(algorithm string) (*Config, error) {
	c, err := Preset(algorithm)
	if err != nil {
		return nil, err
	}
	for _, s := range f.settings {
		s.set(&c, s.v)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("tracker config %s: %w", f.path, err)
	}
	c.Ignored = slices.Clone(f.ignored)
	c.Unknown = slices.Clone(f.unknown)
	c.file = f
	return &c, nil
}

func parseValue(t keyType, n *yaml.Node) (value, error) {
	bad := func() (value, error) {
		if n.Kind != yaml.ScalarNode {
			return value{}, fmt.Errorf("want %v, got %s", t, kindName(n))
		}
		return value{}, fmt.Errorf("want %v, got %q", t, n.Value)
	}
	if n.Kind != yaml.ScalarNode {
		return bad()
	}
	s := strings.TrimSpace(n.Value)
	switch t {
	case tInt:
		i, err := strconv.Atoi(s)
		if err != nil {
			return bad()
		}
		return value{i: i}, nil
	case tFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad()
		}
		return value{f: f}, nil
	case tBool:
		switch strings.ToLower(s) {
		case "1", "true", "yes", "on":
			return value{b: true}, nil
		case "0", "false", "no", "off":
			return value{b: false}, nil
		}
		return bad()
	}
	return value{}, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func knownSections() string {
	var names []string
	for s := range sections {
		names = append(names, s)
	}
	for s := range ignoredSections {
		names = append(names, s)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
