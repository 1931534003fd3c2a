package infer

import (
	"fmt"
	"math"
	"testing"
	"unsafe"

	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// needKernels skips a test that runs the preprocessing kernel when this
// machine cannot.
func needKernels(t testing.TB) {
	t.Helper()
	if err := gpu.LoadKernels(); err != nil {
		t.Skipf("no GPU kernels: %v", err)
	}
}

// kernelPre is a GPU preprocessor writing into device memory of its own
// (no session): what the runner uses, with the CPU preprocessor of the
// same config beside it.
type kernelPre struct {
	g   *gpuPreprocessor
	out *gpu.DeviceMemory
	n   int // images
}

func newKernelPre(t testing.TB, cfg *Config, w, h, c int, nhwc, out8 bool, n int) *kernelPre {
	t.Helper()
	m, err := gpu.ImageKernels(cfg.GPUID)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := m.Function("vf_preprocess")
	if err != nil {
		t.Fatal(err)
	}
	s, err := gpu.NewStream(cfg.GPUID)
	if err != nil {
		t.Fatal(err)
	}
	per := w * h * c
	if !out8 {
		per *= 4
	}
	out, err := gpu.Alloc(cfg.GPUID, per*n)
	if err != nil {
		t.Fatal(err)
	}
	k := &kernelPre{g: &gpuPreprocessor{p: newPreprocessor(cfg, w, h, c, nhwc), fn: fn, target: m.Target, device: cfg.GPUID,
		stream: s, dst: out.Ptr, per: per, out8: out8}, out: out, n: n}
	t.Cleanup(func() {
		k.g.close()
		s.Close()
		out.Free()
	})
	return k
}

// run preprocesses the frames of b (whole, or roi when set) on the GPU
// and returns the input's bytes.
func (k *kernelPre) run(t testing.TB, b *media.Buffer, roi *region) []byte {
	t.Helper()
	slots := make([]slot, b.BatchSize())
	for i, fm := range b.Meta().Frames {
		slots[i] = slot{fm: fm, roi: region{0, 0, fm.Width, fm.Height}}
		if roi != nil {
			slots[i].roi = *roi
		}
	}
	if err := k.g.fill(b, slots, 2); err != nil {
		t.Fatal(err)
	}
	host := make([]byte, k.g.per*len(slots))
	if err := k.g.stream.Download(host, k.out, 0); err != nil {
		t.Fatal(err)
	}
	if err := k.g.stream.Sync(); err != nil {
		t.Fatal(err)
	}
	return host
}

// cpuInput preprocesses surface s (roi) on the CPU into image bytes as
// the kernel writes them.
func cpuInput(t testing.TB, p *preprocessor, s *media.Surface, roi region, out8 bool) []byte {
	t.Helper()
	n := p.w * p.h * p.c
	in := inputMem{per: n}
	if out8 {
		in.u8 = make([]byte, n)
	} else {
		in.f32 = make([]float32, n)
	}
	if _, err := in.fill(p, 0, s, roi); err != nil {
		t.Fatal(err)
	}
	if out8 {
		return in.u8
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&in.f32[0])), 4*n)
}

// compareInputs checks the kernel's image against the CPU's: bytes within
// 1, floats within 1e-3 relative (of max(|v|, 1)).
func compareInputs(t *testing.T, what string, got, want []byte, out8 bool) {
	t.Helper()
	bad, worst := 0, 0.0
	if out8 {
		for i := range want {
			if d := math.Abs(float64(got[i]) - float64(want[i])); d > 1 {
				bad++
				worst = max(worst, d)
			}
		}
	} else {
		g := unsafe.Slice((*float32)(unsafe.Pointer(&got[0])), len(got)/4)
		w := unsafe.Slice((*float32)(unsafe.Pointer(&want[0])), len(want)/4)
		for i := range w {
			if d := math.Abs(float64(g[i]-w[i])) / math.Max(math.Abs(float64(w[i])), 1); d > 1e-3 {
				bad++
				worst = max(worst, d)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d values differ from the CPU's beyond the tolerance (worst %.4g)", what, bad, worst)
	}
}

// kernelCases are the preprocessing settings compared: the GPU model's
// input (uint8 NHWC 512x512, bilinear stretch), the float model's
// (NCHW, 1/255), and letterboxing, BGR, offsets, nearest and gray.
func kernelCases() []struct {
	name       string
	cfg        func(*Config)
	w, h, c    int
	nhwc, out8 bool
} {
	return []struct {
		name       string
		cfg        func(*Config)
		w, h, c    int
		nhwc, out8 bool
	}{
		{"gpu-model-uint8-nhwc", func(c *Config) { c.NetScaleFactor, c.ScalingFilter = 1, 1 }, 512, 512, 3, true, true},
		{"float-model-nchw", func(c *Config) { c.NetScaleFactor, c.ScalingFilter = 1.0/255, 1 }, 512, 512, 3, false, false},
		{"letterbox-symmetric-bgr-offsets", func(c *Config) {
			c.NetScaleFactor, c.ScalingFilter, c.MaintainAspectRatio, c.SymmetricPadding = 0.0078, 1, true, true
			c.ModelColorFormat, c.Offsets = 1, []float32{104, 117, 123}
		}, 300, 200, 3, false, false},
		{"letterbox-nearest-uint8", func(c *Config) { c.NetScaleFactor, c.MaintainAspectRatio = 1, true }, 320, 320, 3, true, true},
		{"gray", func(c *Config) { c.NetScaleFactor, c.ScalingFilter, c.ModelColorFormat = 1.0/255, 1, 2 }, 224, 160, 1, false, false},
	}
}

// The kernel computes what the CPU preprocessor computes, on the sample
// photos, for whole frames and a crop.
func TestKernelPreprocessMatchesCPU(t *testing.T) {
	needKernels(t)
	for _, photo := range []string{"dog.jpg", "person.jpg", "horses.jpg"} {
		b := photoBatch(t, photo, 2)
		s, _ := b.Surface(0)
		crop := region{s.Width / 5, s.Height / 7, s.Width / 2, s.Height / 3}
		for _, tc := range kernelCases() {
			cfg := DefaultConfig()
			tc.cfg(cfg)
			k := newKernelPre(t, cfg, tc.w, tc.h, tc.c, tc.nhwc, tc.out8, 2)
			for _, roi := range []*region{nil, &crop} {
				got := k.run(t, b, roi)
				r := region{0, 0, s.Width, s.Height}
				if roi != nil {
					r = *roi
				}
				want := cpuInput(t, newPreprocessor(cfg, tc.w, tc.h, tc.c, tc.nhwc), s, r, tc.out8)
				compareInputs(t, fmt.Sprintf("%s %s roi %+v", photo, tc.name, r), got[k.g.per:], want, tc.out8)
			}
		}
		b.Release()
	}
}
