package media

import "time"

// BatchMeta is the metadata of a batch: one FrameMeta per frame, in batch
// order. Probes read and modify it in place.
type BatchMeta struct {
	Frames []*FrameMeta
	// User holds user data attached to the batch, keyed by the user's choice.
	User map[string]any
}

// FrameMeta describes one frame of a batch.
type FrameMeta struct {
	// SourceID identifies the stream: the batcher's input (pad) index.
	SourceID int
	// BatchID is the frame's position in its batch; pass it to Buffer.Extract.
	BatchID int
	// FrameNumber counts the stream's frames from 0.
	FrameNumber int64
	// PTS is the stream's presentation timestamp of the frame.
	PTS time.Duration
	// NTPTimestamp is the wall-clock time at which the frame was captured
	// (generated, decoded or received); end-to-end latency is measured from it.
	NTPTimestamp time.Time
	// SourceWidth and SourceHeight are the frame's size as its source
	// delivered it; Width and Height its size in the batch.
	SourceWidth, SourceHeight int
	Width, Height             int
	// SensorID and SensorName name the stream's camera when known.
	SensorID, SensorName string
	// Objects are the detected (or user-added) objects.
	Objects []*ObjectMeta
	// Tensors are raw model outputs attached by inference with
	// output-tensor-meta.
	Tensors []*TensorMeta
	// Display are the drawing instructions for the on-screen display.
	Display []*DisplayMeta
	// User holds user data attached to the frame.
	User map[string]any
}

// UntrackedID is ObjectMeta.TrackID of an object no tracker has seen.
const UntrackedID int64 = -1

// ObjectMeta is one object in a frame.
type ObjectMeta struct {
	ClassID    int
	Label      string
	Confidence float32
	// TrackID is the tracker's persistent id, UntrackedID (-1) when untracked.
	TrackID           int64
	TrackerConfidence float32
	// Rect is the bounding box in pixels of the batch frame.
	Rect Rect
	// ComponentID is the gie-unique-id of the element that made the object.
	ComponentID int
	// Classifications are the results of secondary classifiers.
	Classifications []Classification
	// Parent is the object this one was found in, if any.
	Parent *ObjectMeta
	// Tensors are raw outputs of secondary models run on the object.
	Tensors []*TensorMeta
	// User holds user data attached to the object.
	User map[string]any
}

// NewObject returns an untracked object.
func NewObject(classID int, label string, confidence float32, r Rect) *ObjectMeta {
	return &ObjectMeta{ClassID: classID, Label: label, Confidence: confidence, TrackID: UntrackedID, Rect: r}
}

// Classification is one classifier's verdict on an object.
type Classification struct {
	ComponentID int
	ClassID     int
	Label       string
	Confidence  float32
}

// Rect is an axis-aligned box in pixels.
type Rect struct {
	Left, Top, Width, Height float32
}

// Right is Left+Width.
func (r Rect) Right() float32 { return r.Left + r.Width }

// Bottom is Top+Height.
func (r Rect) Bottom() float32 { return r.Top + r.Height }

// Area is Width*Height, 0 for empty boxes.
func (r Rect) Area() float32 {
	if r.Width <= 0 || r.Height <= 0 {
		return 0
	}
	return r.Width * r.Height
}

// IoU is the intersection over union of two boxes.
func (r Rect) IoU(o Rect) float32 {
	l, t := max(r.Left, o.Left), max(r.Top, o.Top)
	ri, b := min(r.Right(), o.Right()), min(r.Bottom(), o.Bottom())
	if ri <= l || b <= t {
		return 0
	}
	inter := (ri - l) * (b - t)
	return inter / (r.Area() + o.Area() - inter)
}

// TensorMeta holds the output layers of one model run, by layer name.
type TensorMeta struct {
	ComponentID int
	Layers      map[string]*Tensor
}

// Clone copies the batch metadata deeply enough that the copy can be
// modified without touching the original: frames, objects, display
// elements and the slices and maps that hold them. Tensors and user values
// are shared.
func (m *BatchMeta) Clone() *BatchMeta {
	c := &BatchMeta{Frames: make([]*FrameMeta, len(m.Frames)), User: cloneMap(m.User)}
	for i, f := range m.Frames {
		c.Frames[i] = f.Clone()
	}
	return c
}

// Clone copies the frame metadata (see BatchMeta.Clone). Parent links
// between objects of the frame are kept within the copy.
func (f *FrameMeta) Clone() *FrameMeta {
	c := *f
	c.User = cloneMap(f.User)
	if f.Objects != nil {
		c.Objects = make([]*ObjectMeta, len(f.Objects))
		remap := make(map[*ObjectMeta]*ObjectMeta, len(f.Objects))
		for i, o := range f.Objects {
			oc := *o
			oc.Classifications = append([]Classification(nil), o.Classifications...)
			oc.Tensors = append([]*TensorMeta(nil), o.Tensors...)
			oc.User = cloneMap(o.User)
			c.Objects[i] = &oc
			remap[o] = &oc
		}
		for _, o := range c.Objects {
			if p, ok := remap[o.Parent]; ok {
				o.Parent = p
			}
		}
	}
	c.Tensors = append([]*TensorMeta(nil), f.Tensors...)
	if f.Display != nil {
		c.Display = make([]*DisplayMeta, len(f.Display))
		for i, d := range f.Display {
			c.Display[i] = d.Clone()
		}
	}
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// UserClassifications is the FrameMeta.User key under which a primary
// classifier (Infer with process-mode 1, network-type 1) puts its verdicts
// on the whole frame, a []Classification.
const UserClassifications = "classifications"
