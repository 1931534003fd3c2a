// Package dlpack implements the DLPack C ABI for vidflow's tensors: export
// of memory to a DLManagedTensor whose deleter calls back into Go, and import
// of a producer's DLManagedTensor. Nothing is copied either way.
package dlpack

/*
#include <stdlib.h>
#include "dlpack.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

// Type codes of DLDataType.
const (
	CodeInt   = 0
	CodeUInt  = 1
	CodeFloat = 2
)

var deviceNames = map[int]string{1: "CPU", 2: "CUDA", 3: "CUDAHost", 4: "OpenCL", 7: "Vulkan", 8: "Metal",
	9: "VPI", 10: "ROCM", 11: "ROCMHost", 12: "ExtDev", 13: "CUDAManaged", 14: "OneAPI"}

var codeNames = map[int]string{0: "int", 1: "uint", 2: "float", 3: "opaque", 4: "bfloat", 5: "complex", 6: "bool"}

var exported atomic.Int64

// Exported is the number of tensors exported and not yet deleted by their
// consumer.
func Exported() int64 { return exported.Load() }

type export struct {
	pin     runtime.Pinner
	release func()
}

// Device types of DLDevice used by vidflow.
const (
	DeviceCPU  = 1
	DeviceCUDA = 2
)

// Export returns a *DLManagedTensor over data (a CPU tensor of the given
// element code and bits, shape and strides in elements). Go memory is pinned
// until the consumer calls the deleter, which then calls release (if not nil).
func Export(data unsafe.Pointer, code, bits uint8, shape, strides []int, release func()) unsafe.Pointer {
	return ExportDevice(data, DeviceCPU, 0, code, bits, shape, strides, release)
}

// ExportDevice is Export for memory on a device (DeviceCUDA: data is a
// device pointer, not pinned).
func ExportDevice(data unsafe.Pointer, deviceType, deviceID int, code, bits uint8, shape, strides []int, release func()) unsafe.Pointer {
	e := &export{release: release}
	if data != nil && deviceType == DeviceCPU {
		e.pin.Pin(data)
	}
	h := cgo.NewHandle(e)
	t := C.vf_dlpack_new(data, C.int(len(shape)), C.uint8_t(code), C.uint8_t(bits), C.int(deviceType), C.int(deviceID), C.uintptr_t(h))
	if t == nil {
		h.Delete()
		e.pin.Unpin()
		panic("vidflow: out of C memory for a DLPack tensor")
	}
	dims := unsafe.Slice(t.dl_tensor.shape, 2*len(shape))
	for i := range shape {
		dims[i] = C.int64_t(shape[i])
		dims[len(shape)+i] = C.int64_t(strides[i])
	}
	exported.Add(1)
	return unsafe.Pointer(t)
}

//export vfDLPackRelease
func vfDLPackRelease(ctx C.uintptr_t) {
	h := cgo.Handle(ctx)
	e := h.Value().(*export)
	h.Delete()
	e.pin.Unpin()
	if e.release != nil {
		e.release()
	}
	exported.Add(-1)
}

// Imported is a producer's tensor seen from Go. Data is a view of the
// producer's memory, valid until Free.
type Imported struct {
	Data      unsafe.Pointer
	Code      uint8
	Bits      uint8
	Shape     []int
	Strides   []int // in elements; compact row-major when the producer gave none
	CUDA      bool  // Data is CUDA device memory (kDLCUDA)
	DeviceID  int
	managed   *C.DLManagedTensor
	freeState atomic.Bool
}

// Import reads a *DLManagedTensor. CPU tensors, CUDA host memory and CUDA
// device memory with one lane are accepted; the error names what is not.
// On error the tensor is left to the caller, who still owns it.
func Import(p unsafe.Pointer) (*Imported, error) {
	if p == nil {
		return nil, errors.New("DLPack: nil DLManagedTensor")
	}
	m := (*C.DLManagedTensor)(p)
	t := &m.dl_tensor
	dev := int(t.device.device_type)
	if dev != C.kDLCPU && dev != C.kDLCUDAHost && dev != C.kDLCUDA {
		name := deviceNames[dev]
		if name == "" {
			name = "unknown"
		}
		return nil, fmt.Errorf("DLPack: unsupported device %s (%d): vidflow imports CPU and CUDA tensors", name, dev)
	}
	if t.dtype.lanes != 1 {
		return nil, fmt.Errorf("DLPack: unsupported dtype with %d lanes (vector types are not supported)", int(t.dtype.lanes))
	}
	ndim := int(t.ndim)
	if ndim < 0 || ndim > 32 {
		return nil, fmt.Errorf("DLPack: invalid ndim %d", ndim)
	}
	im := &Imported{Code: uint8(t.dtype.code), Bits: uint8(t.dtype.bits), CUDA: dev == C.kDLCUDA, DeviceID: int(t.device.device_id), managed: m}
	if code := int(t.dtype.code); code != CodeInt && code != CodeUInt && code != CodeFloat {
		name := codeNames[code]
		if name == "" {
			name = "unknown"
		}
		return nil, fmt.Errorf("DLPack: unsupported dtype %s%d (code %d)", name, im.Bits, code)
	}
	im.Shape = make([]int, ndim)
	im.Strides = make([]int, ndim)
	if ndim > 0 {
		for i, d := range unsafe.Slice(t.shape, ndim) {
			if d < 0 {
				return nil, fmt.Errorf("DLPack: negative dimension %d at axis %d", int64(d), i)
			}
			im.Shape[i] = int(d)
		}
		if t.strides != nil {
			for i, s := range unsafe.Slice(t.strides, ndim) {
				if s < 0 {
					return nil, fmt.Errorf("DLPack: negative stride %d at axis %d", int64(s), i)
				}
				im.Strides[i] = int(s)
			}
		} else {
			acc := 1
			for i := ndim - 1; i >= 0; i-- {
				im.Strides[i] = acc
				acc *= im.Shape[i]
			}
		}
	}
	im.Data = unsafe.Add(t.data, uintptr(t.byte_offset))
	return im, nil
}

// Free calls the producer's deleter (once).
func (im *Imported) Free() {
	if im.freeState.Swap(true) {
		return
	}
	C.vf_dlpack_delete_foreign(im.managed)
}
