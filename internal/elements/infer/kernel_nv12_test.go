package infer

import (
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// toNV12 converts a packed RGB surface to NV12, BT.709 limited range, the
// chroma of each 2x2 block averaged (as an encoder would).
func toNV12(s *media.Surface) media.Surface {
	w, h := s.Width&^1, s.Height&^1
	out := media.PackedSurface(media.NV12, w, h, make([]byte, media.NV12.FrameSize(w, h)))
	out.Matrix = media.BT709 // the photos are 576 lines or fewer: auto would be BT.601
	px := func(x, y int) (float64, float64, float64) {
		p := s.Data[y*s.Strides[0]+3*x:]
		return float64(p[0]), float64(p[1]), float64(p[2])
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := px(x, y)
			out.Data[y*w+x] = byte(min(max(16+(0.2126*r+0.7152*g+0.0722*b)*219/255+0.5, 0), 255))
		}
	}
	uv := out.Data[out.Offsets[1]:]
	for y := 0; y < h; y += 2 {
		for x := 0; x < w; x += 2 {
			var u, v float64
			for _, d := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				r, g, b := px(x+d[0], y+d[1])
				u += (-0.1146*r - 0.3854*g + 0.5*b) * 224 / 255 / 4
				v += (0.5*r - 0.4542*g - 0.0458*b) * 224 / 255 / 4
			}
			uv[(y/2)*w+x] = byte(min(max(128+u+0.5, 0), 255))
			uv[(y/2)*w+x+1] = byte(min(max(128+v+0.5, 0), 255))
		}
	}
	return out
}

// fromNV12 is the kernel's NV12 to RGB conversion in Go (BT.709, chroma
// repeated): the CPU reference of the NV12 path.
func fromNV12(s media.Surface) media.Surface {
	out := media.PackedSurface(media.RGB, s.Width, s.Height, make([]byte, 3*s.Width*s.Height))
	clamp := func(x float32) byte { return byte(int(min(max(x, 0), 255) + 0.5)) }
	uv := s.Data[s.Offsets[1]:]
	for y := 0; y < s.Height; y++ {
		for x := 0; x < s.Width; x++ {
			c := float32(1.164383) * (float32(s.Data[y*s.Strides[0]+x]) - 16)
			u := float32(uv[(y/2)*s.Strides[1]+x/2*2]) - 128
			v := float32(uv[(y/2)*s.Strides[1]+x/2*2+1]) - 128
			p := out.Data[3*(y*s.Width+x):]
			p[0], p[1], p[2] = clamp(c+1.792741*v), clamp(c-0.213249*u-0.532909*v), clamp(c+2.112402*u)
		}
	}
	return out
}

// upload copies a packed host surface into device memory with a pitch of
// its own (rows padded to 512 bytes, as decoders pad) and wraps it as a
// device frame that frees the memory when released.
func upload(t testing.TB, s media.Surface) *media.Frame {
	t.Helper()
	planes := media.DevicePlanes{}
	var mems []*gpu.DeviceMemory
	rows := [2]int{s.Height, (s.Height + 1) / 2}
	for i := range s.Planes() {
		pitch := (s.Strides[i] + 511) &^ 511
		m, err := gpu.Alloc(0, pitch*rows[i])
		if err != nil {
			t.Fatal(err)
		}
		mems = append(mems, m)
		padded := make([]byte, pitch*rows[i])
		for y := 0; y < rows[i]; y++ {
			copy(padded[y*pitch:], s.Data[s.Offsets[i]+y*s.Strides[i]:s.Offsets[i]+(y+1)*s.Strides[i]])
		}
		st, _ := gpu.NewStream(0)
		_ = st.Upload(m, 0, padded)
		_ = st.Sync()
		st.Close()
		planes.Ptrs[i], planes.Pitches[i] = m.Ptr, pitch
	}
	f, err := media.NewDeviceFrame(s.Format, s.Width, s.Height, planes, freeOwner(mems))
	if err != nil {
		t.Fatal(err)
	}
	f.Matrix = s.Matrix
	return f
}

// freeOwner frees a device frame's memory when it is released.
type freeOwner []*gpu.DeviceMemory

func (o freeOwner) ReleaseFrame(*media.Frame) {
	for _, m := range o {
		m.Free()
	}
}

