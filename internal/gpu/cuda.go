// Package gpu runs work on NVIDIA GPUs without linking CUDA: the CUDA
// runtime (libcudart) and ONNX Runtime's C API are opened at run time, so
// vidflow builds and runs on machines with no GPU and uses one where the
// driver, the runtime and a device are found.
//
// It gives device and pinned host memory, streams and copies (this file),
// and ONNX Runtime sessions on the CUDA execution provider whose inputs
// and outputs live in device memory through I/O binding (session.go).
package gpu

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "gpu.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// RuntimeLibraries are the CUDA runtime libraries tried, in order.
var RuntimeLibraries = []string{"libcudart.so.13", "libcudart.so.12", "libcudart.so"}

// ErrNoGPU is wrapped by the errors of Load when no CUDA device can be used.
var ErrNoGPU = errors.New("no CUDA GPU")

var loaded struct {
	once    sync.Once
	lib     string
	devices int
	err     error
}

// Load opens the CUDA runtime and counts the devices, once per process. The
// error wraps ErrNoGPU and says why: no runtime library (naming those
// tried), no driver, or no device.
func Load() error {
	loaded.once.Do(func() {
		var tried []string
		for _, name := range RuntimeLibraries {
			cname := C.CString(name)
			var buf [512]C.char
			rc := C.vf_cuda_load(cname, &buf[0], C.size_t(len(buf)))
			C.free(unsafe.Pointer(cname))
			if rc == 0 {
				loaded.lib = name
				break
			}
			tried = append(tried, C.GoString(&buf[0]))
		}
		if loaded.lib == "" {
			loaded.err = fmt.Errorf("%w: the CUDA runtime library cannot be loaded (%s); put CUDA's lib64 folder on LD_LIBRARY_PATH", ErrNoGPU, strings.Join(tried, "; "))
			return
		}
		var n C.int
		if rc := C.vf_cuda_device_count(&n); rc != 0 {
			loaded.err = fmt.Errorf("%w: %s: %s", ErrNoGPU, loaded.lib, cudaMessage(rc))
			return
		}
		if n == 0 {
			loaded.err = fmt.Errorf("%w: the CUDA runtime sees no device", ErrNoGPU)
			return
		}
		loaded.devices = int(n)
	})
	return loaded.err
}

// Devices is the number of CUDA devices (0 when Load fails).
func Devices() int {
	if Load() != nil {
		return 0
	}
	return loaded.devices
}

// CheckDevice returns an error naming gpu-id when device id does not exist.
func CheckDevice(id int) error {
	if err := Load(); err != nil {
		return err
	}
	if id < 0 || id >= loaded.devices {
		return fmt.Errorf("gpu-id %d: this machine has %d CUDA device(s) (0..%d)", id, loaded.devices, loaded.devices-1)
	}
	return nil
}

// DeviceInfo is what is reported about a device at start.
type DeviceInfo struct {
	ID              int
	Name            string
	FreeMB, TotalMB int
	Runtime, Driver int // CUDA versions as 1000*major + 10*minor
}

func (d DeviceInfo) String() string {
	return fmt.Sprintf("GPU %d %s, %d of %d MiB free, CUDA runtime %d.%d, driver %d.%d", d.ID, d.Name, d.FreeMB, d.TotalMB,
		d.Runtime/1000, d.Runtime%1000/10, d.Driver/1000, d.Driver%1000/10)
}

// Info describes device id.
func Info(id int) (DeviceInfo, error) {
	if err := CheckDevice(id); err != nil {
		return DeviceInfo{}, err
	}
	d := DeviceInfo{ID: id, Name: "?"}
	if err := check(C.vf_cuda_set_device(C.int(id)), "cudaSetDevice"); err != nil {
		return d, err
	}
	var name [128]C.char
	if C.vf_cuda_device_name(C.int(id), &name[0], C.int(len(name))) == 0 {
		d.Name = C.GoString(&name[0])
	}
	var free, total C.size_t
	if err := check(C.vf_cuda_mem_info(&free, &total), "cudaMemGetInfo"); err != nil {
		return d, err
	}
	d.FreeMB, d.TotalMB = int(free>>20), int(total>>20)
	var rt, drv C.int
	if C.vf_cuda_versions(&rt, &drv) == 0 {
		d.Runtime, d.Driver = int(rt), int(drv)
	}
	return d, nil
}

func cudaMessage(rc C.int) string {
	return fmt.Sprintf("%s (CUDA error %d)", C.GoString(C.vf_cuda_error(rc)), int(rc))
}

// check turns a CUDA return code into an error naming the call; running
// out of device memory says so plainly.
func check(rc C.int, call string) error {
	switch rc {
	case 0:
		return nil
	case 2: // cudaErrorMemoryAllocation
		return fmt.Errorf("%s: out of device memory: %s", call, cudaMessage(rc))
	}
	return fmt.Errorf("%s: %s", call, cudaMessage(rc))
}

// Live counts of allocations, for leak checks (zero after every Close).
var liveDevice, liveHost atomic.Int64

