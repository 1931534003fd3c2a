package infer

import (
	"fmt"
	"time"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// BareModel is the model of an nvinfer config run bare: the session opened
// exactly as the element opens it (same options, threads and execution
// provider) and run in a loop on a ready input, with no preprocessing or
// parsing. It is the floor a pipeline's inference can reach (`vidflow
// bench infer`).
type BareModel struct {
	cfg      *Config
	plan     *plan
	provider string
	sess     *ort.DynamicAdvancedSession // cpu, cuda-host
	dev      *gpu.Session                // cuda
	in       ort.Value
	in32     []float32
	in8      []byte
	outs     []ort.Value
	pre      *preprocessor
	batch    int
	inPer    int
}

// BareOptions choose how a BareModel runs.
type BareOptions struct {
	Batch   int // images per run (0: the config's batch-size)
	Threads int // intra-op threads (0: the config's intra-op-threads)
	// Provider overrides the config's execution-provider: cpu, cuda (I/O
	// binding, as the element runs on a GPU), auto, or cuda-host (ONNX
	// Runtime's CUDA provider fed host tensors, copied in and out each
	// run: the naive arrangement, for comparison).
	Provider string
	// CUDAOptions are added to the config's cuda-options.
	CUDAOptions map[string]string
	// Profile, when set, is the prefix of ONNX Runtime's profile (GPU).
	Profile string
}

// OpenBareModel opens the model of config for runs of batch images with
// threads intra-op threads (0: the config's intra-op-threads).
func OpenBareModel(config string, batch, threads int) (*BareModel, error) {
	return OpenBareModelWith(config, BareOptions{Batch: batch, Threads: threads})
}

// OpenBareModelWith opens the model of config as o says.
func OpenBareModelWith(config string, o BareOptions) (*BareModel, error) {
	cfg, err := LoadConfig(config)
	if err != nil {
		return nil, err
	}
	if o.Threads > 0 {
		cfg.IntraOpThreads = o.Threads
	}
	host := o.Provider == "cuda-host"
	switch o.Provider {
	case "":
	case "cpu", "cuda", "auto":
		cfg.ExecutionProvider = o.Provider
	case "cuda-host":
		cfg.ExecutionProvider = "cuda"
	default:
		return nil, fmt.Errorf("provider %q: want cpu, cuda, auto or cuda-host", o.Provider)
	}
	for k, v := range o.CUDAOptions {
		if cfg.CUDAOptions == nil {
			cfg.CUDAOptions = map[string]string{}
		}
		cfg.CUDAOptions[k] = v
	}
	if _, err := InitORT(""); err != nil {
		return nil, err
	}
	mi, err := readModelInfo(cfg.ONNXFile)
	if err != nil {
		return nil, err
	}
	pl, err := makePlan(cfg, mi)
	if err != nil {
		return nil, err
	}
	ep, _, err := resolveProvider(cfg)
	if err != nil {
		return nil, err
	}
	batch := o.Batch
	if batch <= 0 {
		batch = max(cfg.BatchSize, 1)
	}
	batch = pl.runBatch(batch)
	m := &BareModel{cfg: cfg, plan: pl, provider: ep, batch: batch, inPer: pl.w * pl.h * pl.c,
		pre: newPreprocessor(cfg, pl.w, pl.h, pl.c, pl.nhwc)}
	if ep == "cuda" && host {
		m.provider = "cuda-host"
	}
	if m.provider == "cuda" {
		if m.dev, err = openDevice(cfg, pl, batch, o.Profile); err != nil {
			return nil, err
		}
		in := m.dev.Input(batch)
		clear(in)
		if pl.uint8In {
			m.in8 = in
		} else {
			m.in32 = unsafe.Slice((*float32)(unsafe.Pointer(&in[0])), len(in)/4)
		}
		if err := m.dev.Run(batch); err != nil {
			m.Close()
			return nil, fmt.Errorf("model %s: first run failed: %v", cfg.ONNXFile, err)
		}
		return m, nil
	}
	sessEP := "cpu"
	if m.provider == "cuda-host" {
		sessEP = "cuda"
	}
	if m.sess, err = newSession(cfg.ONNXFile, pl.input, pl.outputs, sessEP, cfg.GPUID, cfg.IntraOpThreads, cfg.CUDAOptions); err != nil {
		return nil, err
	}
	shape := ort.NewShape(int64(batch), int64(pl.c), int64(pl.h), int64(pl.w))
	if pl.nhwc {
		shape = ort.NewShape(int64(batch), int64(pl.h), int64(pl.w), int64(pl.c))
	}
	if pl.uint8In {
		m.in8 = make([]byte, shape.FlattenedSize())
		m.in, err = ort.NewTensor(shape, m.in8)
	} else {
		m.in32 = make([]float32, shape.FlattenedSize())
		m.in, err = ort.NewTensor(shape, m.in32)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	// The first run (the element's warm-up) also gives the output shapes;
	// later runs write into output tensors allocated here, as the element's.
	m.outs = make([]ort.Value, len(pl.outputs))
	if err := m.sess.Run([]ort.Value{m.in}, m.outs); err != nil {
		m.Close()
		return nil, fmt.Errorf("model %s: first run failed: %v", cfg.ONNXFile, err)
	}
	for i, o := range m.outs {
		t, err := ort.NewEmptyTensor[float32](o.GetShape())
		o.Destroy()
		m.outs[i] = nil
		if err != nil {
			m.Close()
			return nil, err
		}
		m.outs[i] = t
	}
	return m, nil
}

// Batch is the number of images of one Run.
func (m *BareModel) Batch() int { return m.batch }

// Threads is the intra-op thread count asked of ONNX Runtime (0: its choice).
func (m *BareModel) Threads() int { return m.cfg.IntraOpThreads }

// Provider is where the model runs: cpu, cuda (I/O binding) or cuda-host.
func (m *BareModel) Provider() string { return m.provider }

// Describe says how the model runs, for reports.
func (m *BareModel) Describe() string {
	if m.dev != nil {
		info, _ := gpu.Info(m.cfg.GPUID)
		return fmt.Sprintf("%s; %s", info, m.dev.Describe())
	}
	in := "float32"
	if m.plan.uint8In {
		in = "uint8"
	}
	return fmt.Sprintf("ONNX Runtime %s, provider %s, %s input copied by ONNX Runtime", ortVersion(), m.provider, in)
}

// Input is the model's input size: width, height, channels.
func (m *BareModel) Input() (w, h, c int) { return m.plan.w, m.plan.h, m.plan.c }

// Fill preprocesses a tightly packed RGB frame into every image slot of
// the input, as the element does, so that the loop runs on real pixels.
func (m *BareModel) Fill(rgb []byte, width, height int) error {
	s := media.PackedSurface(media.RGB, width, height, rgb)
	for i := 0; i < m.batch; i++ {
		var err error
		if m.plan.uint8In {
			_, err = m.pre.fill8(m.in8[i*m.inPer:(i+1)*m.inPer], &s, region{0, 0, width, height})
		} else {
			_, err = m.pre.fill(m.in32[i*m.inPer:(i+1)*m.inPer], &s, region{0, 0, width, height})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// InputData is the float32 input's memory (batch images, the model's
// layout); nil for uint8 models.
func (m *BareModel) InputData() []float32 { return m.in32 }

// Outputs are the output tensors' memory after the last Run, in the
// order of the config's output layers (all images of the batch).
func (m *BareModel) Outputs() [][]float32 {
	out := make([][]float32, len(m.plan.outputs))
	for i := range out {
		if m.dev != nil {
			out[i] = m.dev.Output(i)
		} else {
			out[i] = m.outs[i].(*ort.Tensor[float32]).GetData()
		}
	}
	return out
}

// Breakdown times runs of the model split into upload, model and download
// (GPU sessions only; ok is false elsewhere): each part's mean per run.
func (m *BareModel) Breakdown(runs int) (upload, model, download time.Duration, ok bool, err error) {
	if m.dev == nil {
		return 0, 0, 0, false, nil
	}
	t, err := m.dev.Time(m.batch, runs)
	if err != nil || t.Runs == 0 {
		return 0, 0, 0, false, err
	}
	n := time.Duration(t.Runs)
	return t.Upload / n, t.Model / n, t.Download / n, true, nil
}

// Run runs the model once on the input.
func (m *BareModel) Run() error {
	if m.dev != nil {
		return m.dev.Run(m.batch)
	}
	if err := m.sess.Run([]ort.Value{m.in}, m.outs); err != nil {
		return fmt.Errorf("model %s: %v", m.cfg.ONNXFile, err)
	}
	return nil
}

// Close frees the session and tensors; it returns the profile file when
// one was asked for.
func (m *BareModel) Close() string {
	if m.in != nil {
		m.in.Destroy()
		m.in = nil
	}
	destroyAll(m.outs)
	if m.sess != nil {
		m.sess.Destroy()
		m.sess = nil
	}
	if m.dev != nil {
		m.dev.Close()
		f := m.dev.ProfileFile
		m.dev = nil
		return f
	}
	return ""
}
