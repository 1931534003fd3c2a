package analytics

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
)

// Point is a position in the configuration's coordinate space (or, once
// scaled, in frame pixels).
type Point struct{ X, Y float64 }

// Mode says how closely an object's motion must follow a rule's direction
// vector, as DeepStream's "mode" key names it.
type Mode int

// Modes. An object's motion is the displacement of its bottom-centre over
// its last HistoryLen observations; the angle is between that motion and
// the rule's direction vector.
const (
	// Loose counts every crossing from the side the direction vector
	// starts on to the side it points to, whatever the angle (direction
	// detection: within 90°).
	Loose Mode = iota
	// Balanced also wants the motion within 60° of the direction vector.
	Balanced
	// Strict wants the motion within 30° of the direction vector.
	Strict
)

// DefaultMode is the mode of rules that do not set one.
const DefaultMode = Balanced

func (m Mode) String() string { return [...]string{"loose", "balanced", "strict"}[m] }

// minCos is the least cosine between motion and direction vector a mode accepts.
func (m Mode) minCos() float64 {
	switch m {
	case Strict:
		return math.Cos(30 * math.Pi / 180)
	case Balanced:
		return math.Cos(60 * math.Pi / 180)
	}
	return 0
}

// ParseMode reads "loose", "balanced" or "strict".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "loose":
		return Loose, nil
	case "balanced":
		return Balanced, nil
	case "strict":
		return Strict, nil
	}
	return 0, fmt.Errorf("want loose, balanced or strict, got %q", s)
}

// Config is a parsed nvdsanalytics configuration: the [property] group and
// the rules of each stream.
type Config struct {
	Path string
	// Enable false passes frames through untouched ([property] enable=0).
	Enable bool
	// Width and Height are the coordinate space of every rule
	// (config-width, config-height); rules are scaled to each frame's size.
	// 0 means the rules are in frame pixels.
	Width, Height int
	// OSDMode 0 draws nothing, 1 the ROIs, lines and labels, 2 also the counts.
	OSDMode int
	// FontSize is the size of the OSD's texts (display-font-size).
	FontSize int
	// ObjCountWindowMs, when > 0, makes the per-class object counts the
	// highest of the stream's frames in that window (obj-cnt-win-in-ms).
	ObjCountWindowMs int
	// DisplayObjCount draws the per-class counts (display-obj-cnt, osd-mode 2).
	DisplayObjCount bool
	// Streams are the rules by stream (the batch's SourceID).
	Streams map[int]*StreamRules
}

// StreamRules are the rules of one stream.
type StreamRules struct {
	ROIs         []ROIRule
	Overcrowding []OvercrowdingRule
	Lines        []LineRule
	Directions   []DirectionRule
}

// Classes filters objects by class id; nil means every class (class-id=-1).
type Classes []int

// Has reports whether the filter takes a class.
func (c Classes) Has(id int) bool {
	if c == nil {
		return true
	}
	for _, x := range c {
		if x == id {
			return true
		}
	}
	return false
}

// ROIRule is one roi-<label> of a [roi-filtering-stream-N] group: objects
// whose bottom-centre lies in the polygon (outside it, with Inverse) are
// reported in the ROI.
type ROIRule struct {
	Label   string
	Polygon []Point
	Inverse bool
	Classes Classes
}

// OvercrowdingRule is one roi-<label> of an [overcrowding-stream-N] group:
// overcrowding is on while at least Threshold objects have been in the
// polygon for TimeThresholdMs (stream time) and off as soon as fewer are.
type OvercrowdingRule struct {
	Label           string
	Polygon         []Point
	Threshold       int
	TimeThresholdMs int
	Classes         Classes
}

// LineRule is one line-crossing-<label> of a [line-crossing-stream-N]
// group: a crossing line and the direction vector that says which way
// counts.
type LineRule struct {
	Label    string
	Dir      [2]Point // direction vector: from, to
	Line     [2]Point // crossing line
	Extended bool     // the whole infinite line counts, not only the segment
	Mode     Mode
	Classes  Classes
}

// DirectionRule is one direction-<label> of a [direction-detection-stream-N]
// group: objects moving along the vector (within the mode's angle) get
// the label as their direction.
type DirectionRule struct {
	Label   string
	Dir     [2]Point
	Mode    Mode
	Classes Classes
}

