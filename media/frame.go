package media

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Surface is the pixels of one frame: its format, size and planes. Data
// holds all planes; plane i starts at Offsets[i] and has rows of Strides[i]
// bytes.
type Surface struct {
	Format        ColorFormat
	Width, Height int
	Data          []byte
	Strides       [3]int
	Offsets       [3]int
	// Device is where Data lives: "cpu" (the default when empty), or
	// "cuda:N" for a frame in CUDA memory (NewDeviceFrame).
	Device string
	// CUDA holds the planes of a frame in CUDA device memory (Data is
	// then nil); nil for frames in host memory.
	CUDA *DevicePlanes
	// Matrix is the YUV matrix of NV12 and I420 pixels (MatrixAuto:
	// GStreamer's default for the frame's height).
	Matrix ColorMatrix
}

// PackedSurface describes tightly packed pixels of the given format.
func PackedSurface(format ColorFormat, width, height int, data []byte) Surface {
	s := Surface{Format: format, Width: width, Height: height, Data: data}
	switch format {
	case RGB, RGBA, GRAY8:
		s.Strides[0] = width * format.Channels()
	case I420:
		cw, ch := (width+1)/2, (height+1)/2
		s.Strides = [3]int{width, cw, cw}
		s.Offsets = [3]int{0, width * height, width*height + cw*ch}
	case NV12:
		s.Strides = [3]int{width, 2 * ((width + 1) / 2), 0}
		s.Offsets = [3]int{0, width * height, 0}
	}
	return s
}

// Planes is the number of planes of the surface's format.
func (s *Surface) Planes() int {
	switch s.Format {
	case I420:
		return 3
	case NV12:
		return 2
	}
	return 1
}

// Plane returns plane i (0 for packed formats), rows at Strides[i].
func (s *Surface) Plane(i int) []byte {
	end := len(s.Data)
	if i+1 < s.Planes() {
		end = s.Offsets[i+1]
	}
	return s.Data[s.Offsets[i]:end]
}

// Row returns row y of plane 0, without padding.
func (s *Surface) Row(y int) []byte {
	o := s.Offsets[0] + y*s.Strides[0]
	return s.Data[o : o+s.Width*max(1, s.Format.Channels())]
}

// Packed reports whether the surface has no row padding.
func (s *Surface) Packed() bool {
	return s.Format.Raw() && len(s.Data) == s.Format.FrameSize(s.Width, s.Height) &&
		s.Strides == PackedSurface(s.Format, s.Width, s.Height, nil).Strides
}

// Check verifies that Data is large enough for the format, size and strides.
func (s *Surface) Check() error {
	if !s.Format.Raw() {
		return nil
	}
	if s.Width <= 0 || s.Height <= 0 {
		return fmt.Errorf("%s frame of invalid size %dx%d", s.Format, s.Width, s.Height)
	}
	ch := (s.Height + 1) / 2
	need := s.Offsets[0] + s.Strides[0]*(s.Height-1) + s.Width*max(1, s.Format.Channels())
	switch s.Format {
	case I420:
		need = max(need, s.Offsets[2]+s.Strides[2]*(ch-1)+(s.Width+1)/2)
	case NV12:
		need = max(need, s.Offsets[1]+s.Strides[1]*(ch-1)+2*((s.Width+1)/2))
	}
	if len(s.Data) < need {
		return fmt.Errorf("%s %dx%d frame needs %d bytes, buffer has %d", s.Format, s.Width, s.Height, need, len(s.Data))
	}
	return nil
}

// A FrameOwner gets a frame back when its last reference is dropped: a pool
// recycles it, a GStreamer sample unrefs its buffer, an imported DLPack
// tensor calls its deleter.
type FrameOwner interface {
	ReleaseFrame(*Frame)
}

// Frame is a reference-counted surface. The holder of a reference calls
// Unref exactly once when done; the last Unref hands the frame to its owner.
type Frame struct {
	Surface
	refs     atomic.Int32
	owner    FrameOwner
	readOnly bool
	hookMu   sync.Mutex
	hooks    []func() // run when the last reference goes (OnRelease)
	hostMu   sync.Mutex
	host     *Surface // a device frame's host copy (HostSurface)
}

