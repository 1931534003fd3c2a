package modelconv

// This file converts the element-wise TF ops: activations and binary
// arithmetic with broadcasting.

import (
	"slices"
)

// activation emits the ONNX equivalent of a TF activation and returns the
// name of its output (outName, made unique by the caller).
func (c *converter) activation(op string, alpha float32, in, outName string) string {
	switch op {
	case "Relu":
		c.addNode("Relu", outName, []string{in}, []string{outName})
	case "Relu6":
		c.addNode("Clip", outName, []string{in, c.scalar(0), c.scalar(6)}, []string{outName})
	case "Sigmoid":
		c.addNode("Sigmoid", outName, []string{in}, []string{outName})
	case "Tanh":
		c.addNode("Tanh", outName, []string{in}, []string{outName})
	case "Elu":
		c.addNode("Elu", outName, []string{in}, []string{outName}, floatAttr("alpha", 1))
	case "LeakyRelu":
		c.addNode("LeakyRelu", outName, []string{in}, []string{outName}, floatAttr("alpha", alpha))
	case "Neg":
		c.addNode("Neg", outName, []string{in}, []string{outName})
	case "Exp":
		c.addNode("Exp", outName, []string{in}, []string{outName})
	case "Sqrt":
		c.addNode("Sqrt", outName, []string{in}, []string{outName})
	case "Abs":
		c.addNode("Abs", outName, []string{in}, []string{outName})
	case "Rsqrt":
		tmp := c.uniq(outName + "__sqrt")
		c.addNode("Sqrt", tmp, []string{in}, []string{tmp})
		c.addNode("Reciprocal", outName, []string{tmp}, []string{outName})
	default:
		panic("modelconv: activation " + op)
	}
	return outName
}

func broadcastShapes(a, b []int64) []int64 {
	if len(a) < len(b) {
		a, b = b, a
	}
	out := slices.Clone(a)
	off := len(a) - len(b)
	for i, d := range b {
		o := out[off+i]
		switch {
		case o == 1:
			out[off+i] = d
		case d == 1 || d == o:
		case o == -1:
			out[off+i] = d
		case d == -1:
		default:
			out[off+i] = -1
		}
	}
	return out
}

func (c *converter) binary(n *Node, op string, ins []*value) (*value, error) {
	if len(ins) != 2 {
		return nil, unsupported(n, "expects 2 inputs, has %d", len(ins))
	}
	nchw := false
	for _, v := range ins {
		if !v.isConst() && v.nchw {
			nchw = true
		}
	}
	if ins[0].isConst() && ins[1].isConst() {
		return nil, unsupported(n, "both operands are constants (constant folding is not implemented)")
	}
	names := make([]string, 2)
	shapes := make([][]int64, 2)
	for i, v := range ins {
		switch {
		case v.isConst():
			if v.w.F32 == nil {
				return nil, unsupported(n, "non-float constant operand %q", v.w.Name)
			}
			if nchw && len(v.w.Shape) > 4 {
				return nil, unsupported(n, "constant %q of rank %d broadcast against a rank-4 tensor", v.w.Name, len(v.w.Shape))
			}
			names[i] = c.constInput(v, nchw)
			if nchw && len(v.w.Shape) > 0 {
				s := make([]int64, 4)
				for j := range s {
					s[j] = 1
				}
				copy(s[4-len(v.w.Shape):], intsTo64(v.w.Shape))
				shapes[i] = []int64{s[0], s[3], s[1], s[2]}
			} else {
				shapes[i] = intsTo64(v.w.Shape)
			}
		case nchw && !v.nchw && len(v.shape) > 0:
			return nil, unsupported(n, "mixes a rank-4 tensor with a rank-%d tensor %q", len(v.shape), v.name)
		default:
			names[i] = v.name
			shapes[i] = v.shape
		}
	}
	if op == "PRelu" && ins[0].isConst() {
		return nil, unsupported(n, "constant input with tensor alpha")
	}
	c.addNode(op, n.Name, names, []string{n.Name})
	return &value{name: n.Name, shape: broadcastShapes(shapes[0], shapes[1]), nchw: nchw}, nil
}
