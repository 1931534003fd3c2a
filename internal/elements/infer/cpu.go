package infer

import (
	"fmt"
	"slices"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/media"
)

// cpuBackend runs the model with ONNX Runtime on tensors in host memory:
// on the CPU, or (BareModel's cuda-host) on ONNX Runtime's CUDA provider,
// which then copies them in and out every run.
type cpuBackend struct {
	sess    *ort.DynamicAdvancedSession
	model   string // the ONNX file, for errors
	plan    *plan
	in      inputMem
	out     [][]float32 // preallocated output memory; nil for dynamic output shapes
	dims    [][]int     // per-image output dimensions
	ios     map[int]*ioTensors
	dynOuts []ort.Value // outputs ONNX Runtime allocates (dynamic shapes) for the last run
	data    [][]float32 // the last run's outputs, when dynamic
}

// ioTensors are the ONNX Runtime tensors of one run size, over the
// backend's memory, and (outputs preallocated) their binding to the
// session, through which a run allocates nothing in Go (Run itself makes
// a few small slices per call).
type ioTensors struct {
	in   ort.Value
	outs []ort.Value
	bind *ort.IoBinding
}

func (t *ioTensors) destroy() {
	if t.bind != nil {
		t.bind.Destroy()
	}
	t.in.Destroy()
	destroyAll(t.outs)
}

// openCPU opens the model on ONNX Runtime's provider ep ("cpu", or "cuda"
// with host tensors) for runs of up to batch images, and runs it once.
func openCPU(cfg *Config, pl *plan, batch int, ep string) (*cpuBackend, error) {
	sess, err := newSession(cfg.ONNXFile, pl.input, pl.outputs, ep, cfg.GPUID, cfg.IntraOpThreads, cfg.CUDAOptions)
	if err != nil {
		return nil, err
	}
	b := &cpuBackend{sess: sess, model: cfg.ONNXFile, plan: pl, ios: map[int]*ioTensors{}, in: inputMem{per: pl.w * pl.h * pl.c}}
	if pl.uint8In {
		b.in.u8 = make([]byte, batch*b.in.per)
	} else {
		b.in.f32 = make([]float32, batch*b.in.per)
	}
	if err := b.warmUp(); err != nil {
		b.close()
		return nil, err
	}
	if !pl.dynamicOut && !pl.intOut {
		per := sizes(b.dims)
		b.out = make([][]float32, len(pl.outputs))
		for i := range b.out {
			b.out[i] = make([]float32, batch*per[i])
		}
	} else {
		b.dynOuts = make([]ort.Value, len(pl.outputs))
		b.data = make([][]float32, len(pl.outputs))
	}
	return b, nil
}

// warmUp runs the model once on a blank image, which also tells the
// output shapes of models that leave them dynamic.
func (b *cpuBackend) warmUp() error {
	n := max(b.plan.fixedBatch, 1)
	in, err := b.newInput(n)
	if err != nil {
		return err
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(b.plan.outputs))
	if err := b.sess.Run([]ort.Value{in}, outs); err != nil {
		return fmt.Errorf("model %s: first run failed: %v", b.model, err)
	}
	defer destroyAll(outs)
	b.dims, err = b.imageDims(outs, n)
	return err
}

// newInput makes the ONNX Runtime tensor of a run of n images over the
// input memory.
func (b *cpuBackend) newInput(n int) (ort.Value, error) {
	if b.plan.uint8In {
		return ort.NewTensor(b.inShape(n), b.in.u8)
	}
	return ort.NewTensor(b.inShape(n), b.in.f32)
}

func (b *cpuBackend) inShape(n int) ort.Shape {
	p := b.plan
	if p.nhwc {
		return ort.NewShape(int64(n), int64(p.h), int64(p.w), int64(p.c))
	}
	return ort.NewShape(int64(n), int64(p.c), int64(p.h), int64(p.w))
}

// imageDims reads the per-image dimensions of outputs of a run of n images.
func (b *cpuBackend) imageDims(outs []ort.Value, n int) ([][]int, error) {
	dims := make([][]int, len(outs))
	for i, o := range outs {
		s := o.GetShape()
		if len(s) < 1 || s[0] != int64(n) {
			return nil, fmt.Errorf("model %s: output %q is %s for %d images: want the batch first", b.model, b.plan.outputs[i], shapeString(s), n)
		}
		switch o.(type) {
		case *ort.Tensor[float32], *ort.Tensor[int64], *ort.Tensor[int32]:
		default:
			return nil, fmt.Errorf("model %s: output %q is not a float32, int32 or int64 tensor", b.model, b.plan.outputs[i])
		}
		d := make([]int, len(s)-1)
		for k, v := range s[1:] {
			d[k] = int(v)
		}
		dims[i] = d
	}
	return dims, nil
}

