// Package dsapp reads deepstream-app's configuration files (the classic
// INI: [application], [tiled-display], [source%d], [streammux],
// [primary-gie], [secondary-gie%d], [tracker], [nvds-analytics], [osd],
// [sink%d], [message-converter], [message-consumer%d], [tests]; or the
// same groups as the maps of a .yml file, its sources listed in a CSV
// file, yaml.go) into what a vidflow Flow is built from. Relative paths are resolved against the
// config file's folder, as deepstream-app resolves them; errors name the
// file, the line, the group and the key.
package dsapp

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vidflow/vidflow/internal/config"
)

// App is a deepstream-app configuration.
type App struct {
	File         string
	Perf         bool
	PerfInterval time.Duration
	Tiled        *Tiled
	Sources      []Source
	Mux          map[string]any
	PGIE         *GIE
	SGIEs        []GIE
	Tracker      map[string]any // nil when off
	Analytics    string         // nvdsanalytics config; "" when off
	OSD          map[string]any // nil when off
	Sinks        []Sink
	Consumers    []Consumer // [message-consumer%d]
	FileLoop     bool
	// Notes are keys accepted with no effect here, for a verbose print.
	Notes []string
}

// Tiled is [tiled-display].
type Tiled struct{ Rows, Columns, Width, Height int }

// Source is one stream of a [source%d] group (type 3 gives several).
type Source struct {
	Group string
	Line  int
	URI   string         // type 2, 3, 4
	Gst   string         // type 1: a GStreamer description (v4l2src)
	Props map[string]any // nvurisrcbin properties
	// SmartRecord is deepstream-app's local recording events of a source
	// with smart-record=2: every Interval a recording starts (StartTime
	// before now, for Duration) or, when one runs, stops. nil otherwise.
	SmartRecord *SmartRecordEvents
}

// SmartRecordEvents are smart-rec-interval, smart-rec-start-time and
// smart-rec-duration (deepstream-app's defaults 10, 7 and 8 s).
type SmartRecordEvents struct {
	Interval, StartTime, Duration time.Duration
}

// GIE is [primary-gie] or a [secondary-gie%d].
type GIE struct {
	Group  string
	Config string
	Props  map[string]any // nvinfer properties
}

// Sink is an enabled [sink%d].
type Sink struct {
	Group string
	Line  int
	Type  int    // 1 fake, 2 display, 3 file, 4 RTSP, 6 message broker
	Dest  string // type 3: the file; type 4: rtsp://localhost:port/ds-test
	Props map[string]any
}

// Load reads a deepstream-app config; overrides ("group.key=value", as
// `vidflow app -set` gives them) replace or add keys before it is read,
// their relative paths taken from the working directory.
func Load(path string, overrides ...string) (*App, error) {
	f, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if f.Format == "yaml" {
		// "-set source.csv-file-path=..." names another CSV file: it must
		// be in place before the CSV's lines become [source<N>] groups,
		// which the other overrides may then change.
		var list, rest []string
		for _, o := range overrides {
			if strings.HasPrefix(o, "source.") {
				list = append(list, o)
			} else {
				rest = append(rest, o)
			}
		}
		if err := override(f, list); err != nil {
			return nil, err
		}
		if f, err = fromYAML(f); err != nil {
			return nil, err
		}
		overrides = rest
	}
	if err := override(f, overrides); err != nil {
		return nil, err
	}
	return read(f)
}

var groupRE = regexp.MustCompile(`^(application|tiled-display|source\d+|streammux|primary-gie|secondary-gie\d*|tracker|nvds-analytics|osd|sink\d+|message-converter|message-consumer\d+|tests|pre-process|img-save|source-list|source-attr-all|ds-example)$`)

func read(f *config.File) (*App, error) {
	a := &App{File: f.Path, PerfInterval: 5 * time.Second, Mux: map[string]any{}}
	for _, s := range f.Sections {
		if !groupRE.MatchString(s.Name) {
			return nil, s.Errorf(f.Path, "unknown group [%s] (deepstream-app has application, tiled-display, source%%d, streammux, primary-gie, secondary-gie%%d, tracker, nvds-analytics, osd, sink%%d, message-converter, message-consumer%%d, tests)", s.Name)
		}
	}
	steps := []func(*App, *config.File) error{readApplication, readTests, readTiled, readSources, readMux, readGIEs,
		readTracker, readAnalytics, readOSD, readSinks, readMessageConverter, readMessageConsumers, readUnsupported}
	for _, step := range steps {
		if err := step(a, f); err != nil {
			return nil, err
		}
	}
	if len(a.Sources) == 0 {
		return nil, f.Errorf("no enabled [source%%d] group")
	}
	if len(a.Sinks) == 0 {
		return nil, f.Errorf("no enabled [sink%%d] group")
	}
	return a, nil
}

// groups returns the groups named prefix%d in number order.
func groups(f *config.File, prefix string) []*config.Section {
	var out []*config.Section
	for _, s := range f.Sections {
		if rest, ok := strings.CutPrefix(s.Name, prefix); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return num(out[i].Name, prefix) < num(out[j].Name, prefix) })
	return out
}

