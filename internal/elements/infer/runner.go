package infer

import (
	"context"
	"runtime"
	"slices"
	"time"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/media"
)

// runner is one run's state: the backend and the memory reused for every
// batch.
type runner struct {
	*nvinfer
	be      backend
	batch   int      // images per ONNX Runtime call
	in      inputMem // the backend's input memory
	outPer  []int    // output values per image
	dims    [][]int  // per-image output dimensions of the last run
	pre     *preprocessor
	slots   []slot
	layers  []bbox.Layer
	dets    []bbox.Detection
	counts  []int
	probs   []float32
	batches int64            // batches seen, for the interval
	buf     *media.Buffer    // the batch being processed
	image   int              // the image of the run being parsed
	workers int              // goroutines preprocessing a run (preprocess-workers)
	pres    []*preprocessor  // theirs, made on first use
	gpre    *gpuPreprocessor // scales on the GPU when set (scaling-compute-hw)
	preNote string           // why images are scaled on the CPU when the GPU was wanted
}

// slot is one image of a run: a frame, or an object of a frame.
type slot struct {
	fm  *media.FrameMeta
	obj *media.ObjectMeta // secondary mode
	roi region
	t   xform
}

func (e *nvinfer) start() (*runner, error) {
	pl := e.plan
	r := &runner{nvinfer: e, batch: pl.runBatch(e.cfg.BatchSize),
		pre:    newPreprocessor(e.cfg, pl.w, pl.h, pl.c, pl.nhwc),
		layers: make([]bbox.Layer, len(pl.outputs)), workers: e.workers}
	if e.workers == 0 { // auto: the CPU waits for the GPU, so it can prepare images in parallel
		r.workers = 1
		if e.provider == "cuda" {
			r.workers = min(runtime.GOMAXPROCS(0), 8)
		}
	}
	be, err := openBackend(e.cfg, pl, r.batch, e.provider, "")
	if err != nil {
		return nil, err
	}
	r.be, r.in, r.dims = be, be.input(), be.outputDims()
	if r.gpre, r.preNote, err = e.gpuScaling(be); err != nil {
		be.close()
		return nil, err
	}
	if pl.dynamicOut {
		if err := r.checkOutputs(r.dims); err != nil {
			be.close()
			return nil, err
		}
	}
	r.outPer = sizes(r.dims)
	return r, nil
}

func (r *runner) close() {
	if r.gpre != nil {
		r.gpre.close()
		r.gpre = nil
	}
	if r.be != nil {
		r.be.close()
		r.be = nil
	}
}

// skips reports whether the interval skips the next batch, counted in
// *seen: the single runner and runParallel count batches the same way.
// Secondary elements infer on every batch.
func (e *nvinfer) skips(seen *int64) bool {
	if e.cfg.ProcessMode != 1 {
		return false
	}
	iv := e.interval.Load()
	skip := iv > 0 && *seen%(iv+1) != 0
	*seen++
	return skip
}

// process runs the model on one batch, unless the interval skips it, and
// attaches the results.
func (r *runner) process(_ context.Context, b *media.Buffer) error {
	if r.skips(&r.batches) {
		return nil
	}
	return r.inferBatch(b)
}

// inferBatch runs the model on every frame (primary) or selected object
// (secondary) of b, batch images at a time.
func (r *runner) inferBatch(b *media.Buffer) error {
	meta := b.Meta()
	r.slots = r.slots[:0]
	switch {
	case r.cfg.ProcessMode == 1 && r.cfg.InputTensorMeta:
		for _, fm := range meta.Frames {
			r.slots = r.preprocessSlots(r.slots, fm)
		}
	case r.cfg.ProcessMode == 1:
		for _, fm := range meta.Frames {
			r.slots = append(r.slots, slot{fm: fm, roi: region{0, 0, fm.Width, fm.Height}})
		}
	case r.cfg.InputTensorMeta:
		for _, fm := range meta.Frames {
			r.slots = r.preprocessObjects(r.slots, fm)
		}
	default:
		for _, fm := range meta.Frames {
			for _, o := range fm.Objects {
				if roi, ok := r.selects(o, fm); ok {
					r.slots = append(r.slots, slot{fm: fm, obj: o, roi: roi})
				}
			}
		}
	}
	for start := 0; start < len(r.slots); start += r.batch {
		if err := r.runChunk(b, r.slots[start:min(start+r.batch, len(r.slots))]); err != nil {
			return err
		}
	}
	return nil
}

