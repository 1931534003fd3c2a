package infer

import (
	"fmt"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidflow/vidflow/internal/core"
)

// BareModel is the model of an nvinfer config run bare: the ONNX Runtime
// session opened exactly as the element opens it (same options, threads
// and execution provider) and run in a loop on a ready input tensor, with
// no preprocessing or parsing. It is the floor a pipeline's inference can
// reach (`vidflow bench infer`).
type BareModel struct {
	cfg   *Config
	plan  *plan
	sess  *ort.DynamicAdvancedSession
	in    *ort.Tensor[float32]
	outs  []ort.Value
	pre   *preprocessor
	batch int
	inPer int
}

// OpenBareModel opens the model of config for runs of batch images with
// threads intra-op threads (0: the config's intra-op-threads).
func OpenBareModel(config string, batch, threads int) (*BareModel, error) {
	cfg, err := LoadConfig(config)
	if err != nil {
		return nil, err
	}
	if threads > 0 {
		cfg.IntraOpThreads = threads
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
	if batch <= 0 {
		batch = max(cfg.BatchSize, 1)
	}
	batch = pl.runBatch(batch)
	sess, err := newSession(cfg.ONNXFile, pl.input, pl.outputs, cfg.ExecutionProvider, cfg.GPUID, cfg.IntraOpThreads)
	if err != nil {
		return nil, err
	}
	m := &BareModel{cfg: cfg, plan: pl, sess: sess, batch: batch, inPer: pl.w * pl.h * pl.c,
		pre: newPreprocessor(cfg, pl.w, pl.h, pl.c, pl.nhwc)}
	shape := ort.NewShape(int64(batch), int64(pl.c), int64(pl.h), int64(pl.w))
	if pl.nhwc {
		shape = ort.NewShape(int64(batch), int64(pl.h), int64(pl.w), int64(pl.c))
	}
	if m.in, err = ort.NewEmptyTensor[float32](shape); err != nil {
		m.Close()
		return nil, err
	}
	// The first run (the element's warm-up) also gives the output shapes;
	// later runs write into output tensors allocated here, as the element's.
	m.outs = make([]ort.Value, len(pl.outputs))
	if err := sess.Run([]ort.Value{m.in}, m.outs); err != nil {
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

// Input is the model's input size: width, height, channels.
func (m *BareModel) Input() (w, h, c int) { return m.plan.w, m.plan.h, m.plan.c }

// Fill preprocesses a tightly packed RGB frame into every image slot of
// the input, as the element does, so that the loop runs on real pixels.
func (m *BareModel) Fill(rgb []byte, width, height int) error {
	s := core.PackedSurface(core.RGB, width, height, rgb)
	data := m.in.GetData()
	for i := 0; i < m.batch; i++ {
		if _, err := m.pre.fill(data[i*m.inPer:(i+1)*m.inPer], &s, region{0, 0, width, height}); err != nil {
			return err
		}
	}
	return nil
}

// InputData is the input tensor's memory (batch images, the model's layout).
func (m *BareModel) InputData() []float32 { return m.in.GetData() }

// Outputs are the output tensors' memory after the last Run, in the
// order of the config's output layers (all images of the batch).
func (m *BareModel) Outputs() [][]float32 {
	out := make([][]float32, len(m.outs))
	for i, o := range m.outs {
		out[i] = o.(*ort.Tensor[float32]).GetData()
	}
	return out
}

// Run runs the model once on the input.
func (m *BareModel) Run() error {
	if err := m.sess.Run([]ort.Value{m.in}, m.outs); err != nil {
		return fmt.Errorf("model %s: %v", m.cfg.ONNXFile, err)
	}
	return nil
}

// Close frees the session and tensors.
func (m *BareModel) Close() {
	if m.in != nil {
		m.in.Destroy()
	}
	destroyAll(m.outs)
	if m.sess != nil {
		m.sess.Destroy()
	}
}
