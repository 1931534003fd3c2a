package media

// SegmentationKey is the key of a semantic segmentation result in
// FrameMeta.User (primary inference) or ObjectMeta.User (secondary): a
// *SegmentationMeta, DeepStream's NvDsInferSegmentationMeta.
const SegmentationKey = "segmentation"

// SegmentationMeta is a semantic segmentation network's result (nvinfer
// network-type 2): a class for every pixel of the network's output map.
// The OSD draws it over the frame, as DeepStream's nvsegvisual draws it.
type SegmentationMeta struct {
	// ComponentID is the gie-unique-id of the element that made it.
	ComponentID int
	// Classes is the number of classes of the network.
	Classes int
	// Width and Height are the map's size: the network output's, which
	// covers the whole frame (or object) that was inferred.
	Width, Height int
	// ClassMap is Width×Height class ids, row by row; -1 where no class
	// is above segmentation-threshold.
	ClassMap []int32
}

// Segmentation returns the frame's segmentation result, nil if none.
func (f *FrameMeta) Segmentation() *SegmentationMeta {
	s, _ := f.User[SegmentationKey].(*SegmentationMeta)
	return s
}

// InstanceMaskKey is the key of an object's instance mask in
// ObjectMeta.User: an *InstanceMask (DeepStream's NvOSD_MaskParams of
// NvDsObjectMeta.mask_params, filled with output-instance-mask).
const InstanceMaskKey = "instance-mask"

// InstanceMask is an object's mask from an instance segmentation network
// (nvinfer network-type 3): Width×Height values, row by row, stretched
// over the object's Rect; a pixel is the object's where its value is
// above Threshold.
type InstanceMask struct {
	Width, Height int
	Data          []float32
	Threshold     float32
}

// InstanceMask returns the object's instance mask, nil if none.
func (o *ObjectMeta) InstanceMask() *InstanceMask {
	m, _ := o.User[InstanceMaskKey].(*InstanceMask)
	return m
}
