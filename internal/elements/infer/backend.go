package infer

import (
	"fmt"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/media"
)

// backend is where a model runs, behind the runner and BareModel, so that
// both open and run it the same way: ONNX Runtime with tensors in host
// memory (cpu.go), or ONNX Runtime's CUDA provider bound to device memory
// (cuda.go). One goroutine at a time.
type backend interface {
	// input is the memory that the images of a run are scaled into (the
	// backend's full batch).
	input() inputMem
	// outputDims are each output's dimensions of one image, as the first
	// run found them.
	outputDims() [][]int
	// run runs the model on the first n images of the input. It may run
	// more (see cudaBackend.run): data holds every image run, dims one
	// image's dimensions; both stay valid until the next run.
	run(n int) (data [][]float32, dims [][]int, err error)
	// tensor copies l, output k of image i of the last run, into a tensor
	// of its own that lives as long as frame f.
	tensor(k, i int, l bbox.Layer, f *media.Frame) (*media.Tensor, error)
	// syncTensors waits until the copies that tensor started are complete.
	syncTensors()
	// describe says where and how the model runs, for the start-up report.
	describe() string
	close()
}

// openBackend opens the model for runs of up to batch images on provider:
// "cpu", "cuda" (I/O binding) or "cuda-host" (ONNX Runtime's CUDA provider
// fed host tensors: BareModel's comparison). profile is the prefix of
// ONNX Runtime's profile ("cuda" only; "" for none).
func openBackend(cfg *Config, pl *plan, batch int, provider, profile string) (backend, error) {
	switch {
	case provider == "cuda" && pl.intOut:
		// Integer outputs are read in host memory, converted: the CUDA
		// provider is fed host tensors.
		return openCPU(cfg, pl, batch, "cuda")
	case provider == "cuda":
		return openCUDA(cfg, pl, batch, profile)
	case provider == "cuda-host":
		return openCPU(cfg, pl, batch, "cuda")
	case provider == "cpu":
		return openCPU(cfg, pl, batch, "cpu")
	}
	return nil, fmt.Errorf("model %s: no execution provider %q", cfg.ONNXFile, provider)
}
