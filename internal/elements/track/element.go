// Package track holds the multi-object tracker (DeepStream's nvtracker):
// it gives the objects of each stream persistent ids across frames with
// one of three algorithms — IOU (greedy IoU matching, no motion model),
// SORT (a constant-velocity Kalman filter and optimal Hungarian matching)
// and ByteTrack (SORT with a second matching stage for low-score
// detections) — configured by DeepStream's tracker YAML where it applies.
// Its subpackage mot measures tracking quality.
package track

import (
	"context"
	"fmt"
	"strings"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvtracker",
		Aliases: []string{"tracker", "nvtrackerbin"},
		Doc: "Gives objects persistent per-stream ids (ObjectMeta.TrackID) and a tracker confidence: IOU, SORT or " +
			"ByteTrack, configured by a DeepStream tracker YAML (ll-config-file). Frames without objects are " +
			"prediction-only (Infer interval > 0): confirmed tracks are added as objects with confidence -0.1.",
		Role:  element.RoleTransform,
		Props: Props,
		New:   newElement,
	})
}

// Props are nvtracker's properties: DeepStream's (those of its low-level
// library that vidflow does not need are accepted with no effect) and
// vidflow's own.
var Props = []element.PropSpec{
	{Name: "tracker", Type: element.String, Default: "", Doc: "iou, sort or bytetrack; empty: from ll-config-file, else bytetrack"},
	{Name: "ll-config-file", Type: element.String, Default: "", Doc: "DeepStream tracker YAML (BaseConfig, TargetManagement, DataAssociator, StateEstimator, ...)"},
	{Name: "predict-on-empty", Type: element.Bool, Default: true, Doc: "treat frames without objects as not inferred: predict the tracks"},
	{Name: "tracking-id-reset-mode", Type: element.Int, Default: 0, Doc: "0: ids go on after a stream ends; 2 or 3: a stream's ids restart at 0 after its end"},
	{Name: "display-tracking-id", Type: element.Bool, Default: true, Ignored: true, Doc: "the OSD's display-track-id decides"},
	{Name: "ll-lib-file", Type: element.String, Default: "", Ignored: true, Doc: "the trackers are built in"},
	{Name: "tracker-width", Type: element.Int, Default: 0, Ignored: true, Doc: "tracking is on boxes, not pixels"},
	{Name: "tracker-height", Type: element.Int, Default: 0, Ignored: true},
	{Name: "gpu-id", Type: element.Int, Default: 0, Ignored: true},
	{Name: "compute-hw", Type: element.Int, Default: 0, Ignored: true},
	{Name: "input-tensor-meta", Type: element.Bool, Default: false, Ignored: true},
	{Name: "tensor-meta-gie-id", Type: element.Int, Default: 0, Ignored: true},
	{Name: "user-meta-pool-size", Type: element.Int, Default: 16, Ignored: true},
	{Name: "sub-batches", Type: element.String, Default: "", Ignored: true},
	{Name: "sub-batch-err-recovery-trial-cnt", Type: element.Int, Default: 3, Ignored: true},
	{Name: "enable-batch-process", Type: element.Bool, Default: true, Ignored: true, Doc: "batches are always tracked whole"},
	{Name: "enable-past-frame", Type: element.Bool, Default: false, Ignored: true, Doc: "past-frame data is a low-level tracker's output; vidflow's trackers report the current frame"},
	{Name: "strict-config", Type: element.Bool, Default: false, Doc: "vidflow: unknown sections and keys of ll-config-file are errors (default: one warning each; also VIDFLOW_STRICT_CONFIG=1)"},
}

// DefaultAlgorithm is the tracker used when neither the tracker property
// nor a config file chooses one.
const DefaultAlgorithm = ByteTrack

type trackerElement struct {
	cfg       Config
	file      string
	resetIDs  bool
	algorithm string // the tracker property: it chooses over a file's
	strict    bool
	reload    reload // ll-config-file changed while running (runtime.go)
}

func newElement(c *element.Config) (element.Element, error) {
	alg := strings.ToLower(strings.TrimSpace(c.String("tracker")))
	file := c.String("ll-config-file")
	if strings.Contains(file, ";") {
		return nil, fmt.Errorf("property \"ll-config-file\": sub-batch config lists (%q) are not supported: give one file", file)
	}
	e := &trackerElement{file: file, algorithm: alg, strict: c.Bool("strict-config")}
	var err error
	switch {
	case file != "":
		e.cfg, err = loadFor(file, alg, c.Bool("strict-config"))
	case alg == "":
		e.cfg, err = Preset(DefaultAlgorithm)
	default:
		e.cfg, err = Preset(alg)
	}
	if err != nil {
		return nil, err
	}
	e.cfg.PredictOnEmpty = c.Bool("predict-on-empty")
	switch m := c.Int("tracking-id-reset-mode"); m {
	case 0, 1:
	case 2, 3:
		e.resetIDs = true
	default:
		return nil, fmt.Errorf("property \"tracking-id-reset-mode\": %d is not 0..3", m)
	}
	return e, nil
}

// loadFor loads the tracker config file; a tracker property (algorithm)
// other than empty replaces the algorithm the file implies.
func loadFor(file, algorithm string, strict bool) (Config, error) {
	load := LoadConfig
	if strict {
		load = LoadStrict
	}
	c, err := load(file)
	if err == nil && algorithm != "" {
		c, err = c.WithAlgorithm(algorithm)
	}
	if err != nil {
		return Config{}, err
	}
	return *c, nil
}

// Run tracks every frame; a stream's state is dropped at its end.
func (e *trackerElement) Run(ctx context.Context, p element.Ports) error {
	t, err := New(e.cfg)
	if err != nil {
		return err
	}
	for _, u := range e.cfg.Unknown {
		p.Warn("%s (DeepStream ignores it too; strict-config makes it an error)", u)
	}
	if len(e.cfg.Ignored) > 0 {
		p.Warn("tracker config %s: no effect in vidflow: %s", e.file, strings.Join(e.cfg.Ignored, ", "))
	}
	m := &element.Map{
		Fn: func(_ context.Context, b *media.Buffer) error {
			t = e.reload.take(p, t)
			for _, fm := range b.Meta().Frames {
				t.Update(fm)
			}
			return nil
		},
		OnEvent: func(it element.Item) {
			if it.Event == element.EventStreamEOS {
				t.EndStream(it.Source, e.resetIDs)
			}
		},
	}
	return m.Run(ctx, p)
}
