package gpu

/*
#include <stdlib.h>
#include "gpu.h"
*/
import "C"

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unsafe"
)

// NVRTCLibraries are the NVRTC libraries tried, in order.
var NVRTCLibraries = []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"}

// ErrNoNVRTC is wrapped by the errors of LoadKernels when kernels cannot
// be compiled: no driver API, no NVRTC, or an NVRTC too old.
var ErrNoNVRTC = errors.New("CUDA kernels cannot be compiled")

var kernels struct {
	once sync.Once
	err  error
	mu   sync.Mutex
	mods map[moduleKey]*Module
}

type moduleKey struct {
	device int
	sum    [32]byte
}

// LoadKernels opens the CUDA driver API and NVRTC, once per process. The
// error wraps ErrNoGPU when there is no GPU, ErrNoNVRTC when NVRTC or the
// driver API is missing, naming the libraries tried.
func LoadKernels() error {
	if err := Load(); err != nil {
		return err
	}
	kernels.once.Do(func() {
		var buf [2048]C.char
		if C.vf_cu_load(&buf[0], C.size_t(len(buf))) != 0 {
			kernels.err = fmt.Errorf("%w: %s", ErrNoNVRTC, C.GoString(&buf[0]))
			return
		}
		names := make([]*C.char, len(NVRTCLibraries))
		for i, n := range NVRTCLibraries {
			names[i] = C.CString(n)
		}
		rc := C.vf_nvrtc_load(&names[0], C.int(len(names)), &buf[0], C.size_t(len(buf)))
		for _, n := range names {
			C.free(unsafe.Pointer(n))
		}
		if rc != 0 {
			kernels.err = fmt.Errorf("%w: NVRTC (the CUDA runtime compiler, CUDA 11.2 or later) cannot be loaded (%s); install cuda-nvrtc and put its lib64 folder on LD_LIBRARY_PATH", ErrNoNVRTC, C.GoString(&buf[0]))
			return
		}
		kernels.mods = map[moduleKey]*Module{}
		kernels.err = applyCUDASync()
	})
	return kernels.err
}

// NVRTCVersion is the library and version of NVRTC ("" before LoadKernels).
func NVRTCVersion() string {
	if LoadKernels() != nil {
		return ""
	}
	var major, minor C.int
	C.vf_nvrtc_version(&major, &minor)
	return fmt.Sprintf("%s %d.%d", C.GoString(C.vf_nvrtc_name()), int(major), int(minor))
}

// target is how code for device is compiled: a binary for its
// architecture when NVRTC knows it, else PTX of the newest architecture
// NVRTC knows below it, which the driver compiles for the device.
func target(device int) (opt string, cubin bool, err error) {
	var arch C.int
	if rc := C.vf_cu_device_arch(C.int(device), &arch); rc != 0 {
		return "", false, fmt.Errorf("GPU %d compute capability: %s", device, C.GoString(C.vf_cu_error(rc)))
	}
	best := int(C.vf_nvrtc_best_arch(arch))
	switch {
	case best == int(arch):
		return fmt.Sprintf("--gpu-architecture=sm_%d", best), true, nil
	case best > 0:
		return fmt.Sprintf("--gpu-architecture=compute_%d", best), false, nil
	}
	return "", false, fmt.Errorf("%w: %s supports no architecture up to GPU %d's sm_%d", ErrNoNVRTC, NVRTCVersion(), device, int(arch))
}

// Module is kernels compiled for one device and loaded into its primary
// context. Modules are cached for the process (Compile).
type Module struct {
	Name   string // the source's name, for errors
	Device int
	Target string // the NVRTC architecture option used
	mod    unsafe.Pointer
	mu     sync.Mutex
	fns    map[string]unsafe.Pointer
}

