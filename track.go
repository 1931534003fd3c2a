package vidflow

import (
	// Package track registers the tracker (nvtracker).
	_ "github.com/vidflow/vidflow/internal/elements/track"
)

// Track gives the flow's objects persistent ids across frames, per stream
// (ObjectMeta.TrackID, from 0 up in each stream, and TrackerConfidence):
// Service Maker's track(), DeepStream's nvtracker. The algorithm is IOU,
// SORT or ByteTrack (the default), chosen with TrackerAlgorithm or the
// "tracker" property, and configured by a DeepStream tracker YAML file
// (TrackerConfigFile, property ll-config-file: BaseConfig,
// TargetManagement, TrajectoryManagement, DataAssociator, StateEstimator;
// see docs/osd-tracking.md for the keys used). It follows Infer: frames
// without objects (Infer's interval) are predicted, and confirmed tracks
// are added as objects with Confidence -0.1 (predict-on-empty). A stream's
// tracks end with the stream.
func (f *Flow) Track(opts ...Option) *Flow {
	name, ok := f.step("track", "nvtracker", "tracker", collect(opts))
	if !ok {
		return f.next(nil, false)
	}
	return f.next([]string{name}, f.batched)
}

// TrackerAlgorithm chooses Track's algorithm: "iou", "sort" or "bytetrack".
func TrackerAlgorithm(name string) Option { return prop("tracker", name) }

// TrackerConfigFile sets Track's DeepStream tracker YAML file (ll-config-file).
func TrackerConfigFile(path string) Option { return prop("ll-config-file", path) }
