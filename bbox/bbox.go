// Package bbox is what a user needs to write a detection parser of their
// own for Infer (DeepStream's custom bounding-box parser,
// NvDsInferParseCustomFunc): the model's output layers of one image go in,
// boxes in network-input pixels come out. Register one with
// vidflow.RegisterDetectionParser and name it in the config's
// parse-bbox-func-name.
package bbox

// Detection is one detected object, box corners in network-input pixels.
type Detection struct {
	ClassID int
	Score   float32
	X1, Y1  float32
	X2, Y2  float32
}

// Area returns the box area (0 for degenerate boxes).
func (d Detection) Area() float32 {
	w, h := d.X2-d.X1, d.Y2-d.Y1
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// Layer is one output layer of a model for one image (a frame, or an
// object's crop): its name, its dimensions without the batch axis, and
// its values. Data is only valid during the parser call.
type Layer struct {
	Name string
	Dims []int
	Data []float32
}

// Info tells a detection parser about the network and the config.
type Info struct {
	// NetWidth and NetHeight are the network input's size: boxes are
	// returned in these pixels.
	NetWidth, NetHeight int
	// Classes is num-detected-classes, 0 when not configured.
	Classes int
	// Threshold is the lowest pre-cluster-threshold of all classes:
	// boxes scoring less can be dropped by the parser.
	Threshold float32
}

// Parser turns the output layers of one image into boxes in network-input
// pixels, appended to dst[:0]. It must not keep layers' Data, and should
// not allocate when dst has room. Clustering (NMS), per-class thresholds
// and the mapping to frame pixels are done after it.
type Parser func(layers []Layer, info Info, dst []Detection) ([]Detection, error)