// Compile compiles CUDA C source (named name in errors: "preprocess.cu")
// for device with NVRTC and loads it, once per device and source: later
// calls return the cached module. Kernels must be extern "C". opts are
// extra NVRTC options. A compile error carries NVRTC's log.
func Compile(device int, name, source string, opts ...string) (*Module, error) {
	if err := LoadKernels(); err != nil {
		return nil, err
	}
	if err := CheckDevice(device); err != nil {
		return nil, err
	}
	key := moduleKey{device, sha256.Sum256([]byte(source + "\x00" + strings.Join(opts, "\x00")))}
	kernels.mu.Lock()
	defer kernels.mu.Unlock()
	if m := kernels.mods[key]; m != nil {
		return m, nil
	}
	arch, cubin, err := target(device)
	if err != nil {
		return nil, err
	}
	copts := []*C.char{C.CString(arch)}
	for _, o := range opts {
		copts = append(copts, C.CString(o))
	}
	csrc, cname := C.CString(source), C.CString(name)
	defer func() {
		for _, o := range copts {
			C.free(unsafe.Pointer(o))
		}
		C.free(unsafe.Pointer(csrc))
		C.free(unsafe.Pointer(cname))
	}()
	var image unsafe.Pointer
	var size C.size_t
	var buf [16384]C.char
	cb := C.int(0)
	if cubin {
		cb = 1
	}
	if C.vf_nvrtc_compile(csrc, cname, &copts[0], C.int(len(copts)), cb, &image, &size, &buf[0], C.size_t(len(buf))) != 0 {
		return nil, fmt.Errorf("kernel %s for GPU %d (%s, %s): %s", name, device, arch, NVRTCVersion(), strings.TrimSpace(C.GoString(&buf[0])))
	}
	defer C.free(image)
	m := &Module{Name: name, Device: device, Target: arch, fns: map[string]unsafe.Pointer{}}
	if rc := C.vf_cu_module_load(C.int(device), image, &m.mod); rc != 0 {
		return nil, fmt.Errorf("kernel %s for GPU %d (%s): cuModuleLoadData: %s (a driver older than %s?)", name, device, arch, C.GoString(C.vf_cu_error(rc)), NVRTCVersion())
	}
	kernels.mods[key] = m
	return m, nil
}

// Function is one kernel of a module.
type Function struct {
	m    *Module
	name string
	fn   unsafe.Pointer
}

