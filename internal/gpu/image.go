package gpu

import _ "embed"

// imageCU is vidflow's image kernels: vf_preprocess (the infer element's
// preprocessing, the CPU preprocessor's arithmetic on the GPU) and vf_tile
// (the tiler's scaling of frames into their tiles), from RGB(A)/GRAY8 or
// NV12 frames in device memory.
//
//go:embed image.cu
var imageCU string

// ImageKernels compiles vidflow's image kernels for device (once a
// process; later calls return the cached module). No fused multiply-adds
// (--fmad=false), so that the kernels' float arithmetic rounds exactly as
// the CPU's does.
func ImageKernels(device int) (*Module, error) {
	return Compile(device, "image.cu", imageCU, "--fmad=false")
}
