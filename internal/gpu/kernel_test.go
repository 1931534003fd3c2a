package gpu

import (
	"errors"
	"strings"
	"testing"
	"unsafe"
)

// Kernel parameters are packed 8 bytes apart, each value in its first
// bytes; a Go type of no fixed CUDA size is refused.
func TestKernelArgsPacking(t *testing.T) {
	buf, offs, err := packArgs([]any{int32(-2), float32(1.5), uintptr(0x1234), uint32(7)})
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != 4 || offs[3] != 24 || int32(uint32(buf[0])) != -2 || buf[1] != 0x3fc00000 || buf[2] != 0x1234 || buf[3] != 7 {
		t.Errorf("packed %x at %v", buf, offs)
	}
	if _, _, err := packArgs([]any{3}); err == nil || !strings.Contains(err.Error(), "int32") {
		t.Errorf("an int parameter: %v", err)
	}
}

// Without a GPU, kernels are a clear error too.
func TestKernelsWithoutGPU(t *testing.T) {
	if Load() == nil {
		t.Skip("this machine has a CUDA GPU")
	}
	if _, err := Compile(0, "k.cu", "extern \"C\" __global__ void k() {}"); !errors.Is(err, ErrNoGPU) {
		t.Errorf("Compile: %v, want ErrNoGPU", err)
	}
	if _, err := KernelSelfCheck(0); !errors.Is(err, ErrNoGPU) {
		t.Errorf("KernelSelfCheck: %v, want ErrNoGPU", err)
	}
}

// The first test on a device: the C layer alone compiles a kernel with
// NVRTC, loads it into the primary context, launches it and checks it.
func TestKernelSelfCheck(t *testing.T) {
	if err := Load(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	info, err := KernelSelfCheck(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(info)
}

const testKernel = `extern "C" __global__ void vf_axpy(float *y, const float *x, float a, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}
`

// The Go API: compile once per device (cached), launch on a stream with
// typed parameters, compile errors with NVRTC's log and the kernel's name.
func TestKernelLaunch(t *testing.T) {
	if err := Load(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	m, err := Compile(0, "axpy.cu", testKernel)
	if err != nil {
		t.Fatal(err)
	}
	if m2, _ := Compile(0, "axpy.cu", testKernel); m2 != m {
		t.Error("the second Compile compiled again")
	}
	t.Logf("%s for %s with %s", m.Name, m.Target, NVRTCVersion())
	fn, err := m.Function("vf_axpy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Function("nothing"); err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Errorf("a missing kernel: %v", err)
	}
	d0, h0 := Allocations()
	const n = 1000
	x, _ := Alloc(0, 4*n)
	y, _ := Alloc(0, 4*n)
	s, err := NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	host := make([]float32, n)
	bytes := unsafe.Slice((*byte)(unsafe.Pointer(&host[0])), 4*n)
	for i := range host {
		host[i] = float32(i)
	}
	_ = s.Upload(x, 0, bytes)
	_ = s.Upload(y, 0, bytes)
	if err := fn.Launch(Dim3{X: (n + 255) / 256}, Dim3{X: 256}, 0, s, y.Ptr, x.Ptr, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	_ = s.Download(bytes, y, 0)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	for i, v := range host {
		if v != float32(3*i) {
			t.Fatalf("y[%d] = %v, want %v", i, v, 3*i)
		}
	}
	s.Close()
	x.Free()
	y.Free()
	if d, h := Allocations(); d != d0 || h != h0 {
		t.Errorf("allocations %d, %d after freeing, want %d, %d", d, h, d0, h0)
	}
	_, err = Compile(0, "broken.cu", "extern \"C\" __global__ void k() { undefined_thing(); }")
	if err == nil || !strings.Contains(err.Error(), "broken.cu") || !strings.Contains(err.Error(), "undefined_thing") {
		t.Errorf("a compile error: %v, want the kernel and NVRTC's log", err)
	}
}
