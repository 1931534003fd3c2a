package infer

import (
	"fmt"
	"slices"
	"time"

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
	be       backend
	dev      *gpu.Session // the CUDA backend's session; nil on the others
	in       inputMem
	outs     [][]float32 // the outputs of the last Run
	pre      *preprocessor
	batch    int
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
	m := &BareModel{cfg: cfg, plan: pl, provider: ep, batch: batch, pre: newPreprocessor(cfg, pl.w, pl.h, pl.c, pl.nhwc)}
	if ep == "cuda" && host {
		m.provider = "cuda-host"
	}
	if m.be, err = openBackend(cfg, pl, batch, m.provider, o.Profile); err != nil {
		return nil, err
	}
	if c, ok := m.be.(*cudaBackend); ok {
		m.dev = c.sess
	}
	m.in = m.be.input()
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
		if _, err := m.in.fill(m.pre, i, &s, region{0, 0, width, height}); err != nil {
			return err
		}
	}
	return nil
}

// InputData is the float32 input's memory (batch images, the model's
// layout); nil for uint8 models.
func (m *BareModel) InputData() []float32 { return m.in.f32 }

// Outputs are the output tensors' memory after the last Run, in the
// order of the config's output layers (all images of the batch).
func (m *BareModel) Outputs() [][]float32 { return slices.Clone(m.outs) }

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
	outs, _, err := m.be.run(m.batch)
	if err != nil {
		return err
	}
	m.outs = outs
	return nil
}

// Close frees the session and tensors; it returns the profile file when
// one was asked for.
func (m *BareModel) Close() string {
	if m.be == nil {
		return ""
	}
	m.be.close()
	m.be = nil
	f := ""
	if m.dev != nil {
		f = m.dev.ProfileFile
		m.dev = nil
	}
	return f
}