// LoadConfig reads an nvdsanalytics configuration, INI (DeepStream's form) or
// YAML (same groups and keys) by the file's extension.
func LoadConfig(path string) (*Config, error) {
	data, err := config.ReadFile(path, config.MaxFileSize)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("analytics config file %q does not exist", path)
		}
		return nil, fmt.Errorf("analytics config file %q: %w", path, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses an nvdsanalytics configuration (see LoadConfig). Errors name the
// file, line, group and key.
func ParseConfig(path string, data []byte) (*Config, error) {
	f, err := config.Parse(path, data)
	if err != nil {
		return nil, err
	}
	c := &Config{Path: path, Enable: true, OSDMode: 0, FontSize: 12, Streams: map[int]*StreamRules{}}
	if f.Section("property") == nil {
		return nil, f.Errorf("no [property] group")
	}
	for _, s := range f.Sections {
		if err := c.section(f.Path, s); err != nil {
			return nil, err
		}
	}
	if (c.Width == 0) != (c.Height == 0) {
		return nil, &config.Error{File: path, Section: "property", Err: fmt.Errorf("config-width and config-height go together (got %dx%d)", c.Width, c.Height)}
	}
	return c, nil
}

var groupKinds = []string{"roi-filtering-stream-", "overcrowding-stream-", "line-crossing-stream-", "direction-detection-stream-"}

func (c *Config) section(file string, s *config.Section) error {
	if s.Name == "property" {
		return c.property(s)
	}
	for _, kind := range groupKinds {
		if !strings.HasPrefix(s.Name, kind) {
			continue
		}
		id, err := strconv.Atoi(strings.TrimPrefix(s.Name, kind))
		if err != nil || id < 0 {
			return s.Errorf(file, "the stream number of group %q is not a number >= 0", s.Name)
		}
		return c.rules(file, s, kind, id)
	}
	return s.Errorf(file, "unknown group (want property, %s<N>)", strings.Join(groupKinds, "<N>, "))
}

func (c *Config) property(s *config.Section) error {
	for _, v := range s.Values {
		var err error
		switch v.Key {
		case "enable":
			c.Enable, err = v.Bool()
		case "config-width":
			c.Width, err = v.IntIn(0, 1<<16)
		case "config-height":
			c.Height, err = v.IntIn(0, 1<<16)
		case "osd-mode":
			c.OSDMode, err = v.OneOf(0, 1, 2)
		case "display-font-size":
			c.FontSize, err = v.IntIn(1, 512)
		case "obj-cnt-win-in-ms":
			c.ObjCountWindowMs, err = v.IntIn(0, 1<<30)
		case "display-obj-cnt":
			c.DisplayObjCount, err = v.Bool()
		default:
			err = v.Errorf("unknown key (want enable, config-width, config-height, osd-mode, display-font-size, obj-cnt-win-in-ms, display-obj-cnt)")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) rules(file string, s *config.Section, kind string, stream int) error {
	enable := true
	var classes Classes
	inverse, extended := false, false
	mode := DefaultMode
	threshold, timeMs := -1, 0
	type labelled struct {
		label string
		v     config.Value
	}
	var shapes []labelled
	prefix := map[string]string{"roi-filtering-stream-": "roi-", "overcrowding-stream-": "roi-",
		"line-crossing-stream-": "line-crossing-", "direction-detection-stream-": "direction-"}[kind]
	allowed := map[string][]string{
		"roi-filtering-stream-":       {"enable", "class-id", "inverse-roi", "roi-<label>"},
		"overcrowding-stream-":        {"enable", "class-id", "object-threshold", "time-threshold", "roi-<label>"},
		"line-crossing-stream-":       {"enable", "class-id", "extended", "mode", "line-crossing-<label>"},
		"direction-detection-stream-": {"enable", "class-id", "mode", "direction-<label>"},
	}[kind]
	ok := func(key string) bool {
		for _, a := range allowed {
			if a == key {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	for _, v := range s.Values {
		var err error
		switch {
		case v.Key == "enable":
			enable, err = v.Bool()
		case v.Key == "class-id":
			classes, err = parseClasses(v)
		case v.Key == "inverse-roi" && ok(v.Key):
			inverse, err = v.Bool()
		case v.Key == "extended" && ok(v.Key):
			extended, err = v.Bool()
		case v.Key == "mode" && ok(v.Key):
			mode, err = ParseMode(v.String())
			if err != nil {
				err = v.Errorf("%v", err)
			}
		case v.Key == "object-threshold" && ok(v.Key):
			threshold, err = v.IntIn(1, 1<<30)
		case v.Key == "time-threshold" && ok(v.Key):
			timeMs, err = v.IntIn(0, 1<<30)
		case strings.HasPrefix(v.Key, prefix) && len(v.Key) > len(prefix):
			label := v.Key[len(prefix):]
			if seen[label] {
				err = v.Errorf("label %q appears twice", label)
				break
			}
			seen[label] = true
			shapes = append(shapes, labelled{label, v})
		default:
			err = v.Errorf("unknown key in [%s] (want %s)", s.Name, strings.Join(allowed, ", "))
		}
		if err != nil {
			return err
		}
	}
	if !enable {
		return nil
	}
	if len(shapes) == 0 {
		return s.Errorf(file, "enabled but has no %s<label> key", prefix)
	}
	r := c.Streams[stream]
	if r == nil {
		r = &StreamRules{}
		c.Streams[stream] = r
	}
	for _, sh := range shapes {
		pts, err := points(sh.v)
		if err != nil {
			return err
		}
		switch kind {
		case "roi-filtering-stream-", "overcrowding-stream-":
			if len(pts) < 3 {
				return sh.v.Errorf("a polygon needs at least 3 points (6 numbers x1;y1;x2;y2;x3;y3...), got %d", len(pts))
			}
			if kind == "roi-filtering-stream-" {
				r.ROIs = append(r.ROIs, ROIRule{Label: sh.label, Polygon: pts, Inverse: inverse, Classes: classes})
				continue
			}
			if threshold < 0 {
				return s.Errorf(file, "object-threshold is missing")
			}
			r.Overcrowding = append(r.Overcrowding, OvercrowdingRule{Label: sh.label, Polygon: pts, Threshold: threshold, TimeThresholdMs: timeMs, Classes: classes})
		case "line-crossing-stream-":
			if len(pts) != 4 {
				return sh.v.Errorf("want 8 numbers x1d;y1d;x2d;y2d;x1c;y1c;x2c;y2c (direction vector, then crossing line), got %d", 2*len(pts))
			}
			lr := LineRule{Label: sh.label, Dir: [2]Point{pts[0], pts[1]}, Line: [2]Point{pts[2], pts[3]}, Extended: extended, Mode: mode, Classes: classes}
			if pts[2] == pts[3] {
				return sh.v.Errorf("the crossing line's two points are the same")
			}
			if pts[0] == pts[1] {
				return sh.v.Errorf("the direction vector has no length")
			}
			if math.Abs(cross(sub(lr.Line[1], lr.Line[0]), sub(lr.Dir[1], lr.Dir[0]))) < 1e-9 {
				return sh.v.Errorf("the direction vector is parallel to the crossing line: it must point from one side to the other")
			}
			r.Lines = append(r.Lines, lr)
		case "direction-detection-stream-":
			if len(pts) != 2 {
				return sh.v.Errorf("want 4 numbers x1;y1;x2;y2 (a direction vector), got %d", 2*len(pts))
			}
			if pts[0] == pts[1] {
				return sh.v.Errorf("the direction vector has no length")
			}
			r.Directions = append(r.Directions, DirectionRule{Label: sh.label, Dir: [2]Point{pts[0], pts[1]}, Mode: mode, Classes: classes})
		}
	}
	return nil
}

func parseClasses(v config.Value) (Classes, error) {
	ids, err := v.Ints()
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, v.Errorf("empty class list (want -1 for every class, or ids like 0;2)")
	}
	for _, id := range ids {
		if id == -1 {
			if len(ids) > 1 {
				return nil, v.Errorf("-1 (every class) cannot be listed with other ids")
			}
			return nil, nil
		}
		if id < 0 {
			return nil, v.Errorf("class id %d is negative", id)
		}
	}
	sort.Ints(ids)
	return Classes(ids), nil
}

func points(v config.Value) ([]Point, error) {
	fs, err := v.Floats()
	if err != nil {
		return nil, err
	}
	if len(fs)%2 != 0 {
		return nil, v.Errorf("odd count of numbers (%d): coordinates come in x;y pairs", len(fs))
	}
	pts := make([]Point, len(fs)/2)
	for i := range pts {
		pts[i] = Point{fs[2*i], fs[2*i+1]}
	}
	return pts, nil
}

// Rules counts the rules of every stream (for logs and benchmarks).
func (c *Config) Rules() int {
	n := 0
	for _, r := range c.Streams {
		n += len(r.ROIs) + len(r.Overcrowding) + len(r.Lines) + len(r.Directions)
	}
	return n
}
