package modelconv

// This file converts the TF ops that reduce, resize or join tensors: Mean,
// ResizeBilinear/ResizeNearestNeighbor and ConcatV2.

import (
	"slices"
)

// nhwcToNCHWAxis maps a TF NHWC axis of a rank-4 tensor to NCHW.
func nhwcToNCHWAxis(a int64) int64 {
	if a < 0 {
		a += 4
	}
	return [4]int64{0, 2, 3, 1}[a]
}

func constInts(v *value) ([]int64, bool) {
	if !v.isConst() {
		return nil, false
	}
	if v.w.I32 != nil {
		out := make([]int64, len(v.w.I32))
		for i, x := range v.w.I32 {
			out[i] = int64(x)
		}
		return out, true
	}
	return nil, false
}

func (c *converter) mean(n *Node, ins []*value) (*value, error) {
	if len(ins) != 2 {
		return nil, unsupported(n, "expects 2 inputs, has %d", len(ins))
	}
	x, err := c.dynamic(n, ins[0])
	if err != nil {
		return nil, err
	}
	axes, ok := constInts(ins[1])
	if !ok {
		return nil, unsupported(n, "reduction indices must be an int32 constant")
	}
	keep := n.attrBool("keep_dims", false)
	rank := int64(len(x.shape))
	norm := make([]int64, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, unsupported(n, "reduction axis %d out of range for rank %d", axes[i], rank)
		}
		if x.nchw {
			a = nhwcToNCHWAxis(a)
		}
		norm[i] = a
	}
	slices.Sort(norm)
	norm = slices.Compact(norm)
	if x.nchw && keep && slices.Equal(norm, []int64{2, 3}) {
		c.addNode("GlobalAveragePool", n.Name, []string{x.name}, []string{n.Name})
		return &value{name: n.Name, shape: []int64{x.shape[0], x.shape[1], 1, 1}, nchw: true}, nil
	}
	var shape []int64
	for i, d := range x.shape {
		switch {
		case slices.Contains(norm, int64(i)) && keep:
			shape = append(shape, 1)
		case slices.Contains(norm, int64(i)):
		default:
			shape = append(shape, d)
		}
	}
	if x.nchw && !keep && !slices.Contains(norm, 1) && !(slices.Contains(norm, 2) && slices.Contains(norm, 3)) {
		// Remaining dims would be ordered differently in NHWC and NCHW.
		return nil, unsupported(n, "reduction over axes %v without keep_dims changes the layout", axes)
	}
	c.addNode("ReduceMean", n.Name, []string{x.name}, []string{n.Name},
		intsAttr("axes", norm...), intAttr("keepdims", map[bool]int64{true: 1, false: 0}[keep]))
	return &value{name: n.Name, shape: shape, nchw: x.nchw && keep}, nil
}