// NV12 frames, from host memory (uploaded) and from device memory (read
// in place, rows at a pitch), give what the CPU path gives on the same
// frames converted to RGB as the kernel converts them; a device RGB frame
// is read in place too, its DLPack view is kDLCUDA, its host copy is
// made once and counted, and every allocation is freed.
func TestKernelNV12AndDeviceFrames(t *testing.T) {
	needKernels(t)
	d0, h0 := gpu.Allocations()
	// Registered first, run last: after the preprocessors' clean-ups.
	t.Cleanup(func() { checkAllocations(t, "after the NV12 and device frame tests", d0, h0) })
	for _, photo := range []string{"dog.jpg", "horses.jpg"} {
		pb := photoBatch(t, photo, 1)
		src, _ := pb.Surface(0)
		nv := toNV12(src)
		rgb := fromNV12(nv)
		for _, tc := range kernelCases()[:2] {
			cfg := DefaultConfig()
			tc.cfg(cfg)
			k := newKernelPre(t, cfg, tc.w, tc.h, tc.c, tc.nhwc, tc.out8, 1)
			want := cpuInput(t, newPreprocessor(cfg, tc.w, tc.h, tc.c, tc.nhwc), &rgb, region{0, 0, rgb.Width, rgb.Height}, tc.out8)
			host := media.NewBatch([]*media.Frame{media.NewFrame(nv, nil)}, nil)
			compareInputs(t, photo+" NV12 host "+tc.name, k.run(t, host, nil), want, tc.out8)
			host.Release()
			dev := media.NewBatch([]*media.Frame{upload(t, nv)}, nil)
			compareInputs(t, photo+" NV12 device "+tc.name, k.run(t, dev, nil), want, tc.out8)
			dev.Release()
			drgb := media.NewBatch([]*media.Frame{upload(t, rgb)}, nil)
			compareInputs(t, photo+" RGB device "+tc.name, k.run(t, drgb, nil), want, tc.out8)
			checkDeviceViews(t, drgb, &rgb)
			drgb.Release()
			if k.g.direct != 2 || k.g.uploaded != 1 {
				t.Errorf("%d device frames read in place, %d host frames uploaded; want 2, 1", k.g.direct, k.g.uploaded)
			}
		}
		pb.Release()
	}
}

// checkDeviceViews: Extract of a device RGB frame is a kDLCUDA view at
// the frame's pitch whose host copy is the frame; HostSurface copies
// once.
func checkDeviceViews(t *testing.T, b *media.Buffer, want *media.Surface) {
	t.Helper()
	v, err := b.Extract(0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Device() != "cuda:0" || v.DevicePointer() == nil {
		t.Errorf("Extract of a device frame: on %s", v.Device())
	}
	c, err := v.CloneErr()
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Bytes()) != string(want.Data) {
		t.Error("the device view's host copy is not the frame")
	}
	n := media.DeviceDownloads()
	f := b.Frame(0)
	hs, err := f.HostSurface()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.HostSurface(); err != nil || string(hs.Data) != string(want.Data) || media.DeviceDownloads() != n+1 {
		t.Errorf("HostSurface: %v, same pixels %v, %d downloads (want 1)", err, string(hs.Data) == string(want.Data), media.DeviceDownloads()-n)
	}
}

func checkAllocations(t *testing.T, when string, d0, h0 int64) {
	t.Helper()
	if d, h := gpu.Allocations(); d != d0 || h != h0 {
		t.Errorf("%s: %d device and %d host allocations, want %d and %d", when, d, h, d0, h0)
	}
}

// The element on the GPU scales with the kernel (scaling-compute-hw 0 and
// 1) and finds what the CPU provider finds with the CPU preprocessor, for
// the GPU model (uint8 NHWC) and the float model (NCHW); every device
// allocation is freed after.
func TestGPUModelOnGPUKernel(t *testing.T) {
	needKernels(t)
	d0, h0 := gpu.Allocations()
	for _, hw := range []int{0, 1} {
		e, err := gpuConfig(t, element.Props{"batch-size": 2})
		if err != nil {
			t.Fatal(err)
		}
		e.cfg.ScalingComputeHW = hw
		r, err := e.start()
		if err != nil {
			t.Fatal(err)
		}
		if r.gpre == nil {
			t.Fatalf("scaling-compute-hw %d: %s (%s)", hw, r.preprocessing(), r.preNote)
		}
		t.Log(r.preprocessing())
		rc := startOn(t, "cpu")
		for _, photo := range []string{"dog.jpg", "person.jpg", "horses.jpg"} {
			sameObjects(t, photo, detectOn(t, r, photo), detectOn(t, rc, photo), 0.01, 1)
		}
		r.close()
		rc.close()
	}
	f := centerNet(t, element.Props{"batch-size": 2, "execution-provider": "cuda"})
	rf, err := f.start()
	if err != nil {
		t.Fatal(err)
	}
	fc := centerNet(t, element.Props{"batch-size": 2, "intra-op-threads": 1})
	rfc, err := fc.start()
	if err != nil {
		t.Fatal(err)
	}
	if rf.gpre == nil {
		t.Errorf("float model: %s (%s)", rf.preprocessing(), rf.preNote)
	}
	for _, photo := range []string{"dog.jpg", "person.jpg"} {
		sameObjects(t, "float model "+photo, detectOn(t, rf, photo), detectOn(t, rfc, photo), 0.01, 1)
	}
	rf.close()
	rfc.close()
	checkAllocations(t, "after close", d0, h0)
}

// startOn starts a runner of the GPU model on provider, batch 2.
func startOn(t *testing.T, provider string) *runner {
	t.Helper()
	e, err := gpuConfig(t, element.Props{"execution-provider": provider, "batch-size": 2})
	if err == nil {
		var r *runner
		if r, err = e.start(); err == nil {
			return r
		}
	}
	t.Fatal(err)
	return nil
}

// BenchmarkKernelPreprocess scales batches of 8 photos into the GPU
// model's input on the GPU (host frames: copy, upload, kernel).
func BenchmarkKernelPreprocess(b *testing.B) {
	needKernels(b)
	cfg := DefaultConfig()
	cfg.NetScaleFactor, cfg.ScalingFilter = 1, 1
	k := newKernelPre(b, cfg, 512, 512, 3, true, true, 8)
	buf := photoBatch(b, "dog.jpg", 8)
	defer buf.Release()
	b.ResetTimer()
	for range b.N {
		k.run(b, buf, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*8), "µs/image")
}
