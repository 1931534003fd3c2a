package modelconv

// This file holds the converter's graph builder: unique ONNX names, nodes,
// value infos and the (deduplicated) initializers that hold TF constants.

import (
	"math"
	"strconv"
	"strings"
)

func (c *converter) uniq(base string) string {
	name := base
	for i := 1; c.used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	c.used[name] = true
	return name
}

func (c *converter) addNode(op, name string, inputs, outputs []string, attrs ...onnxAttr) {
	c.g.Nodes = append(c.g.Nodes, &onnxNode{Name: name, OpType: op, Inputs: inputs, Outputs: outputs, Attrs: attrs})
}

func (c *converter) valueInfo(name string, shape []int64) onnxValueInfo {
	vi := onnxValueInfo{Name: name, ElemType: onnxFloat}
	if shape != nil {
		vi.Shape = make([]onnxDim, len(shape))
		for i, d := range shape {
			switch {
			case d >= 0:
				vi.Shape[i] = onnxDim{Value: d}
			case i == 0 && !c.opts.StaticBatch:
				vi.Shape[i] = onnxDim{Param: c.opts.BatchDim}
			default:
				vi.Shape[i] = onnxDim{Value: -1}
			}
		}
	}
	return vi
}

// scalar returns the name of a float32 scalar initializer.
func (c *converter) scalar(v float32) string {
	key := "scalar|" + strconv.FormatUint(uint64(math.Float32bits(v)), 16)
	if name, ok := c.inits[key]; ok {
		return name
	}
	name := c.uniq("const_" + strings.ReplaceAll(strconv.FormatFloat(float64(v), 'g', -1, 32), "-", "m"))
	c.g.Initializer = append(c.g.Initializer, floatTensor(name, nil, []float32{v}))
	c.inits[key] = name
	return name
}

func (c *converter) int64Init(base string, data []int64) string {
	parts := make([]string, len(data))
	for i, d := range data {
		parts[i] = strconv.FormatInt(d, 10)
	}
	key := "i64|" + strings.Join(parts, ",")
	if name, ok := c.inits[key]; ok {
		return name
	}
	name := c.uniq(base)
	c.g.Initializer = append(c.g.Initializer, int64Tensor(name, []int64{int64(len(data))}, data))
	c.inits[key] = name
	return name
}

func (c *converter) floatInit(base string, dims []int64, data []float32) string {
	name := c.uniq(base)
	c.g.Initializer = append(c.g.Initializer, floatTensor(name, dims, data))
	return name
}

// constInput materialises a TF constant as an initializer. With nchw set,
// a constant broadcast against an NCHW tensor is padded to rank 4 and
// transposed from NHWC order.
func (c *converter) constInput(v *value, nchw bool) string {
	w := v.w
	rank := len(w.Shape)
	if rank == 0 {
		nchw = false
	}
	key := "w|" + w.Name
	if nchw {
		key += "|nchw"
	}
	if name, ok := c.inits[key]; ok {
		return name
	}
	dims := intsTo64(w.Shape)
	var t *onnxTensor
	base := w.Name
	if nchw {
		base += "__nchw"
	}
	name := c.uniq(base)
	if nchw {
		s := make([]int, 4)
		for i := range s {
			s[i] = 1
		}
		copy(s[4-rank:], w.Shape)
		dims = []int64{int64(s[0]), int64(s[3]), int64(s[1]), int64(s[2])}
		switch {
		case w.F32 != nil:
			t = floatTensor(name, dims, transposeNHWC(w.F32, s))
		case w.I32 != nil:
			t = int32Tensor(name, dims, transposeNHWC(w.I32, s))
		}
	} else {
		switch {
		case w.F32 != nil:
			t = floatTensor(name, dims, w.F32)
		case w.I32 != nil:
			t = int32Tensor(name, dims, w.I32)
		}
	}
	if t == nil { // bool
		raw := make([]byte, len(w.Bool))
		for i, b := range w.Bool {
			if b {
				raw[i] = 1
			}
		}
		t = &onnxTensor{Name: name, DataType: onnxBool, Dims: dims, Raw: raw}
	}
	c.g.Initializer = append(c.g.Initializer, t)
	c.inits[key] = name
	return name
}

// transposeNHWC reorders NHWC data (shape s) to NCHW.
func transposeNHWC[T any](src []T, s []int) []T {
	n, h, w, ch := s[0], s[1], s[2], s[3]
	dst := make([]T, len(src))
	for in := 0; in < n; in++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for k := 0; k < ch; k++ {
					dst[((in*ch+k)*h+y)*w+x] = src[((in*h+y)*w+x)*ch+k]
				}
			}
		}
	}
	return dst
}

func intsTo64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}
