package gst

/*
#cgo pkg-config: gstreamer-1.0
#include <stdlib.h>
#include "vf.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

var cudaShare struct {
	sync.Mutex
	device int // -1: none shared yet
	err    error
}

func init() { cudaShare.device = -1 }

// ShareCUDAContext gives GStreamer's CUDA elements (NVDEC decoders,
// cudaupload, cudaconvert...) of every pipeline launched from now on the
// CUDA context ctx (a CUcontext: the device's primary context) of device
// (cuDevice its CUdevice handle), so that the device memory they hand
// over can be used by vidflow's kernels and ONNX Runtime. One device per
// process: a second call with another device is an error.
func ShareCUDAContext(ctx unsafe.Pointer, cuDevice, device int) error {
	if err := Init(); err != nil {
		return err
	}
	cudaShare.Lock()
	defer cudaShare.Unlock()
	switch {
	case cudaShare.device == device:
		return nil
	case cudaShare.device >= 0:
		return fmt.Errorf("gst: GStreamer's CUDA elements already work on GPU %d; one process decodes into one GPU's memory (asked: GPU %d)", cudaShare.device, device)
	}
	var buf [512]C.char
	if C.vf_cuda_share(ctx, C.int(cuDevice), C.int(device), &buf[0], C.size_t(len(buf))) != 0 {
		return fmt.Errorf("gst: sharing GPU %d's CUDA context with GStreamer: %s", device, C.GoString(&buf[0]))
	}
	cudaShare.device = device
	return nil
}

// SharedCUDADevice is the GPU whose context GStreamer's CUDA elements
// are given (ShareCUDAContext), or -1.
func SharedCUDADevice() int {
	cudaShare.Lock()
	defer cudaShare.Unlock()
	return cudaShare.device
}

// ForeignCUDAContext reports whether an element of the pipeline made a
// CUDA context of its own instead of taking the shared one: its device
// memory is then not usable by vidflow's kernels.
func (p *Pipeline) ForeignCUDAContext() bool {
	foreign := false
	_ = p.use(func() error {
		C.g_mutex_lock(&p.c.lock)
		foreign = p.c.cuda_foreign != 0
		C.g_mutex_unlock(&p.c.lock)
		return nil
	})
	return foreign
}
