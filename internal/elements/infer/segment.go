package infer

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/media"
)

// segment is DeepStream's default semantic segmentation parser (network-
// type 2): the first output layer holds each class's probability of each
// pixel, [C,H,W] (segmentation-output-order 0) or [H,W,C] (1); a pixel's
// class is the most probable one above segmentation-threshold, -1 when
// none is. The map goes into the frame's (or the object's) User meta as
// a *media.SegmentationMeta, which the OSD draws.
func (r *runner) segment(s *slot) error {
	if isSegformer(r.cfg.ParseSegmentationFuncName) {
		return r.segformer(s)
	}
	l := r.layers[0]
	if len(l.Dims) != 3 {
		return fmt.Errorf("segmentation output %q is %v: want [C,H,W] (segmentation-output-order 0) or [H,W,C] (1)", l.Name, l.Dims)
	}
	c, h, w := l.Dims[0], l.Dims[1], l.Dims[2]
	cs, ps := h*w, 1 // strides of a class and of a pixel
	if r.cfg.SegmentationOutputOrder == 1 {
		h, w, c = l.Dims[0], l.Dims[1], l.Dims[2]
		cs, ps = 1, c
	}
	if c <= 0 || h <= 0 || w <= 0 || len(l.Data) < c*h*w {
		return fmt.Errorf("segmentation output %q: %v has %d values", l.Name, l.Dims, len(l.Data))
	}
	m := &media.SegmentationMeta{ComponentID: r.cfg.UniqueID, Classes: c, Width: w, Height: h, ClassMap: make([]int32, w*h)}
	r.attachSegmentation(s, m)
	th := r.cfg.SegmentationThreshold
	for px := range m.ClassMap {
		best, bp := int32(-1), th
		base := px * ps
		for k := 0; k < c; k++ {
			if p := l.Data[base+k*cs]; p > bp {
				best, bp = int32(k), p
			}
		}
		m.ClassMap[px] = best
	}
	return nil
}

// attachSegmentation puts m in the frame's (or the object's) User meta.
func (r *runner) attachSegmentation(s *slot, m *media.SegmentationMeta) {
	user := &s.fm.User
	if s.obj != nil {
		user = &s.obj.User
	}
	if *user == nil {
		*user = map[string]any{}
	}
	(*user)[media.SegmentationKey] = m
}

// isSegformer reports whether a parse-segmentation-func-name is TAO's
// NvDsInferParseCustomSegformerTAO, which vidflow has built in.
func isSegformer(name string) bool {
	return strings.EqualFold(strings.TrimSpace(name), "NvDsInferParseCustomSegformerTAO")
}

// segformer is TAO's NvDsInferParseCustomSegformerTAO: the layer "output"
// holds each pixel's class id (int64, [1,H,W] or [H,W]: the model ends in
// its argmax), which is the class map as it is; ids outside
// num-detected-classes are -1.
func (r *runner) segformer(s *slot) error {
	l := r.layers[0]
	for _, x := range r.layers {
		if x.Name == "output" {
			l = x
		}
	}
	dims := l.Dims
	if len(dims) == 3 && dims[0] == 1 {
		dims = dims[1:]
	}
	if len(dims) != 2 || dims[0] <= 0 || dims[1] <= 0 || len(l.Data) < dims[0]*dims[1] {
		return fmt.Errorf("NvDsInferParseCustomSegformerTAO: output %q is %v: want the class ids [1,H,W] or [H,W]", l.Name, l.Dims)
	}
	h, w := dims[0], dims[1]
	m := &media.SegmentationMeta{ComponentID: r.cfg.UniqueID, Classes: r.cfg.NumDetectedClasses, Width: w, Height: h, ClassMap: make([]int32, w*h)}
	for i := range m.ClassMap {
		id := int32(l.Data[i])
		if id < 0 || (m.Classes > 0 && int(id) >= m.Classes) {
			id = -1
		}
		m.ClassMap[i] = id
	}
	r.attachSegmentation(s, m)
	return nil
}

var instanceRegistry = struct {
	sync.RWMutex
	m map[string]bbox.InstanceParser
}{m: map[string]bbox.InstanceParser{"nvdsinferparsecustommask2former": parseMask2Former}}

// RegisterInstanceMaskParser makes an instance segmentation parser
// available to configs under name (parse-bbox-instance-mask-func-name;
// matched without regard to case). DeepStream has no default one, so a
// network-type 3 config always names one.
func RegisterInstanceMaskParser(name string, fn bbox.InstanceParser) error {
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "" || fn == nil {
		return fmt.Errorf("RegisterInstanceMaskParser: need a name and a function")
	}
	instanceRegistry.Lock()
	defer instanceRegistry.Unlock()
	if _, dup := instanceRegistry.m[key]; dup {
		return fmt.Errorf("RegisterInstanceMaskParser: a parser named %q is already registered", name)
	}
	instanceRegistry.m[key] = fn
	return nil
}

func lookupInstanceParser(name string) (bbox.InstanceParser, bool) {
	instanceRegistry.RLock()
	defer instanceRegistry.RUnlock()
	fn, ok := instanceRegistry.m[strings.ToLower(strings.TrimSpace(name))]
	return fn, ok
}

// instances runs an instance segmentation parser: its objects are
// filtered as a detector's are (classes, pre-cluster-threshold, sizes;
// no clustering: DeepStream's instance segmentation takes cluster-mode
// 4), and with output-instance-mask each keeps its mask.
func (r *runner) instances(s *slot) error {
	cfg := r.cfg
	fn, ok := lookupInstanceParser(cfg.ParseInstanceMaskFuncName)
	if !ok {
		return fmt.Errorf("no instance mask parser %q", cfg.ParseInstanceMaskFuncName)
	}
	info := bbox.Info{NetWidth: r.plan.w, NetHeight: r.plan.h, Classes: cfg.NumDetectedClasses, Threshold: r.threshold}
	dets, err := callInstanceParser(fn, cfg.ParseInstanceMaskFuncName, r.layers, info)
	if err != nil {
		return err
	}
	for _, d := range dets {
		one := [1]bbox.Detection{d.Detection}
		if len(cfg.filter(one[:], cfg.NumDetectedClasses, r.plan.h)) == 0 {
			continue
		}
		rect := s.t.rect(d.X1, d.Y1, d.X2, d.Y2)
		if rect.Width <= 0 || rect.Height <= 0 {
			continue
		}
		o := media.NewObject(d.ClassID, r.label(0, d.ClassID), d.Score, rect)
		o.ComponentID = cfg.UniqueID
		o.Parent = s.obj
		if cfg.OutputInstanceMask && d.MaskWidth > 0 && d.MaskHeight > 0 && len(d.Mask) >= d.MaskWidth*d.MaskHeight {
			o.User = map[string]any{media.InstanceMaskKey: &media.InstanceMask{Width: d.MaskWidth, Height: d.MaskHeight,
				Data: slices.Clone(d.Mask[:d.MaskWidth*d.MaskHeight]), Threshold: cfg.SegmentationThreshold}}
		}
		s.fm.Objects = append(s.fm.Objects, o)
	}
	return nil
}

// callInstanceParser calls a parser; a panic in it is an error, not a
// crash.
func callInstanceParser(fn bbox.InstanceParser, name string, layers []bbox.Layer, info bbox.Info) (dets []bbox.InstanceDetection, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("instance mask parser %s panicked: %v", name, v)
		}
	}()
	dets, err = fn(layers, info, nil)
	if err != nil {
		return nil, fmt.Errorf("instance mask parser %s: %v", name, err)
	}
	return dets, nil
}
