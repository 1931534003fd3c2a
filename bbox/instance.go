package bbox

// InstanceDetection is one object of an instance segmentation network
// (DeepStream's NvDsInferInstanceMaskInfo): its box, in network-input
// pixels, and its mask, MaskWidth×MaskHeight values row by row stretched
// over the box (a pixel is the object's where its value is above the
// config's segmentation-threshold).
type InstanceDetection struct {
	Detection
	MaskWidth, MaskHeight int
	Mask                  []float32
}

// InstanceParser is an instance segmentation parser (DeepStream's
// NvDsInferInstanceMaskParseCustomFunc, the config's
// parse-bbox-instance-mask-func-name): the output layers of one image
// in, objects with masks out, appended to dst. Masks must not alias
// layer data, which is only valid during the call.
type InstanceParser func(layers []Layer, info Info, dst []InstanceDetection) ([]InstanceDetection, error)
