package modelconv

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The float16 form of the device-ready variant (Options.FP16, tfjs2onnx
// -fp16) lets ONNX Runtime's CUDA provider run the network in half
// precision (tensor cores, half the memory traffic):
//
//   - every float initializer of the network is stored as float16, except
//     Resize's roi and scales, which the ONNX spec wants float32;
//   - the uint8 input is cast to float16 instead of float32 (0..255 are
//     exact), so every op of the network computes in float16 (Clip's
//     min/max and the operands of Mul/Add are float16 initializers too);
//   - each of the network's outputs (heat and wh for CenterNet) is cast back
//     to float32 where the network ends, so the device decode and the
//     model's outputs are exactly those of the float32 variant.

// onnxFloat16 is TensorProto.DataType FLOAT16.
const onnxFloat16 = 10

// Float32ToFloat16 converts a float32 to IEEE 754 binary16, rounding to
// the nearest value (ties to even). Values beyond float16's range become
// infinities, tiny ones subnormals or zero; NaN stays NaN.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf / NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp == 0 && mant == 0:
		return sign
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal or zero in float16
		if e < -10 {
			return sign
		}
		m := mant | 0x800000 // implicit bit
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rest := m & (1<<shift - 1)
		if rest > half || (rest == half && r&1 == 1) {
			r++ // may carry into the smallest normal: still correct
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rest := mant & 0x1fff
	if rest > 0x1000 || (rest == 0x1000 && r&1 == 1) {
		r++ // a carry into the exponent is correct, up to infinity
	}
	return sign | uint16(r)
}

// float16Keep reports the inputs of an op that stay float32 in a float16
// network: Resize's roi (1) and scales (2).
func float16Keep(op string, input int) bool {
	return op == "Resize" && (input == 1 || input == 2)
}

// float16Network rewrites the converted network (before the device
// decode is appended) to compute in float16: see the top of fp16.go.
// It needs Options.UInt8Input (the input cast becomes a cast to float16).
func (c *converter) float16Network() error {
	if !c.opts.UInt8Input {
		return fmt.Errorf("modelconv: FP16 needs UInt8Input (the uint8 input is cast to float16 in the graph)")
	}
	// Initializers that must stay float32, and those converted.
	keep := map[string]bool{}
	other := map[string]bool{}
	for _, n := range c.g.Nodes {
		for i, in := range n.Inputs {
			if float16Keep(n.OpType, i) {
				keep[in] = true
			} else {
				other[in] = true
			}
		}
	}
	for _, t := range c.g.Initializer {
		if t.DataType != onnxFloat || keep[t.Name] {
			if t.DataType == onnxFloat && other[t.Name] {
				return fmt.Errorf("modelconv: FP16: initializer %q is read both as float32 (Resize roi/scales) and as network data", t.Name)
			}
			continue
		}
		n := len(t.Raw) / 4
		raw := make([]byte, 2*n)
		for i := range n {
			f := math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
			h := Float32ToFloat16(f)
			if h&0x7c00 == 0x7c00 && !math.IsInf(float64(f), 0) && !math.IsNaN(float64(f)) {
				return fmt.Errorf("modelconv: FP16: initializer %q holds %g, beyond float16's range", t.Name, f)
			}
			binary.LittleEndian.PutUint16(raw[2*i:], h)
		}
		t.DataType, t.Raw = onnxFloat16, raw
	}
	// Casts to float32 in the network (the uint8 input's) now make float16.
	for _, n := range c.g.Nodes {
		if n.OpType != "Cast" {
			continue
		}
		for i := range n.Attrs {
			if a := &n.Attrs[i]; a.Name == "to" && a.I == onnxFloat {
				a.I = onnxFloat16
			}
		}
	}
	// Declared float32 values of the network are float16 now.
	for i := range c.g.ValueInfo {
		if vi := &c.g.ValueInfo[i]; vi.ElemType == onnxFloat {
			vi.ElemType = onnxFloat16
		}
	}
	// Each output is computed as name__f16 and cast to float32 as name.
	producer := map[string]*onnxNode{}
	for _, n := range c.g.Nodes {
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	for _, out := range c.g.Outputs {
		if out.ElemType != onnxFloat {
			continue
		}
		p := producer[out.Name]
		if p == nil {
			return fmt.Errorf("modelconv: FP16: output %q is not computed by a node", out.Name)
		}
		half := c.uniq(out.Name + "__f16")
		for _, n := range c.g.Nodes {
			for j, o := range n.Outputs {
				if o == out.Name {
					n.Outputs[j] = half
				}
			}
			for j, in := range n.Inputs {
				if in == out.Name {
					n.Inputs[j] = half
				}
			}
		}
		producer[half] = p
		c.addNode("Cast", c.uniq(out.Name+"__f32"), []string{half}, []string{out.Name}, intAttr("to", onnxFloat))
	}
	c.opts.DocString += " Variant: float16 network (float16 weights, input cast to float16, its outputs cast back to float32)."
	return nil
}
