package vidflow

import (
	"unsafe"

	"github.com/vidflow/vidflow/internal/core"
	"github.com/vidflow/vidflow/internal/engine"
)

// The data model. These are the types of package internal/core, re-exported.
type (
	// Buffer is a batch of frames with their metadata (or one frame of an
	// unbatched stream), reference-counted. Buffers handed to probes and
	// retrievers are valid until the callback returns: Ref to keep one, or
	// Clone an extracted Tensor.
	Buffer = core.Buffer
	// Surface is the pixels of one frame: format, size, planes.
	Surface = core.Surface
	// Tensor is an n-dimensional array (uint8, int8, int32, int64, float32,
	// float64) that crosses to other libraries through DLPack without copies.
	Tensor = core.Tensor
	// DType is a tensor's element type.
	DType = core.DType
	// ColorFormat is a frame's pixel layout: RGB, RGBA, I420, NV12, GRAY8,
	// or JPEG and PNG for encoded input.
	ColorFormat = core.ColorFormat
	// StreamInfo describes the frames a BufferProvider generates.
	StreamInfo = core.StreamInfo
	// BufferProvider generates the frames of one stream for Inject;
	// Generate returns io.EOF to end the stream.
	BufferProvider = core.BufferProvider
	// BufferRetriever consumes the buffers reaching a Retrieve sink.
	BufferRetriever = core.BufferRetriever

	// BatchMeta is a batch's metadata: one FrameMeta per frame.
	BatchMeta = core.BatchMeta
	// FrameMeta is one frame's metadata: stream, number, timestamps, sizes,
	// objects, tensors, display elements, user data.
	FrameMeta = core.FrameMeta
	// ObjectMeta is one detected or user-added object.
	ObjectMeta = core.ObjectMeta
	// Rect is a box in pixels.
	Rect = core.Rect
	// Classification is a secondary classifier's verdict on an object.
	Classification = core.Classification
	// TensorMeta holds a model's output layers by name.
	TensorMeta = core.TensorMeta

	// DisplayMeta is a set of drawing instructions for a frame.
	DisplayMeta = core.DisplayMeta
	// DisplayText is a text with an optional background.
	DisplayText = core.DisplayText
	// DisplayRect is a rectangle with border and optional fill.
	DisplayRect = core.DisplayRect
	// DisplayLine is a line.
	DisplayLine = core.DisplayLine
	// DisplayArrow is a line with heads.
	DisplayArrow = core.DisplayArrow
	// DisplayCircle is a circle with optional fill.
	DisplayCircle = core.DisplayCircle
	// ArrowHead says which ends of an arrow have a head.
	ArrowHead = core.ArrowHead
	// Color is an RGBA colour, components 0..1.
	Color = core.Color
	// Font is a font family, size and colour.
	Font = core.Font

	// Message is what a pipeline tells its OnMessage callback: one of
	// *EOSMessage, *StreamEOSMessage, *ErrorMessage, *WarningMessage, *InfoMessage,
	// *StateMessage, *StreamMessage.
	Message = engine.Message
	// EOSMessage: every stream ended and the pipeline finished.
	EOSMessage = engine.EOSMessage
	// StreamEOSMessage: one stream of a batch ended.
	StreamEOSMessage = engine.StreamEOSMessage
	// ErrorMessage carries the error that stopped the pipeline.
	ErrorMessage = engine.ErrorMessage
	// WarningMessage is a problem that did not stop the pipeline.
	WarningMessage = engine.WarningMessage
	// InfoMessage reports a choice an element made at start (decoder,
	// execution provider, device).
	InfoMessage = engine.InfoMessage
	// StateMessage: the pipeline or an element changed state.
	StateMessage = engine.StateMessage
	// StreamMessage: a stream was added to or removed from a batch.
	StreamMessage = engine.StreamMessage
	// State is a pipeline's or element's state.
	State = engine.State
	// NodeStats are one element's statistics.
	NodeStats = engine.NodeStats
)

// Color formats.
const (
	RGB   = core.RGB
	RGBA  = core.RGBA
	I420  = core.I420
	NV12  = core.NV12
	GRAY8 = core.GRAY8
	JPEG  = core.JPEG
	PNG   = core.PNG
)

// Tensor element types.
const (
	Uint8   = core.Uint8
	Int8    = core.Int8
	Int32   = core.Int32
	Int64   = core.Int64
	Float32 = core.Float32
	Float64 = core.Float64
)

// States.
const (
	StateEmpty   = engine.StateEmpty
	StateReady   = engine.StateReady
	StatePaused  = engine.StatePaused
	StatePlaying = engine.StatePlaying
)

// Arrow heads.
const (
	ArrowEnd   = core.ArrowEnd
	ArrowStart = core.ArrowStart
	ArrowBoth  = core.ArrowBoth
)

// UntrackedID is the TrackID of an object no tracker has seen.
const UntrackedID = core.UntrackedID

// NewBuffer returns a one-frame buffer over data (not copied), pixels as
// the providing BufferProvider's StreamInfo describes them. The buffer
// takes data: do not change it afterwards.
func NewBuffer(data []byte) *Buffer { return core.NewBuffer(data) }

// NewTensor makes a tensor over data without copying. shape's product must
// equal len(data); layout names the axes ("HWC", "NCHW") or is "".
func NewTensor[T uint8 | int8 | int32 | int64 | float32 | float64](data []T, shape []int, layout string) (*Tensor, error) {
	return core.NewTensor(data, shape, layout)
}

// TensorData returns a contiguous tensor's elements as a []T without copying.
func TensorData[T uint8 | int8 | int32 | int64 | float32 | float64](t *Tensor) ([]T, error) {
	return core.Data[T](t)
}

// FromDLPack takes a *DLManagedTensor from another library without copying;
// Tensor.Release calls its deleter. CPU tensors of the six element types are
// accepted; other devices and types are errors (the caller keeps p then).
func FromDLPack(p unsafe.Pointer) (*Tensor, error) { return core.FromDLPack(p) }

// ParseColorFormat reads a format name ("RGB", "I420", ...).
func ParseColorFormat(s string) (ColorFormat, error) { return core.ParseColorFormat(s) }

// NewObject returns an untracked object for a probe to add to a frame.
func NewObject(classID int, label string, confidence float32, r Rect) *ObjectMeta {
	return core.NewObject(classID, label, confidence, r)
}

// LiveBuffers is the number of buffers alive in the process; with
// LiveFrames it is zero after every pipeline ended, unless user code kept
// references.
func LiveBuffers() int64 { return core.LiveBuffers() }

// LiveFrames is the number of frames alive in the process.
func LiveFrames() int64 { return core.LiveFrames() }
