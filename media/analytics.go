package media

// AnalyticsKey is the key of the analytics results in FrameMeta.User (an
// *AnalyticsFrameMeta) and ObjectMeta.User (an *AnalyticsObjInfo).
const AnalyticsKey = "analytics"

// AnalyticsFrameMeta is a frame's analytics results (DeepStream's
// NvDsAnalyticsFrameMeta), in FrameMeta.User[AnalyticsKey]: what Flow.Analyze's
// rules found. Maps hold only the labels of rules that
// apply to the frame's stream.
type AnalyticsFrameMeta struct {
	// UniqueID is the analytics element's unique-id.
	UniqueID int
	// ObjInROI is the number of objects in each ROI (objInROIcnt).
	ObjInROI map[string]int
	// Overcrowding says whether each overcrowding ROI is overcrowded (ocStatus).
	Overcrowding map[string]bool
	// OvercrowdingCount is the number of objects in each overcrowding ROI.
	OvercrowdingCount map[string]int
	// LineCurrent is the number of crossings of each line on this frame (objLCCurrCnt).
	LineCurrent map[string]int
	// LineCumulative is the number of crossings of each line since the
	// stream started (objLCCumCnt).
	LineCumulative map[string]int64
	// ObjCount is the number of objects of each class id on the frame (objCnt;
	// the highest over obj-cnt-win-in-ms when set).
	ObjCount map[int]int
}

// AnalyticsObjInfo is an object's analytics results (DeepStream's
// NvDsAnalyticsObjInfo), in ObjectMeta.User[AnalyticsKey].
type AnalyticsObjInfo struct {
	UniqueID int
	// ROIs are the labels of the ROIs the object is in (roiStatus).
	ROIs []string
	// Overcrowding are the labels of the overcrowding ROIs it is in (ocStatus).
	Overcrowding []string
	// Lines are the labels of the lines it crossed on this frame (lcStatus).
	Lines []string
	// Direction is the label of the direction it moves along, "" if none (dirStatus).
	Direction string
}

// AnalyticsFrame returns a frame's analytics results, nil if none.
func AnalyticsFrame(fm *FrameMeta) *AnalyticsFrameMeta {
	r, _ := fm.User[AnalyticsKey].(*AnalyticsFrameMeta)
	return r
}

// AnalyticsObject returns an object's analytics results, nil if none.
func AnalyticsObject(o *ObjectMeta) *AnalyticsObjInfo {
	r, _ := o.User[AnalyticsKey].(*AnalyticsObjInfo)
	return r
}
