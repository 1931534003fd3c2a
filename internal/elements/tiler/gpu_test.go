package tiler

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// pattern is a w x h surface of format with smooth gradients and a
// sharp edge, different per seed.
func pattern(format media.ColorFormat, w, h, seed int) media.Surface {
	s := media.PackedSurface(format, w, h, make([]byte, format.FrameSize(w, h)))
	for i := range s.Data {
		x, y := (i/3)%w, (i/3)/w
		v := (x*3 + y*5 + seed*40) % 256
		if x > w/2 {
			v = 255 - v
		}
		s.Data[i] = byte(v)
	}
	return s
}

// upload copies s into GPU memory as a device frame that frees it.
func upload(t *testing.T, s media.Surface) *media.Frame {
	t.Helper()
	m, err := gpu.Alloc(0, len(s.Data))
	if err != nil {
		t.Fatal(err)
	}
	st, err := gpu.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Upload(m, 0, s.Data); err != nil || st.Sync() != nil {
		t.Fatal(err)
	}
	planes := media.DevicePlanes{Device: 0, Ptrs: [3]unsafe.Pointer{unsafe.Add(m.Ptr, s.Offsets[0]), unsafe.Add(m.Ptr, s.Offsets[1])},
		Pitches: [3]int{s.Strides[0], s.Strides[1]}}
	if s.Format != media.NV12 {
		planes.Ptrs[1], planes.Pitches[1] = nil, 0
	}
	f, err := media.NewDeviceFrame(s.Format, s.Width, s.Height, planes, freeOwner{m})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type freeOwner struct{ m *gpu.DeviceMemory }

func (o freeOwner) ReleaseFrame(*media.Frame) { o.m.Free() }

// tiled runs one batch of frames through a 320x90 tiler and returns the
// tiled frame's pixels.
func tiled(t *testing.T, frames []*media.Frame) []byte {
	t.Helper()
	r := kinds()
	var out []byte
	meta := &media.BatchMeta{}
	for i := range frames {
		meta.Frames = append(meta.Frames, &media.FrameMeta{SourceID: i, BatchID: i, Width: frames[i].Width, Height: frames[i].Height})
	}
	r.MustRegister(element.KindSpec{Kind: "one-batch", Role: element.RoleSource, New: func(*element.Config) (element.Element, error) {
		return element.ElementFunc(func(ctx context.Context, p element.Ports) error {
			return p.EmitBuffer(media.NewBatch(frames, meta))
		}), nil
	}})
	r.MustRegister(element.KindSpec{Kind: "keep", Role: element.RoleSink, New: func(*element.Config) (element.Element, error) {
		return &element.Sink{Fn: func(_ context.Context, b *media.Buffer) error {
			out = append([]byte(nil), b.Frame(0).Data...)
			return nil
		}}, nil
	}})
	g := engine.NewGraph("t", r)
	g.Add("one-batch", "src", nil)
	if _, err := g.Add("nvmultistreamtiler", "tiler", element.Props{"width": 320, "height": 90}); err != nil {
		t.Fatal(err)
	}
	g.Add("keep", "sink", nil)
	for _, l := range [][2]string{{"src", "tiler"}, {"tiler", "sink"}} {
		if err := g.Link(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := engine.Start(ctx, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Wait(); err != nil {
		t.Fatal(err)
	}
	return out
}

// On a GPU, batches in device memory (RGB and NV12 frames, scaled into
// their tiles) are composed there with one download of the output, and
// give what the CPU tiler gives from the same frames in host memory, within
// the rounding of their bilinear arithmetic; nothing is left allocated.
func TestTilerDeviceFramesGPU(t *testing.T) {
	if gpu.Devices() == 0 {
		t.Skip("no NVIDIA GPU")
	}
	if _, err := gpu.ImageKernels(0); err != nil {
		t.Skipf("no kernels: %v", err)
	}
	d0, _ := gpu.Allocations()
	for _, format := range []media.ColorFormat{media.RGB, media.NV12} {
		a, b := pattern(format, 200, 100, 1), pattern(format, 200, 100, 2)
		host := tiled(t, []*media.Frame{media.NewFrame(a, nil), media.NewFrame(b, nil)})
		n0 := media.DeviceDownloads()
		dev := tiled(t, []*media.Frame{upload(t, a), upload(t, b)})
		if n := media.DeviceDownloads() - n0; n != 0 {
			t.Errorf("%v: %d frames copied to the host to tile them", format, n)
		}
		if len(dev) != len(host) || len(host) != 320*90*3 {
			t.Fatalf("%v: tiled %d bytes on the GPU, %d on the CPU", format, len(dev), len(host))
		}
		var sum, worst int
		for i := range host {
			d := int(dev[i]) - int(host[i])
			d = max(d, -d)
			sum += d
			worst = max(worst, d)
		}
		t.Logf("%v: mean difference %.3f, largest %d", format, float64(sum)/float64(len(host)), worst)
		if mean := float64(sum) / float64(len(host)); mean > 1.5 {
			t.Errorf("%v: the GPU's tiles differ from the CPU's by %.2f on average", format, mean)
		}
	}
	if d, _ := gpu.Allocations(); d != d0 {
		t.Errorf("%d device allocations left (%d before)", d, d0)
	}
	if media.LiveFrames() != 0 {
		t.Errorf("%d frames held", media.LiveFrames())
	}
}