// Function looks up the kernel name (extern "C") of the module.
func (m *Module) Function(name string) (*Function, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if fn, ok := m.fns[name]; ok {
		return &Function{m, name, fn}, nil
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var fn unsafe.Pointer
	if rc := C.vf_cu_module_function(C.int(m.Device), m.mod, cname, &fn); rc != 0 {
		return nil, fmt.Errorf("kernel %s of %s: cuModuleGetFunction: %s", name, m.Name, C.GoString(C.vf_cu_error(rc)))
	}
	m.fns[name] = fn
	return &Function{m, name, fn}, nil
}

// Dim3 is a grid or block size.
type Dim3 struct{ X, Y, Z uint32 }

// Launch queues the kernel on stream (nil: the legacy default stream)
// with args in the order of its parameters: unsafe.Pointer or uintptr
// (device pointers, 8 bytes), int32, uint32, float32, int64, float64.
// Other Go types are refused: a kernel parameter's size must be exact.
func (f *Function) Launch(grid, block Dim3, shared int, stream *Stream, args ...any) error {
	buf, offs, err := packArgs(args)
	if err != nil {
		return fmt.Errorf("kernel %s: %v", f.name, err)
	}
	g := [3]C.uint{C.uint(max(grid.X, 1)), C.uint(max(grid.Y, 1)), C.uint(max(grid.Z, 1))}
	b := [3]C.uint{C.uint(max(block.X, 1)), C.uint(max(block.Y, 1)), C.uint(max(block.Z, 1))}
	var s unsafe.Pointer
	if stream != nil {
		s = stream.s
	}
	var argp unsafe.Pointer
	var offp *C.size_t
	if len(offs) > 0 {
		argp, offp = unsafe.Pointer(&buf[0]), &offs[0]
	}
	if rc := C.vf_cu_launch(C.int(f.m.Device), f.fn, &g[0], &b[0], C.uint(shared), s, argp, offp, C.int(len(offs))); rc != 0 {
		return fmt.Errorf("kernel %s of %s: cuLaunchKernel(grid %v, block %v): %s", f.name, f.m.Name, grid, block, C.GoString(C.vf_cu_error(rc)))
	}
	return nil
}

// packArgs lays the arguments out in one buffer, each aligned to its size
// as the kernel's parameter space is. The buffer holds no Go pointers.
func packArgs(args []any) ([]uint64, []C.size_t, error) {
	if len(args) > 64 {
		return nil, nil, fmt.Errorf("%d parameters, at most 64", len(args))
	}
	buf := make([]uint64, len(args)) // 8 bytes a parameter, 8-aligned
	offs := make([]C.size_t, len(args))
	for i, a := range args {
		offs[i] = C.size_t(8 * i)
		var v uint64
		switch x := a.(type) {
		case unsafe.Pointer:
			v = uint64(uintptr(x))
		case uintptr:
			v = uint64(x)
		case int32:
			v = uint64(uint32(x))
		case uint32:
			v = uint64(x)
		case float32:
			v = uint64(math.Float32bits(x))
		case int64:
			v = uint64(x)
		case float64:
			v = math.Float64bits(x)
		default:
			return nil, nil, fmt.Errorf("parameter %d is %T: pass unsafe.Pointer, uintptr, int32, uint32, float32, int64 or float64", i, a)
		}
		buf[i] = v // little-endian: a 4-byte value sits in the first 4 bytes
	}
	return buf, offs, nil
}

// KernelSelfCheck compiles, loads and runs a tiny kernel on device with
// the C layer alone (kernel.c), and reports what it used: the first thing
// to run on a new machine.
func KernelSelfCheck(device int) (string, error) {
	if err := LoadKernels(); err != nil {
		return "", err
	}
	if err := CheckDevice(device); err != nil {
		return "", err
	}
	arch, cubin, err := target(device)
	if err != nil {
		return "", err
	}
	carch := C.CString(arch)
	defer C.free(unsafe.Pointer(carch))
	cb := C.int(0)
	if cubin {
		cb = 1
	}
	var info [512]C.char
	var buf [16384]C.char
	if C.vf_cu_selfcheck(C.int(device), carch, cb, &info[0], C.size_t(len(info)), &buf[0], C.size_t(len(buf))) != 0 {
		return "", fmt.Errorf("kernel self-check on GPU %d (%s, %s): %s", device, arch, NVRTCVersion(), C.GoString(&buf[0]))
	}
	return C.GoString(&info[0]), nil
}

// CopyToHost2D copies height rows of width bytes from device memory at
// src (rows spitch apart) to dst (rows dpitch apart) and waits for it.
func CopyToHost2D(dst []byte, dpitch int, src unsafe.Pointer, spitch, width, height int) error {
	if height <= 0 || width <= 0 {
		return nil
	}
	if err := Load(); err != nil {
		return err
	}
	if dpitch < width || spitch < width || len(dst) < dpitch*(height-1)+width {
		return fmt.Errorf("2D copy of %d×%d bytes: pitches %d, %d or %d bytes of host memory too small", width, height, dpitch, spitch, len(dst))
	}
	return check(C.vf_cuda_memcpy2d(unsafe.Pointer(&dst[0]), C.size_t(dpitch), src, C.size_t(spitch), C.size_t(width), C.size_t(height), 2), "cudaMemcpy2D to host")
}

// PrimaryContext returns the primary CUDA context of device (a CUcontext)
// and its CUdevice handle: the context the runtime, ONNX Runtime and
// vidflow's kernels work in, which GStreamer's CUDA elements are given
// too (memory of one context is not usable by another's kernels). The
// context is retained for the process.
func PrimaryContext(device int) (ctx unsafe.Pointer, cuDevice int, err error) {
	if err := LoadKernels(); err != nil {
		return nil, 0, err
	}
	var c unsafe.Pointer
	var d C.int
	if rc := C.vf_cu_primary(C.int(device), &c, &d); rc != 0 {
		return nil, 0, fmt.Errorf("GPU %d primary context: %s", device, C.GoString(C.vf_cu_error(rc)))
	}
	return c, int(d), nil
}