// selects reports whether a secondary element works on object o, and the
// region of the frame to crop.
func (r *runner) selects(o *media.ObjectMeta, fm *media.FrameMeta) (region, bool) {
	cfg := r.cfg
	switch {
	case o.ComponentID == cfg.UniqueID: // this element's own results
		return region{}, false
	case cfg.OperateOnGIEID >= 0 && o.ComponentID != cfg.OperateOnGIEID:
		return region{}, false
	case cfg.OperateOnClassIDs != nil && !slices.Contains(cfg.OperateOnClassIDs, o.ClassID):
		return region{}, false
	case o.Rect.Width < float32(cfg.InputObjectMinW), o.Rect.Height < float32(cfg.InputObjectMinH):
		return region{}, false
	case cfg.InputObjectMaxW > 0 && o.Rect.Width > float32(cfg.InputObjectMaxW),
		cfg.InputObjectMaxH > 0 && o.Rect.Height > float32(cfg.InputObjectMaxH):
		return region{}, false
	}
	return regionOf(o.Rect, fm.Width, fm.Height)
}

// runChunk runs the model once on up to r.batch images.
func (r *runner) runChunk(b *media.Buffer, slots []slot) error {
	r.buf = b
	r.working.Add(1)
	defer func() {
		r.buf = nil
		r.working.Add(-1)
	}()
	t0 := time.Now()
	if err := r.fillAll(b, slots); err != nil {
		return err
	}
	n := len(slots)
	if r.plan.fixedBatch > 0 {
		n = r.plan.fixedBatch
	}
	t1 := time.Now()
	data, dims, err := r.be.run(n)
	if err != nil {
		return err
	}
	t2 := time.Now()
	r.dims = dims
	for k, d := range dims {
		r.outPer[k] = size(d)
	}
	err = r.postAll(slots, data)
	r.timing.add(len(slots), t1.Sub(t0), t2.Sub(t1), time.Since(t2))
	return err
}

// preprocessing says where the runner scales images, for the start-up
// report (and vidflow bench's logs).
func (r *runner) preprocessing() string {
	if r.gpre != nil {
		return r.gpre.describe()
	}
	if _, ok := r.be.(*cudaBackend); ok && r.cfg.ProcessMode != 1 {
		return "preprocessing on the CPU (secondary mode: object crops are scaled on the CPU in this version)"
	}
	return "preprocessing on the CPU"
}

// preprocessSlots are a frame's regions from an nvdspreprocess for this
// element (input-tensor-meta): as DeepStream's nvinfer with
// input-tensor-meta infers only on the tensors nvdspreprocess prepared, a
// frame without them is not inferred on.
func (r *runner) preprocessSlots(slots []slot, fm *media.FrameMeta) []slot {
	pm := fm.Preprocess()
	if pm == nil || (len(pm.TargetIDs) > 0 && !slices.Contains(pm.TargetIDs, r.cfg.UniqueID)) {
		return slots
	}
	for _, rect := range pm.ROIs {
		if roi, ok := regionOf(rect, fm.Width, fm.Height); ok {
			slots = append(slots, slot{fm: fm, roi: roi})
		}
	}
	return slots
}

// preprocessObjects are the objects an nvdspreprocess in object mode chose
// for this element (secondary, input-tensor-meta): its choice replaces
// the element's own operate-on-* selection, as in DeepStream.
func (r *runner) preprocessObjects(slots []slot, fm *media.FrameMeta) []slot {
	pm := fm.Preprocess()
	if pm == nil || (len(pm.TargetIDs) > 0 && !slices.Contains(pm.TargetIDs, r.cfg.UniqueID)) {
		return slots
	}
	for _, o := range pm.Objects {
		if o.ComponentID == r.cfg.UniqueID {
			continue
		}
		if roi, ok := regionOf(o.Rect, fm.Width, fm.Height); ok {
			slots = append(slots, slot{fm: fm, obj: o, roi: roi})
		}
	}
	return slots
}
