package vidflow

import (
	"fmt"
	"os"

	// Package analytics registers the analytics element (nvdsanalytics).
	"github.com/vidflow/vidflow/internal/elements/analytics"
	"github.com/vidflow/vidflow/media"
)

// Analyze applies nvdsanalytics rules to the flow's objects (Service
// Maker's analyze(), DeepStream's nvdsanalytics): ROI filtering,
// overcrowding, line crossing and direction detection per stream,
// configured by a DeepStream nvdsanalytics config file (INI, or YAML with
// the same groups and keys; see configs/config_nvdsanalytics.txt and
// docs/analytics-publish.md). It should follow Track: line crossing and
// direction need track ids.
//
// Results are metadata: FrameMeta.User[AnalyticsKey] holds an
// *AnalyticsFrameMeta (objects in each ROI, current and cumulative
// line-crossing counts, overcrowding state, objects per class) and
// ObjectMeta.User[AnalyticsKey] an *AnalyticsObjInfo (ROIs it is in, lines
// it crossed on the frame, its direction). With osd-mode 1 or 2 the rules
// (and counts) are added to FrameMeta.Display for the OSD to draw.
//
// Options: unique-id, enable, config-watch-interval (reload the file when
// it changes). ReloadAnalytics replaces the rules while the pipeline runs.
func (f *Flow) Analyze(config string, opts ...Option) *Flow {
	if !f.ok("Analyze") {
		return f.next(nil, false)
	}
	o := collect(opts)
	if config == "" {
		if s, _ := o.props["config-file"].(string); s == "" {
			return f.fail("Analyze: no config file given")
		}
	} else {
		if st, err := os.Stat(config); err != nil || st.IsDir() {
			return f.fail("Analyze: config file %q doesn't exist", config)
		}
		o.props["config-file"] = config
	}
	name, ok := f.step("analyze", "nvdsanalytics", "analytics", o)
	if !ok {
		return f.next(nil, false)
	}
	return f.next([]string{name}, f.batched)
}

// AnalyticsKey is the key of the analytics results in FrameMeta.User and
// ObjectMeta.User.
const AnalyticsKey = analytics.UserKey

type (
	// AnalyticsFrameMeta is a frame's analytics results (DeepStream's
	// NvDsAnalyticsFrameMeta), in FrameMeta.User[AnalyticsKey].
	AnalyticsFrameMeta = analytics.FrameResult
	// AnalyticsObjInfo is an object's analytics results (DeepStream's
	// NvDsAnalyticsObjInfo), in ObjectMeta.User[AnalyticsKey].
	AnalyticsObjInfo = analytics.ObjectResult
)

// AnalyticsFrame returns a frame's analytics results, nil if none.
func AnalyticsFrame(fm *media.FrameMeta) *AnalyticsFrameMeta {
	r, _ := fm.User[AnalyticsKey].(*AnalyticsFrameMeta)
	return r
}

// AnalyticsObject returns an object's analytics results, nil if none.
func AnalyticsObject(o *media.ObjectMeta) *AnalyticsObjInfo {
	r, _ := o.User[AnalyticsKey].(*AnalyticsObjInfo)
	return r
}

// ReloadAnalytics replaces the rules of the analytics element named
// element with those of the config file at path ("" rereads its current
// file), from its next frame on, while the pipeline runs (or before it
// starts). Line-crossing counts and overcrowding states carry over by
// label. An invalid file is an error naming file, line, group and key,
// and the rules in use stay.
func ReloadAnalytics(p *Pipeline, element, path string) error {
	n := p.node(element) // under the lock, as SetProperty
	if n == nil {
		return fmt.Errorf("ReloadAnalytics: no element named %q in pipeline %q", element, p.name)
	}
	r, ok := n.Elem.(interface{ Reload(string) error })
	if !ok {
		return fmt.Errorf("ReloadAnalytics: element %q is a %s, not nvdsanalytics", element, n.Spec.Kind)
	}
	if err := r.Reload(path); err != nil {
		return fmt.Errorf("ReloadAnalytics %q: %w", element, err)
	}
	return nil
}
