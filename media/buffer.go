package media

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Buffer is a batch of frames with their metadata, or a single frame of an
// unbatched stream. It is reference-counted: whoever holds it calls Release
// once when done. Buffers handed to probes and retrievers are valid until
// the callback returns; call Ref to keep one longer (and Release it later),
// or Clone an extracted tensor.
type Buffer struct {
	frames []*Frame
	meta   *BatchMeta
	pts    time.Duration
	refs   atomic.Int32
}

var liveBuffers atomic.Int64

// LiveBuffers is the number of buffers alive in the process (made and not
// yet released by their last holder).
func LiveBuffers() int64 { return liveBuffers.Load() }

// NewBuffer returns a one-frame buffer holding data, pixels as described by
// the StreamInfo of the provider that returns it. The buffer takes data:
// the caller must not change it afterwards.
func NewBuffer(data []byte) *Buffer {
	return NewBatch([]*Frame{NewFrame(Surface{Data: data}, nil)}, nil)
}

// NewBatch returns a buffer holding frames (taking over one reference of
// each) and their metadata. meta may be nil: frame metadata are then made
// from the frames' sizes.
func NewBatch(frames []*Frame, meta *BatchMeta) *Buffer {
	if meta == nil {
		meta = &BatchMeta{Frames: make([]*FrameMeta, len(frames))}
		for i, f := range frames {
			meta.Frames[i] = &FrameMeta{BatchID: i, Width: f.Width, Height: f.Height, SourceWidth: f.Width, SourceHeight: f.Height}
		}
	}
	b := &Buffer{frames: frames, meta: meta}
	b.refs.Store(1)
	liveBuffers.Add(1)
	return b
}

// BatchSize is the number of frames in the buffer.
func (b *Buffer) BatchSize() int { return len(b.frames) }

// Meta returns the batch metadata, which probes may modify.
func (b *Buffer) Meta() *BatchMeta { return b.meta }

// Timestamp is the buffer's presentation timestamp: its earliest frame's.
func (b *Buffer) Timestamp() time.Duration { return b.pts }

// SetTimestamp sets the presentation timestamp.
func (b *Buffer) SetTimestamp(pts time.Duration) { b.pts = pts }

// Frame returns frame i (no new reference).
func (b *Buffer) Frame(i int) *Frame { return b.frames[i] }

// Surface returns the pixels of frame batchID.
func (b *Buffer) Surface(batchID int) (*Surface, error) {
	if batchID < 0 || batchID >= len(b.frames) {
		return nil, fmt.Errorf("batch id %d out of range (batch of %d frames)", batchID, len(b.frames))
	}
	return &b.frames[batchID].Surface, nil
}

// Extract returns a zero-copy view of frame batchID: uint8, shape [H, W, C]
// (layout "HWC") for packed formats, [H*3/2, W] ("HW") for tightly packed
// I420 and NV12 of even size, else the plain bytes ([N], "C"). A packed
// frame in CUDA memory gives a kDLCUDA view [H, W, C] with rows at its
// pitch. The view is valid while the buffer is; Clone it to keep it.
func (b *Buffer) Extract(batchID int) (*Tensor, error) {
	s, err := b.Surface(batchID)
	if err != nil {
		return nil, fmt.Errorf("Extract: %w", err)
	}
	f := b.frames[batchID]
	if s.CUDA != nil {
		return extractDevice(f, batchID)
	}
	t := &Tensor{dtype: Uint8, data: s.Data, owner: f}
	switch ch := s.Format.Channels(); {
	case ch > 0:
		t.shape = []int{s.Height, s.Width, ch}
		t.strides = []int{s.Strides[0], ch, 1}
		t.layout = "HWC"
		t.data = s.Data[s.Offsets[0]:]
		t.data = t.data[:t.span()]
	case (s.Format == I420 || s.Format == NV12) && s.Packed() && s.Width%2 == 0 && s.Height%2 == 0:
		t.shape = []int{s.Height * 3 / 2, s.Width}
		t.strides = []int{s.Width, 1}
		t.layout = "HW"
	case s.Format == FormatUnknown:
		return nil, fmt.Errorf("Extract: frame %d has no format yet", batchID)
	default:
		t.shape = []int{len(s.Data)}
		t.strides = []int{1}
		t.layout = "C"
	}
	return t, nil
}

// Ref adds a reference and returns the buffer.
func (b *Buffer) Ref() *Buffer {
	if b.refs.Add(1) <= 1 {
		panic("vidflow: Ref of a released buffer")
	}
	return b
}

// Release drops a reference; the last one releases the frames.
func (b *Buffer) Release() {
	switch n := b.refs.Add(-1); {
	case n == 0:
		liveBuffers.Add(-1)
		for _, f := range b.frames {
			f.Unref()
		}
		b.frames = nil
	case n < 0:
		panic("vidflow: buffer released twice")
	}
}

// Share returns a new buffer over the same frames (each gains a reference)
// with a deep copy of the metadata, for a second branch of a fork.
func (b *Buffer) Share() *Buffer {
	frames := make([]*Frame, len(b.frames))
	for i, f := range b.frames {
		f.Ref()
		frames[i] = f
	}
	c := NewBatch(frames, b.meta.Clone())
	c.pts = b.pts
	return c
}

// SetFrame replaces frame i (taking over one reference of f) and releases
// the old one.
func (b *Buffer) SetFrame(i int, f *Frame) {
	old := b.frames[i]
	b.frames[i] = f
	old.Unref()
}
