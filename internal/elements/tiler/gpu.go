package tiler

import (
	"fmt"

	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// gpuTiles composes batches whose frames are all in GPU memory on the GPU:
// vf_tile scales each frame into its tile of a device image of the output,
// which is downloaded once into the tiled (host) frame. One copy of the
// output instead of one of every frame, and no scaling on the CPU.
type gpuTiles struct {
	fn     *gpu.Function
	stream *gpu.Stream
	img    *gpu.DeviceMemory
	device int
	format media.ColorFormat
	w, h   int
	drawn  int // tiles drawn into img since the last download
}

// newGPUTiles prepares the kernel and the device image of a w x h output
// in format (RGB or RGBA) on device.
func newGPUTiles(device int, format media.ColorFormat, w, h int) (*gpuTiles, error) {
	m, err := gpu.ImageKernels(device)
	if err != nil {
		return nil, err
	}
	fn, err := m.Function("vf_tile")
	if err != nil {
		return nil, err
	}
	stream, err := gpu.NewStream(device)
	if err != nil {
		return nil, err
	}
	img, err := gpu.Alloc(device, format.FrameSize(w, h))
	if err != nil {
		stream.Close()
		return nil, err
	}
	return &gpuTiles{fn: fn, stream: stream, img: img, device: device, format: format, w: w, h: h}, nil
}

// fits reports whether g composes frames of b (every frame on g's device)
// into outputs of format and size w x h.
func (g *gpuTiles) fits(b *media.Buffer, format media.ColorFormat, w, h int) bool {
	if g == nil || g.format != format || g.w != w || g.h != h {
		return false
	}
	return onDevice(b, g.device)
}

// onDevice reports whether every frame of b is in the memory of device.
func onDevice(b *media.Buffer, device int) bool {
	for i := range b.BatchSize() {
		f := b.Frame(i)
		if !f.OnDevice() || f.CUDA.Device != device {
			return false
		}
	}
	return b.BatchSize() > 0
}

// draw queues frame f's scaling into tile t.
func (g *gpuTiles) draw(f *media.Frame, t tile) error {
	s := &f.Surface
	nv12, sc := int32(0), int32(s.Format.Channels())
	ks := [3]int32{0, 1, 2}
	switch s.Format {
	case media.NV12:
		nv12, sc = 1, 3
	case media.GRAY8:
		ks = [3]int32{0, 0, 0}
	case media.RGB, media.RGBA:
	default:
		return fmt.Errorf("tiler: %v frames in GPU memory are not tiled on the GPU", s.Format)
	}
	matrix := map[media.ColorMatrix]int32{media.BT601: 0, media.BT709: 1, media.BT2020: 2}[s.Matrix.Resolve(s.Height)]
	dc := int32(g.format.Channels())
	g.drawn++
	return g.fn.Launch(gpu.Dim3{X: uint32((t.w + 31) / 32), Y: uint32((t.h + 7) / 8)}, gpu.Dim3{X: 32, Y: 8}, 0, g.stream,
		s.CUDA.Ptrs[0], int32(s.CUDA.Pitches[0]), s.CUDA.Ptrs[1], int32(s.CUDA.Pitches[1]), nv12, sc, matrix,
		ks[0], ks[1], ks[2], int32(s.Width), int32(s.Height), g.img.Ptr, int32(g.w)*dc, dc,
		int32(t.x), int32(t.y), int32(t.w), int32(t.h), int32(1))
}

// finish downloads the composed image into out (packed, g's size and
// format) and waits for it.
func (g *gpuTiles) finish(out *media.Frame) error {
	g.drawn = 0
	n := g.format.FrameSize(g.w, g.h)
	if out.Strides[0] != g.w*g.format.Channels() || len(out.Data) < out.Offsets[0]+n {
		return fmt.Errorf("tiler: output frame is not packed")
	}
	if err := g.stream.Download(out.Data[out.Offsets[0]:out.Offsets[0]+n], g.img, 0); err != nil {
		return err
	}
	return g.stream.Sync()
}

func (g *gpuTiles) close() {
	if g != nil {
		g.img.Free()
		g.stream.Close()
	}
}
