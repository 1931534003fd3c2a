package infer

import (
	"fmt"
	"unsafe"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// cudaBackend runs the model on a GPU through internal/gpu's session: the
// input is scaled straight into pinned host memory and uploaded once a
// run, ONNX Runtime reads and writes device memory bound to the session,
// and the outputs come back into pinned memory.
type cudaBackend struct {
	sess  *gpu.Session
	gpuID int
	batch int
	in    inputMem
	dims  [][]int
	data  [][]float32 // the outputs in pinned memory, refreshed each run
	// bound: the GPU preprocessor writes the input on the device, so runs
	// upload nothing.
	bound bool
}

// openCUDA opens the model on the GPU for runs of batch images and runs it
// once on a blank batch (which also has cuDNN choose its algorithms).
func openCUDA(cfg *Config, pl *plan, batch int, profile string) (*cudaBackend, error) {
	sess, err := openDevice(cfg, pl, batch, profile)
	if err != nil {
		return nil, err
	}
	b := &cudaBackend{sess: sess, gpuID: cfg.GPUID, batch: batch, dims: pl.outDims,
		in: inputMem{per: pl.w * pl.h * pl.c}, data: make([][]float32, len(pl.outputs))}
	in := sess.Input(batch)
	clear(in)
	if pl.uint8In {
		b.in.u8 = in
	} else {
		b.in.f32 = unsafe.Slice((*float32)(unsafe.Pointer(&in[0])), len(in)/4)
	}
	if err := sess.Run(batch); err != nil {
		b.close()
		return nil, fmt.Errorf("model %s: first run failed: %v", cfg.ONNXFile, err)
	}
	return b, nil
}

// openDevice opens the model on the GPU for runs of up to batch images.
// Every output is read back to host memory after a run (the parsers and
// tensor metadata read them there): models meant for the GPU reduce their
// outputs on the device first (see centernet_gpu.onnx in docs/infer.md).
func openDevice(cfg *Config, pl *plan, batch int, profile string) (*gpu.Session, error) {
	if pl.dynamicOut {
		return nil, fmt.Errorf("model %s: outputs with dynamic dimensions besides the batch cannot be bound to GPU memory; export the model with fixed output shapes or use execution-provider cpu", cfg.ONNXFile)
	}
	in := gpu.Tensor{Name: pl.input, Type: gpu.Float32, Dims: []int{pl.c, pl.h, pl.w}}
	if pl.nhwc {
		in.Dims = []int{pl.h, pl.w, pl.c}
	}
	if pl.uint8In {
		in.Type = gpu.Uint8
	}
	sc := gpu.SessionConfig{Model: cfg.ONNXFile, Device: cfg.GPUID, MaxBatch: batch, Threads: cfg.IntraOpThreads,
		Input: in, Options: cfg.CUDAOptions, Profile: profile}
	for i, name := range pl.outputs {
		sc.Outputs = append(sc.Outputs, gpu.Tensor{Name: name, Type: gpu.Float32, Dims: pl.outDims[i], Download: true})
	}
	return gpu.OpenSession(sc)
}

func (b *cudaBackend) input() inputMem     { return b.in }
func (b *cudaBackend) outputDims() [][]int { return b.dims }

// run runs the full batch whatever n is (the images past n are left over
// and their results unread): each new input shape makes ONNX Runtime's
// CUDA provider search cuDNN's algorithms again (exhaustively by default)
// and grow its arena, seconds per shape, while the full batch costs little
// more than a partial one. The full size was run once at start.
func (b *cudaBackend) run(int) ([][]float32, [][]int, error) {
	run := b.sess.Run
	if b.bound {
		run = b.sess.RunBound
	}
	if err := run(b.batch); err != nil {
		return nil, nil, err
	}
	for k := range b.data {
		b.data[k] = b.sess.Output(k)
	}
	return b.data, b.dims, nil
}

// tensor copies the output into GPU memory of its own rather than
// attaching the host copy: probes and GPU libraries read the outputs
// without a trip over PCIe. The memory lives as long as the frame (or
// until every DLPack consumer is done with it).
func (b *cudaBackend) tensor(k, i int, l bbox.Layer, f *media.Frame) (*media.Tensor, error) {
	per := len(l.Data) * 4
	mem, err := gpu.Alloc(b.gpuID, per)
	if err != nil {
		return nil, fmt.Errorf("tensor meta %q: %v", l.Name, err)
	}
	src := b.sess.DeviceOutput(k)
	if err := b.sess.Stream().Copy(mem.Ptr, unsafe.Add(src.Ptr, i*per), per); err != nil {
		mem.Free()
		return nil, err
	}
	t, err := media.NewDeviceTensor(media.Float32, mem.Ptr, b.gpuID, l.Dims, "", mem.Free)
	if err != nil {
		mem.Free()
		return nil, err
	}
	f.OnRelease(t.Release)
	return t, nil
}

// syncTensors waits for tensor's copies, so that the GPU tensors attached
// are complete before the batch moves on.
func (b *cudaBackend) syncTensors() { b.sess.Stream().Sync() }

func (b *cudaBackend) describe() string {
	info, _ := gpu.Info(b.gpuID)
	return fmt.Sprintf("%s: %s", info, b.sess.Describe())
}

func (b *cudaBackend) close() {
	if b.sess != nil {
		b.sess.Close()
		b.sess = nil
	}
}