func (c *converter) resize(n *Node, ins []*value) (*value, error) {
	if len(ins) != 2 {
		return nil, unsupported(n, "expects 2 inputs, has %d", len(ins))
	}
	x := ins[0]
	if x.isConst() || !x.nchw {
		return nil, unsupported(n, "input must be a rank-4 activation tensor")
	}
	size, ok := constInts(ins[1])
	if !ok || len(size) != 2 {
		return nil, unsupported(n, "size must be a constant int32 pair")
	}
	alignCorners := n.attrBool("align_corners", false)
	halfPixel := n.attrBool("half_pixel_centers", false)
	attrs := []onnxAttr{}
	if n.Op == "ResizeBilinear" {
		attrs = append(attrs, stringAttr("mode", "linear"))
		switch {
		case alignCorners:
			attrs = append(attrs, stringAttr("coordinate_transformation_mode", "align_corners"))
		case halfPixel:
			attrs = append(attrs, stringAttr("coordinate_transformation_mode", "half_pixel"))
		default:
			attrs = append(attrs, stringAttr("coordinate_transformation_mode", "asymmetric"))
		}
	} else {
		attrs = append(attrs, stringAttr("mode", "nearest"))
		switch {
		case alignCorners:
			attrs = append(attrs, stringAttr("coordinate_transformation_mode", "align_corners"),
				stringAttr("nearest_mode", "round_prefer_ceil"))
		case halfPixel:
			attrs = append(attrs, stringAttr("coordinate_transformation_mode", "tf_half_pixel_for_nn"),
				stringAttr("nearest_mode", "floor"))
		default:
			attrs = append(attrs, stringAttr("coordinate_transformation_mode", "asymmetric"),
				stringAttr("nearest_mode", "floor"))
		}
	}
	inH, inW := x.shape[2], x.shape[3]
	oh, ow := size[0], size[1]
	exact := inH > 0 && inW > 0
	var sh, sw float32
	if exact {
		sh, sw = float32(oh)/float32(inH), float32(ow)/float32(inW)
		exact = int64(float32(inH)*sh) == oh && int64(float32(inW)*sw) == ow
	}
	if exact {
		scales := c.floatInit(n.Name+"__scales", []int64{4}, []float32{1, 1, sh, sw})
		c.addNode("Resize", n.Name, []string{x.name, "", scales}, []string{n.Name}, attrs...)
	} else {
		// sizes = concat(shape(x)[0:2], [oh, ow]).
		shp := c.uniq(n.Name + "__shape")
		c.addNode("Shape", shp, []string{x.name}, []string{shp})
		nc := c.uniq(n.Name + "__nc")
		c.addNode("Slice", nc, []string{shp, c.int64Init("const_i64_0", []int64{0}), c.int64Init("const_i64_2", []int64{2})}, []string{nc})
		hw := c.int64Init(n.Name+"__hw", []int64{oh, ow})
		sizes := c.uniq(n.Name + "__sizes")
		c.addNode("Concat", sizes, []string{nc, hw}, []string{sizes}, intAttr("axis", 0))
		c.addNode("Resize", n.Name, []string{x.name, "", "", sizes}, []string{n.Name}, attrs...)
	}
	return &value{name: n.Name, shape: []int64{x.shape[0], x.shape[1], oh, ow}, nchw: true}, nil
}

func (c *converter) concat(n *Node, ins []*value) (*value, error) {
	if len(ins) < 2 {
		return nil, unsupported(n, "expects at least 2 inputs")
	}
	ax, ok := constInts(ins[len(ins)-1])
	if !ok || len(ax) != 1 {
		return nil, unsupported(n, "axis must be a constant int32 scalar")
	}
	parts := ins[:len(ins)-1]
	nchw := false
	for _, p := range parts {
		if !p.isConst() && p.nchw {
			nchw = true
		}
	}
	var names []string
	var shape []int64
	axis := ax[0]
	for i, p := range parts {
		var name string
		var s []int64
		switch {
		case p.isConst():
			if nchw && len(p.w.Shape) != 4 {
				return nil, unsupported(n, "constant %q of rank %d concatenated with rank-4 tensors", p.w.Name, len(p.w.Shape))
			}
			name = c.constInput(p, nchw)
			s = intsTo64(p.w.Shape)
			if nchw {
				s = []int64{s[0], s[3], s[1], s[2]}
			}
		case nchw != p.nchw:
			return nil, unsupported(n, "mixes rank-4 and other tensors")
		default:
			name, s = p.name, p.shape
		}
		names = append(names, name)
		if i == 0 {
			shape = slices.Clone(s)
			if axis < 0 {
				axis += int64(len(s))
			}
			if axis < 0 || axis >= int64(len(s)) {
				return nil, unsupported(n, "axis %d out of range", ax[0])
			}
			if nchw {
				axis = nhwcToNCHWAxis(axis)
			}
			continue
		}
		if shape[axis] >= 0 && s[axis] >= 0 {
			shape[axis] += s[axis]
		} else {
			shape[axis] = -1
		}
	}
	c.addNode("Concat", n.Name, names, []string{n.Name}, intAttr("axis", axis))
	return &value{name: n.Name, shape: shape, nchw: nchw}, nil
}