// Allocations returns the device and pinned host allocations not yet freed.
func Allocations() (device, host int64) { return liveDevice.Load(), liveHost.Load() }

// DeviceMemory is memory on a GPU.
type DeviceMemory struct {
	Ptr    unsafe.Pointer
	Bytes  int
	Device int
}

// Alloc allocates bytes on device.
func Alloc(device, bytes int) (*DeviceMemory, error) {
	if err := CheckDevice(device); err != nil {
		return nil, err
	}
	if err := check(C.vf_cuda_set_device(C.int(device)), "cudaSetDevice"); err != nil {
		return nil, err
	}
	var p unsafe.Pointer
	if err := check(C.vf_cuda_malloc(&p, C.size_t(max(bytes, 1))), fmt.Sprintf("cudaMalloc(%d bytes) on GPU %d", bytes, device)); err != nil {
		return nil, err
	}
	liveDevice.Add(1)
	return &DeviceMemory{Ptr: p, Bytes: bytes, Device: device}, nil
}

// Free gives the memory back (once).
func (m *DeviceMemory) Free() {
	if m == nil || m.Ptr == nil {
		return
	}
	C.vf_cuda_free(m.Ptr)
	m.Ptr = nil
	liveDevice.Add(-1)
}

// HostMemory is page-locked host memory: copies from and to it run at the
// bus's full speed and asynchronously.
type HostMemory struct {
	p     unsafe.Pointer
	Bytes []byte
}

// AllocHost allocates bytes of pinned host memory.
func AllocHost(bytes int) (*HostMemory, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	var p unsafe.Pointer
	if err := check(C.vf_cuda_host_alloc(&p, C.size_t(max(bytes, 1))), fmt.Sprintf("cudaHostAlloc(%d bytes)", bytes)); err != nil {
		return nil, err
	}
	liveHost.Add(1)
	return &HostMemory{p: p, Bytes: unsafe.Slice((*byte)(p), bytes)}, nil
}

// Free gives the memory back (once).
func (m *HostMemory) Free() {
	if m == nil || m.p == nil {
		return
	}
	C.vf_cuda_free_host(m.p)
	m.p, m.Bytes = nil, nil
	liveHost.Add(-1)
}

// CopyToHost copies len(dst) bytes of device memory at src to dst and
// waits for the copy.
func CopyToHost(dst []byte, src unsafe.Pointer) error {
	if len(dst) == 0 {
		return nil
	}
	if err := Load(); err != nil {
		return err
	}
	return check(C.vf_cuda_memcpy(unsafe.Pointer(&dst[0]), src, C.size_t(len(dst)), 2), "cudaMemcpy to host")
}

// Stream is a CUDA stream: copies queued on it run in order.
type Stream struct{ s unsafe.Pointer }

// NewStream makes a non-blocking stream on device.
func NewStream(device int) (*Stream, error) {
	if err := CheckDevice(device); err != nil {
		return nil, err
	}
	if err := check(C.vf_cuda_set_device(C.int(device)), "cudaSetDevice"); err != nil {
		return nil, err
	}
	s := &Stream{}
	if err := check(C.vf_cuda_stream_create(&s.s), "cudaStreamCreate"); err != nil {
		return nil, err
	}
	return s, nil
}

// Handle is the cudaStream_t, for libraries that take one.
func (s *Stream) Handle() uintptr { return uintptr(s.s) }

// Upload queues a copy of host bytes to device memory at offset.
func (s *Stream) Upload(dst *DeviceMemory, offset int, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	if offset < 0 || offset+len(src) > dst.Bytes {
		return fmt.Errorf("upload of %d bytes at %d overruns device memory of %d bytes", len(src), offset, dst.Bytes)
	}
	return check(C.vf_cuda_memcpy_async(unsafe.Add(dst.Ptr, offset), unsafe.Pointer(&src[0]), C.size_t(len(src)), 1, s.s), "cudaMemcpyAsync to device")
}

// Download queues a copy of device memory at offset to host bytes.
func (s *Stream) Download(dst []byte, src *DeviceMemory, offset int) error {
	if len(dst) == 0 {
		return nil
	}
	if offset < 0 || offset+len(dst) > src.Bytes {
		return fmt.Errorf("download of %d bytes at %d overruns device memory of %d bytes", len(dst), offset, src.Bytes)
	}
	return check(C.vf_cuda_memcpy_async(unsafe.Pointer(&dst[0]), unsafe.Add(src.Ptr, offset), C.size_t(len(dst)), 2, s.s), "cudaMemcpyAsync to host")
}

// Copy queues a copy of n bytes between device memories.
func (s *Stream) Copy(dst, src unsafe.Pointer, n int) error {
	return check(C.vf_cuda_memcpy_async(dst, src, C.size_t(n), 3, s.s), "cudaMemcpyAsync on the device")
}

// Sync waits for the stream's work.
func (s *Stream) Sync() error { return check(C.vf_cuda_stream_sync(s.s), "cudaStreamSynchronize") }

// Close destroys the stream.
func (s *Stream) Close() {
	if s != nil && s.s != nil {
		C.vf_cuda_stream_destroy(s.s)
		s.s = nil
	}
}
