package media

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/vidflow/vidflow/internal/gpu"
)

// DevicePlanes are the planes of a frame in CUDA device memory: a
// decoder's surfaces, a GPU converter's output. The memory belongs to the
// frame's owner, which frees or recycles it when the frame is released.
type DevicePlanes struct {
	Device  int               // CUDA device ordinal
	Ptrs    [3]unsafe.Pointer // plane i's first byte
	Pitches [3]int            // plane i's bytes from one row to the next
}

// ColorMatrix is the matrix that turns YUV pixels into RGB, limited range.
type ColorMatrix int

// Matrices. MatrixAuto is what GStreamer assumes for YUV caps without
// colorimetry: BT.601 up to 576 lines, BT.709 above, BT.2020 from 2160.
const (
	MatrixAuto ColorMatrix = iota
	BT601
	BT709
	BT2020
)

// Resolve returns the matrix used for a frame of height lines.
func (m ColorMatrix) Resolve(height int) ColorMatrix {
	switch {
	case m != MatrixAuto:
		return m
	case height >= 2160:
		return BT2020
	case height > 576:
		return BT709
	}
	return BT601
}

var deviceDownloads atomic.Int64

// DeviceDownloads counts the host copies made of device frames
// (HostSurface): work that a device pipeline should not need, for stats.
func DeviceDownloads() int64 { return deviceDownloads.Load() }

// NewDeviceFrame returns a frame with one reference over planes in CUDA
// memory: RGB, RGBA or GRAY8 (one plane) or NV12 (Y, then interleaved UV).
// owner gets it back when the last reference is dropped, and frees or
// recycles the memory: the frame never frees it.
func NewDeviceFrame(format ColorFormat, width, height int, planes DevicePlanes, owner FrameOwner) (*Frame, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("NewDeviceFrame: invalid size %dx%d", width, height)
	}
	rows := []int{width * max(format.Channels(), 1)}
	switch format {
	case RGB, RGBA, GRAY8:
	case NV12:
		rows = append(rows, 2*((width+1)/2))
	default:
		return nil, fmt.Errorf("NewDeviceFrame: %v frames are not kept in device memory (RGB, RGBA, GRAY8, NV12)", format)
	}
	for i, n := range rows {
		if planes.Ptrs[i] == nil || planes.Pitches[i] < n {
			return nil, fmt.Errorf("NewDeviceFrame: %v %dx%d plane %d: pointer %p, pitch %d, need at least %d", format, width, height, i, planes.Ptrs[i], planes.Pitches[i], n)
		}
	}
	p := planes
	s := Surface{Format: format, Width: width, Height: height, Device: fmt.Sprintf("cuda:%d", planes.Device), CUDA: &p}
	return NewFrame(s, owner), nil
}

// OnDevice reports whether the pixels are in CUDA memory.
func (s *Surface) OnDevice() bool { return s.CUDA != nil }

// HostSurface returns the frame's pixels in host memory: the frame's own
// surface for a host frame, or, for a device frame, a tightly packed copy
// made on first use (counted by DeviceDownloads) and kept until the frame
// is released. The copy is not written back.
func (f *Frame) HostSurface() (*Surface, error) {
	if f.CUDA == nil {
		return &f.Surface, nil
	}
	f.hostMu.Lock()
	defer f.hostMu.Unlock()
	if f.host != nil {
		return f.host, nil
	}
	s := PackedSurface(f.Format, f.Width, f.Height, make([]byte, f.Format.FrameSize(f.Width, f.Height)))
	s.Matrix = f.Matrix
	for i := range s.Planes() {
		rows := f.Height
		if i > 0 {
			rows = (f.Height + 1) / 2
		}
		if err := gpu.CopyToHost2D(s.Data[s.Offsets[i]:], s.Strides[i], f.CUDA.Ptrs[i], f.CUDA.Pitches[i], s.Strides[i], rows); err != nil {
			return nil, fmt.Errorf("host copy of a %v %dx%d frame on %s: %v", f.Format, f.Width, f.Height, f.Device, err)
		}
	}
	deviceDownloads.Add(1)
	f.host = &s
	return f.host, nil
}

// dropHost forgets the host copy when the frame is released: a recycled
// device frame holds other pixels next time.
func (f *Frame) dropHost() {
	if f.CUDA != nil {
		f.hostMu.Lock()
		f.host = nil
		f.hostMu.Unlock()
	}
}

// extractDevice is Extract for a frame in CUDA memory: a kDLCUDA view of
// a packed frame, rows at its pitch, without a copy.
func extractDevice(f *Frame, batchID int) (*Tensor, error) {
	ch := f.Format.Channels()
	if ch == 0 {
		return nil, fmt.Errorf("Extract: frame %d is %v in CUDA memory: only RGB, RGBA and GRAY8 device frames are viewed (HostSurface copies others)", batchID, f.Format)
	}
	return &Tensor{dtype: Uint8, dev: f.CUDA.Ptrs[0], devID: f.CUDA.Device, owner: f, layout: "HWC",
		shape: []int{f.Height, f.Width, ch}, strides: []int{f.CUDA.Pitches[0], ch, 1}}, nil
}
