package modelconv

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// OpenCVReport says what RewriteForOpenCV changed.
type OpenCVReport struct {
	Clips   int // Clip nodes given min/max attributes instead of inputs
	Resizes int // Resize nodes given a 2-input (X, scales) form
}

// RewriteForOpenCV rewrites an ONNX model (opset 13, as Convert writes it)
// into a form that OpenCV 4.6's DNN importer (cv2.dnn.readNetFromONNX, as
// in Debian 12's python3-opencv) loads. That importer predates opset 11's
// forms of two operators:
//
//   - Clip: opset 11+ passes min and max as inputs; OpenCV 4.6 wants one
//     input and min/max attributes (opset 6's form). Each Clip whose bounds
//     are constant initializers gets them as attributes.
//   - Resize: opset 11+ takes (X, roi, scales[, sizes]); a Resize with an
//     empty roi and constant scales becomes (X, scales), opset 10's form,
//     which OpenCV reads, keeping mode and coordinate_transformation_mode.
//
// Everything else is copied byte for byte (weights, names, metadata), so
// the rewritten model computes the same function. The result is meant for
// OpenCV only: ONNX Runtime checks operators against the declared opset
// and rejects the old forms.
func RewriteForOpenCV(model []byte) ([]byte, OpenCVReport, error) {
	var rep OpenCVReport
	var out []byte
	found := false
	err := eachField(model, func(num protowire.Number, typ protowire.Type, raw, val []byte) error {
		if num != 7 || typ != protowire.BytesType { // ModelProto.graph = 7
			out = append(out, raw...)
			return nil
		}
		g, err := rewriteGraphForOpenCV(val, &rep)
		if err != nil {
			return err
		}
		found = true
		out = appendBytes(out, 7, g)
		return nil
	})
	if err != nil {
		return nil, rep, fmt.Errorf("modelconv: reading ONNX model: %w", err)
	}
	if !found {
		return nil, rep, fmt.Errorf("modelconv: the ONNX model has no graph")
	}
	return out, rep, nil
}

// eachField calls fn with each top-level field of a protobuf message: its
// number, wire type, the raw bytes (tag included) and, for length-delimited
// fields, the payload.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, raw, val []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return protowire.ParseError(m)
		}
		raw := b[:n+m]
		var val []byte
		if typ == protowire.BytesType {
			val, _ = protowire.ConsumeBytes(b[n:])
		}
		if err := fn(num, typ, raw, val); err != nil {
			return err
		}
		b = b[n+m:]
	}
	return nil
}

// constTensor is an initializer read for its values.
type constTensor struct {
	dims   []int64
	floats []float32 // float32 data, nil otherwise
}

// varintOf decodes the value of a varint field from its raw bytes.
func varintOf(raw []byte) uint64 {
	_, _, n := protowire.ConsumeTag(raw)
	v, _ := protowire.ConsumeVarint(raw[n:])
	return v
}

// readInitializer reads a TensorProto's name, dims and, for float32
// tensors, values (raw_data or float_data).
func readInitializer(b []byte) (string, constTensor, error) {
	var name string
	var t constTensor
	var dtype uint64
	var raw []byte
	var floats []float32
	err := eachField(b, func(num protowire.Number, typ protowire.Type, field, val []byte) error {
		switch {
		case num == 8 && typ == protowire.BytesType: // name
			name = string(val)
		case num == 2 && typ == protowire.VarintType: // data_type
			dtype = varintOf(field)
		case num == 1 && typ == protowire.VarintType: // dims
			t.dims = append(t.dims, int64(varintOf(field)))
		case num == 1 && typ == protowire.BytesType: // dims, packed
			for len(val) > 0 {
				v, n := protowire.ConsumeVarint(val)
				if n < 0 {
					return protowire.ParseError(n)
				}
				t.dims = append(t.dims, int64(v))
				val = val[n:]
			}
		case num == 9 && typ == protowire.BytesType: // raw_data
			raw = val
		case num == 4 && typ == protowire.BytesType: // float_data, packed
			floats = appendFloats(floats, val)
		case num == 4 && typ == protowire.Fixed32Type: // float_data
			floats = appendFloats(floats, field[len(field)-4:])
		}
		return nil
	})
	if err != nil {
		return "", t, err
	}
	if dtype == onnxFloat {
		t.floats = floats
		if raw != nil {
			t.floats = appendFloats(nil, raw)
		}
	}
	return name, t, nil
}

