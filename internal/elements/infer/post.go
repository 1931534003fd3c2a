package infer

import (
	"fmt"
	"math"
	"slices"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/media"
)

// postAll parses the outputs (data: all images of the run) of each slot.
func (r *runner) postAll(slots []slot, data [][]float32) error {
	if r.cfg.OutputTensorMeta {
		defer r.be.syncTensors()
	}
	for i := range slots {
		r.image = i
		for k := range r.layers {
			per := r.outPer[k]
			r.layers[k] = bbox.Layer{Name: r.plan.outputs[k], Dims: r.dims[k], Data: data[k][i*per : (i+1)*per]}
		}
		if err := r.post(&slots[i]); err != nil {
			return fmt.Errorf("frame %d of stream %d: %v", slots[i].fm.FrameNumber, slots[i].fm.SourceID, err)
		}
	}
	return nil
}

// post turns the output layers of one image into metadata.
func (r *runner) post(s *slot) error {
	cfg := r.cfg
	if cfg.OutputTensorMeta {
		tm := &media.TensorMeta{ComponentID: cfg.UniqueID, Layers: make(map[string]*media.Tensor, len(r.layers))}
		for k, l := range r.layers {
			t, err := r.be.tensor(k, r.image, l, r.buf.Frame(s.fm.BatchID))
			if err != nil {
				return err
			}
			tm.Layers[l.Name] = t
		}
		if s.obj != nil {
			s.obj.Tensors = append(s.obj.Tensors, tm)
		} else {
			s.fm.Tensors = append(s.fm.Tensors, tm)
		}
	}
	switch cfg.NetworkType {
	case NetworkDetector:
		return r.detect(s)
	case NetworkClassifier:
		return r.classify(s)
	case NetworkSegmentation:
		return r.segment(s)
	case NetworkInstanceSeg:
		return r.instances(s)
	}
	return nil
}

func (r *runner) detect(s *slot) error {
	cfg := r.cfg
	info := bbox.Info{NetWidth: r.plan.w, NetHeight: r.plan.h, Classes: cfg.NumDetectedClasses, Threshold: r.threshold}
	if info.Classes == 0 {
		info.Classes = r.classes
	}
	dets, err := r.parse(info)
	if err != nil {
		return err
	}
	dets = cfg.filter(dets, r.classes, r.plan.h)
	dets, r.counts = cfg.cluster(dets, r.counts)
	// One allocation for the frame's list, not one per doubling.
	s.fm.Objects = slices.Grow(s.fm.Objects, len(dets))
	for _, d := range dets {
		rect := s.t.rect(d.X1, d.Y1, d.X2, d.Y2)
		if rect.Width <= 0 || rect.Height <= 0 {
			continue
		}
		o := media.NewObject(d.ClassID, r.label(0, d.ClassID), d.Score, rect)
		o.ComponentID = cfg.UniqueID
		o.Parent = s.obj
		s.fm.Objects = append(s.fm.Objects, o)
	}
	return nil
}

// parse calls the parser; a panic in it is an error, not a crash.
func (r *runner) parse(info bbox.Info) (dets []bbox.Detection, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("parser %s panicked: %v", r.parser.name, v)
		}
	}()
	dets, err = r.parser.fn(r.layers, info, r.dets)
	if err != nil {
		return nil, fmt.Errorf("parser %s: %v", r.parser.name, err)
	}
	if cap(dets) > cap(r.dets) {
		r.dets = dets[:0]
	}
	return dets, nil
}

func (r *runner) label(layer, class int) string {
	if layer < len(r.labels) && class >= 0 && class < len(r.labels[layer]) {
		return r.labels[layer][class]
	}
	return ""
}

// classify reads each output layer as one attribute's class
// probabilities, as DeepStream's default classifier parser does: the
// class kept is the most probable of those above classifier-threshold
// (none when no class is above it). The values are taken as they are
// (a one-output sigmoid classifier is positive only above the
// threshold); classifier-softmax says they are logits, to be turned into
// probabilities first.
func (r *runner) classify(s *slot) error {
	cfg := r.cfg
	if r.classParser != nil {
		return r.classifyWith(s)
	}
	for k, l := range r.layers {
		v := l.Data
		if len(v) == 0 {
			continue
		}
		if cfg.ClassifierSoftmax {
			r.probs = softmax(r.probs[:0], v)
			v = r.probs
		}
		best := -1
		for i, p := range v {
			if p > cfg.ClassifierThreshold && (best < 0 || p > v[best]) {
				best = i
			}
		}
		if best < 0 {
			continue
		}
		c := media.Classification{ComponentID: cfg.UniqueID, ClassID: best, Label: r.label(k, best), Confidence: v[best]}
		if len(r.labels) == 1 && len(r.layers) > 1 {
			c.Label = r.label(0, best)
		}
		if s.obj != nil {
			s.obj.Classifications = append(s.obj.Classifications, c)
			continue
		}
		if s.fm.User == nil {
			s.fm.User = map[string]any{}
		}
		prev, _ := s.fm.User[media.UserClassifications].([]media.Classification)
		s.fm.User[media.UserClassifications] = append(prev, c)
	}
	return nil
}

// classifyWith gives the object (or the frame) the attributes of a
// registered classifier parser.
func (r *runner) classifyWith(s *slot) error {
	if s.obj != nil {
		out, err := r.classifyCustom(s.obj.Classifications)
		if err == nil {
			s.obj.Classifications = out
		}
		return err
	}
	prev, _ := s.fm.User[media.UserClassifications].([]media.Classification)
	out, err := r.classifyCustom(prev)
	if err != nil || len(out) == len(prev) {
		return err
	}
	if s.fm.User == nil {
		s.fm.User = map[string]any{}
	}
	s.fm.User[media.UserClassifications] = out
	return nil
}

func softmax(dst, v []float32) []float32 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	var sum float32
	for _, x := range v {
		e := float32(math.Exp(float64(x - m)))
		dst = append(dst, e)
		sum += e
	}
	for i := range dst {
		dst[i] /= sum
	}
	return dst
}
