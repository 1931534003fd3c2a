package media

// PreprocessKey is the key of the regions nvdspreprocess chose for
// inference in FrameMeta.User: a *PreprocessMeta (DeepStream's
// GstNvDsPreProcessBatchMeta, as its ROIs).
const PreprocessKey = "preprocess"

// PreprocessMeta is what nvdspreprocess left for the nvinfer elements of
// TargetIDs (gie-unique-id) that read it (input-tensor-meta): the regions
// of the frame to infer on, in the batch frame's pixels. vidflow's nvinfer
// scales and normalises each region itself, with its own config's
// settings, rather than reading a prepared tensor.
type PreprocessMeta struct {
	UniqueID  int
	TargetIDs []int
	ROIs      []Rect // frame mode: for a primary nvinfer
	// Objects are the frame's objects chosen in object mode
	// (process-on-frame 0), for a secondary nvinfer.
	Objects []*ObjectMeta
}

// Preprocess returns what nvdspreprocess left in the frame, nil if
// nothing.
func (f *FrameMeta) Preprocess() *PreprocessMeta {
	p, _ := f.User[PreprocessKey].(*PreprocessMeta)
	return p
}