// tensorsFor returns the tensors of a run of n images, made on first use.
func (b *cpuBackend) tensorsFor(n int) (*ioTensors, error) {
	if t, ok := b.ios[n]; ok {
		return t, nil
	}
	in, err := b.newInput(n)
	if err != nil {
		return nil, err
	}
	t := &ioTensors{in: in}
	if b.out != nil {
		for i, d := range b.dims {
			shape := make(ort.Shape, 0, len(d)+1)
			shape = append(shape, int64(n))
			for _, v := range d {
				shape = append(shape, int64(v))
			}
			o, err := ort.NewTensor(shape, b.out[i])
			if err != nil {
				t.destroy()
				return nil, err
			}
			t.outs = append(t.outs, o)
		}
		if err := b.bind(t); err != nil {
			t.destroy()
			return nil, fmt.Errorf("model %s: binding inputs and outputs: %v", b.model, err)
		}
	}
	b.ios[n] = t
	return t, nil
}

// bind binds a run size's input and preallocated outputs to the session.
func (b *cpuBackend) bind(t *ioTensors) (err error) {
	if t.bind, err = b.sess.CreateIoBinding(); err != nil {
		return err
	}
	if err := t.bind.BindInput(b.plan.input, t.in); err != nil {
		return err
	}
	for i, o := range t.outs {
		if err := t.bind.BindOutput(b.plan.outputs[i], o); err != nil {
			return err
		}
	}
	return nil
}

func (b *cpuBackend) input() inputMem     { return b.in }
func (b *cpuBackend) outputDims() [][]int { return b.dims }

// run runs exactly n images: on the CPU a smaller run costs less. Dynamic
// outputs of the previous run are freed here rather than when it returns,
// because the caller reads them until it runs again.
func (b *cpuBackend) run(n int) ([][]float32, [][]int, error) {
	t, err := b.tensorsFor(n)
	if err != nil {
		return nil, nil, err
	}
	if b.out != nil {
		if err := b.sess.RunWithBinding(t.bind); err != nil {
			return nil, nil, fmt.Errorf("model %s: %v", b.model, err)
		}
		return b.out, b.dims, nil
	}
	destroyAll(b.dynOuts)
	if err := b.sess.Run([]ort.Value{t.in}, b.dynOuts); err != nil {
		return nil, nil, fmt.Errorf("model %s: %v", b.model, err)
	}
	if b.dims, err = b.imageDims(b.dynOuts, n); err != nil {
		return nil, nil, err
	}
	for i, o := range b.dynOuts {
		b.data[i] = floats(o, b.data[i])
	}
	return b.data, b.dims, nil
}

func (b *cpuBackend) tensor(_, _ int, l bbox.Layer, _ *media.Frame) (*media.Tensor, error) {
	return media.NewTensor(slices.Clone(l.Data), l.Dims, "")
}

func (b *cpuBackend) syncTensors() {}

func (b *cpuBackend) describe() string { return "the CPU: ONNX Runtime " + ortVersion() }

func (b *cpuBackend) close() {
	for _, t := range b.ios {
		t.destroy()
	}
	b.ios = nil
	destroyAll(b.dynOuts)
	if b.sess != nil {
		b.sess.Destroy()
		b.sess = nil
	}
}

func destroyAll(vs []ort.Value) {
	for i, v := range vs {
		if v != nil {
			v.Destroy()
			vs[i] = nil
		}
	}
}

// floats are an output's values as float32: a float32 tensor's own memory,
// an integer tensor's values converted into buf (reused when large
// enough; class ids and counts are exact in float32 up to 2^24).
func floats(o ort.Value, buf []float32) []float32 {
	switch t := o.(type) {
	case *ort.Tensor[float32]:
		return t.GetData()
	case *ort.Tensor[int64]:
		return convertInts(t.GetData(), buf)
	case *ort.Tensor[int32]:
		return convertInts(t.GetData(), buf)
	}
	return buf[:0]
}

func convertInts[T int32 | int64](v []T, buf []float32) []float32 {
	if cap(buf) < len(v) {
		buf = make([]float32, len(v))
	}
	buf = buf[:len(v)]
	for i, x := range v {
		buf[i] = float32(x)
	}
	return buf
}