func appendFloats(dst []float32, b []byte) []float32 {
	for len(b) >= 4 {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b)))
		b = b[4:]
	}
	return dst
}

// rewriteGraphForOpenCV rewrites the Clip and Resize nodes of a GraphProto.
func rewriteGraphForOpenCV(g []byte, rep *OpenCVReport) ([]byte, error) {
	consts := map[string]constTensor{}
	err := eachField(g, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
		if num == 5 && typ == protowire.BytesType { // initializer
			name, t, err := readInitializer(val)
			if err != nil {
				return err
			}
			consts[name] = t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []byte
	err = eachField(g, func(num protowire.Number, typ protowire.Type, raw, val []byte) error {
		if num != 1 || typ != protowire.BytesType { // GraphProto.node = 1
			out = append(out, raw...)
			return nil
		}
		n, err := rewriteNodeForOpenCV(val, consts, rep)
		if err != nil {
			return err
		}
		out = appendBytes(out, 1, n)
		return nil
	})
	return out, err
}

// scalarOf returns the value of a one-element float32 initializer.
func scalarOf(consts map[string]constTensor, name string) (float32, bool) {
	t, ok := consts[name]
	if !ok || len(t.floats) != 1 {
		return 0, false
	}
	return t.floats[0], true
}

// rewriteNodeForOpenCV rewrites one NodeProto when it is a Clip or Resize
// of the opset-11+ forms; other nodes are returned unchanged.
func rewriteNodeForOpenCV(b []byte, consts map[string]constTensor, rep *OpenCVReport) ([]byte, error) {
	var inputs []string
	var op, name string
	err := eachField(b, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // input
			inputs = append(inputs, string(val))
		case 3:
			name = string(val)
		case 4: // op_type
			op = string(val)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var newInputs []string
	var extra []onnxAttr
	switch {
	case op == "Clip" && len(inputs) > 1:
		newInputs = inputs[:1]
		if len(inputs) > 1 && inputs[1] != "" {
			v, ok := scalarOf(consts, inputs[1])
			if !ok {
				return nil, fmt.Errorf("node %q (Clip): min %q is not a constant scalar", name, inputs[1])
			}
			extra = append(extra, floatAttr("min", v))
		}
		if len(inputs) > 2 && inputs[2] != "" {
			v, ok := scalarOf(consts, inputs[2])
			if !ok {
				return nil, fmt.Errorf("node %q (Clip): max %q is not a constant scalar", name, inputs[2])
			}
			extra = append(extra, floatAttr("max", v))
		}
		rep.Clips++
	case op == "Resize" && len(inputs) == 3 && inputs[1] == "" && inputs[2] != "":
		if t, ok := consts[inputs[2]]; !ok || len(t.floats) != 4 {
			return nil, fmt.Errorf("node %q (Resize): scales %q are not 4 constant floats", name, inputs[2])
		}
		newInputs = []string{inputs[0], inputs[2]}
		rep.Resizes++
	default:
		return b, nil
	}
	// Re-encode: the new inputs first, then every other field as it was,
	// then the added attributes.
	var out []byte
	for _, in := range newInputs {
		out = appendString(out, 1, in)
	}
	err = eachField(b, func(num protowire.Number, _ protowire.Type, raw, _ []byte) error {
		if num != 1 {
			out = append(out, raw...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range extra {
		out = appendBytes(out, 5, extra[i].marshal())
	}
	return out, nil
}