func num(name, prefix string) int {
	var n int
	fmt.Sscan(strings.TrimPrefix(name, prefix), &n)
	return n
}

// keys is a group's key handling: each key is read by fn, or is ignored
// (accepted, noted), or is an error naming it.
type keys struct {
	a       *App
	f       *config.File
	s       *config.Section
	ignored map[string]bool
}

func (k *keys) get(key string) (config.Value, bool) {
	if k.s == nil {
		return config.Value{}, false
	}
	// The last of a key set twice wins, as in deepstream-app, whose
	// parsers assign each key in file order.
	for i := len(k.s.Values) - 1; i >= 0; i-- {
		if v := k.s.Values[i]; v.Key == key {
			return v, true
		}
	}
	return config.Value{}, false
}

// enabled reads "enable" (default def).
func (k *keys) enabled(def bool) (bool, error) {
	v, ok := k.get("enable")
	if !ok {
		return def, nil
	}
	return v.Bool()
}

func (k *keys) int(key string, def int) (int, error) {
	v, ok := k.get(key)
	if !ok {
		return def, nil
	}
	return v.Int()
}

// check rejects keys not in known and notes the ignored ones.
func (k *keys) check(known ...string) error {
	if k.s == nil {
		return nil
	}
	for _, v := range k.s.Values {
		if contains(known, v.Key) || strings.HasPrefix(v.Key, "bbox-border-color") || strings.HasPrefix(v.Key, "bbox-bg-color") {
			continue
		}
		if k.ignored[v.Key] || common[v.Key] {
			k.a.Notes = append(k.a.Notes, fmt.Sprintf("%s:%d: [%s] %s: accepted, no effect in vidflow", v.File, v.Line, v.Section, v.Key))
			continue
		}
		return v.Errorf("unknown key (known: %s)", strings.Join(known, ", "))
	}
	return nil
}

// common are the keys of GPU memory and placement every group may have,
// which have no meaning without DeepStream's buffers.
var common = map[string]bool{"gpu-id": true, "nvbuf-memory-type": true, "cudadec-memtype": true, "plugin-type": false}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func set(ignored ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range ignored {
		m[s] = true
	}
	return m
}

func readApplication(a *App, f *config.File) error {
	k := &keys{a: a, f: f, s: f.Section("application"), ignored: set("gie-kitti-output-dir", "kitti-track-output-dir",
		"reid-track-output-dir", "terminated-track-output-dir", "shadow-track-output-dir", "terminated-track-output-dir")}
	if v, ok := k.get("enable-perf-measurement"); ok {
		b, err := v.Bool()
		if err != nil {
			return err
		}
		a.Perf = b
	}
	n, err := k.int("perf-measurement-interval-sec", 5)
	if err != nil {
		return err
	}
	if n <= 0 {
		v, _ := k.get("perf-measurement-interval-sec")
		return v.Errorf("must be at least 1")
	}
	a.PerfInterval = time.Duration(n) * time.Second
	return k.check("enable-perf-measurement", "perf-measurement-interval-sec")
}

func readTests(a *App, f *config.File) error {
	k := &keys{a: a, f: f, s: f.Section("tests"), ignored: set("pipeline-recreate-sec")}
	if v, ok := k.get("file-loop"); ok {
		b, err := v.Bool()
		if err != nil {
			return err
		}
		a.FileLoop = b
	}
	return k.check("file-loop")
}

func readTiled(a *App, f *config.File) error {
	k := &keys{a: a, f: f, s: f.Section("tiled-display"), ignored: set("square-seq-grid", "compute-hw")}
	if k.s == nil {
		return nil
	}
	on, err := k.enabled(false)
	if err != nil || !on {
		return err
	}
	t := &Tiled{}
	for _, x := range []struct {
		key string
		dst *int
		def int
	}{{"rows", &t.Rows, 0}, {"columns", &t.Columns, 0}, {"width", &t.Width, 1280}, {"height", &t.Height, 720}} {
		if *x.dst, err = k.int(x.key, x.def); err != nil {
			return err
		}
	}
	a.Tiled = t
	return k.check("enable", "rows", "columns", "width", "height")
}

func readMux(a *App, f *config.File) error {
	k := &keys{a: a, f: f, s: f.Section("streammux"), ignored: set("enable-padding", "live-source", "buffer-pool-size",
		"attach-sys-ts-as-ntp", "config-file", "sync-inputs", "max-latency", "frame-num-reset-on-eos", "frame-num-reset-on-stream-reset",
		"frame-duration", "interpolation-method", "drop-pipeline-eos", "compute-hw", "async-process", "no-pipeline-eos")}
	if k.s == nil {
		return nil
	}
	for _, key := range []string{"batch-size", "batched-push-timeout", "width", "height"} {
		v, ok := k.get(key)
		if !ok {
			continue
		}
		n, err := v.Int()
		if err != nil {
			return err
		}
		if key == "batched-push-timeout" && n < 0 { // -1: wait for every stream, vidflow's default does
			continue
		}
		a.Mux[key] = n
	}
	return k.check("batch-size", "batched-push-timeout", "width", "height")
}