var liveFrames atomic.Int64

// LiveFrames is the number of frames alive in the process: made and not yet
// released by their last holder. It is zero when every pipeline has ended
// and user code kept no references.
func LiveFrames() int64 { return liveFrames.Load() }

// NewFrame returns a frame with one reference. owner may be nil for
// garbage-collected memory.
func NewFrame(s Surface, owner FrameOwner) *Frame {
	f := &Frame{Surface: s, owner: owner}
	f.refs.Store(1)
	liveFrames.Add(1)
	return f
}

// Ref adds a reference.
func (f *Frame) Ref() {
	if f.refs.Add(1) <= 1 {
		panic("vidflow: Ref of a released frame")
	}
}

// Shared reports whether the frame has more than one reference: a holder
// that wants to change its pixels must then copy them first (copy-on-write),
// since other branches of a fork see the same frame.
func (f *Frame) Shared() bool { return f.refs.Load() > 1 }

// SetReadOnly marks the frame's memory as not to be written (a decoder's
// buffer mapped for reading, say).
func (f *Frame) SetReadOnly() { f.readOnly = true }

// Writable reports whether the holder of the frame may change its pixels
// in place: the memory is writable and nobody else holds the frame.
// Otherwise copy it first.
func (f *Frame) Writable() bool { return !f.readOnly && !f.Shared() }

// Unref drops a reference; the last one returns the frame to its owner.
func (f *Frame) Unref() {
	switch n := f.refs.Add(-1); {
	case n == 0:
		f.hookMu.Lock()
		hooks := f.hooks
		f.hooks = nil
		f.hookMu.Unlock()
		for _, h := range hooks {
			h()
		}
		f.dropHost()
		liveFrames.Add(-1)
		if f.owner != nil {
			f.owner.ReleaseFrame(f)
		}
	case n < 0:
		panic("vidflow: frame released twice")
	}
}

// OnRelease registers fn to run when the frame's last reference is
// dropped: resources tied to the frame's life (GPU tensors of its
// metadata) are freed then.
func (f *Frame) OnRelease(fn func()) {
	f.hookMu.Lock()
	f.hooks = append(f.hooks, fn)
	f.hookMu.Unlock()
}

// Pool hands out frames of one format and size, at most Cap at a time, and
// takes them back when released. Get blocks while all are in use, which
// bounds the memory of a pipeline and pushes back on its sources.
type Pool struct {
	name   string
	format ColorFormat
	w, h   int
	free   chan *Frame
	made   atomic.Int64
	cap    int
}

// NewPool returns a pool of up to capacity frames.
func NewPool(name string, format ColorFormat, width, height, capacity int) *Pool {
	return &Pool{name: name, format: format, w: width, h: height, free: make(chan *Frame, capacity), cap: capacity}
}

// Get returns a frame with one reference, waiting while all are in use.
// The pixels are those of the frame's last use.
func (p *Pool) Get(ctx context.Context) (*Frame, error) {
	select {
	case f := <-p.free:
		return p.revive(f), nil
	default:
	}
	if n := p.made.Add(1); n <= int64(p.cap) {
		size := p.format.FrameSize(p.w, p.h)
		return NewFrame(PackedSurface(p.format, p.w, p.h, make([]byte, size)), p), nil
	}
	p.made.Add(-1)
	select {
	case f := <-p.free:
		return p.revive(f), nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (p *Pool) revive(f *Frame) *Frame {
	f.refs.Store(1)
	liveFrames.Add(1)
	return f
}

// ReleaseFrame implements FrameOwner.
func (p *Pool) ReleaseFrame(f *Frame) { p.free <- f }

// Outstanding is the number of frames handed out and not yet returned.
func (p *Pool) Outstanding() int { return int(p.made.Load()) - len(p.free) }

// Name is the pool's name, for statistics.
func (p *Pool) Name() string { return p.name }

// Matches reports whether the pool makes frames of this format and size.
// Cap is the most frames the pool hands out at once.
func (p *Pool) Cap() int { return p.cap }

func (p *Pool) Matches(format ColorFormat, width, height int) bool {
	return p.format == format && p.w == width && p.h == height
}
