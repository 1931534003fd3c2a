package vidflow

import (
	"fmt"
	"os"
	// Package analytics registers the analytics element (nvdsanalytics).
)

// Analyze applies nvdsanalytics rules to the flow's objects (Service
// Maker's analyze(), DeepStream's nvdsanalytics): ROI filtering,
// overcrowding, line crossing and direction detection per stream,
// configured by a DeepStream nvdsanalytics config file (INI, or YAML with
// the same groups and keys; see configs/config_nvdsanalytics.txt and
// docs/analytics-publish.md). It should follow Track: line crossing and
// direction need track ids.
//
// Results are metadata: FrameMeta.User[media.AnalyticsKey] holds a
// *media.AnalyticsFrameMeta (objects in each ROI, current and cumulative
// line-crossing counts, overcrowding state, objects per class) and
// ObjectMeta.User[media.AnalyticsKey] a *media.AnalyticsObjInfo (see
// media.AnalyticsFrame and media.AnalyticsObject) (ROIs it is in, lines
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
