package modelconv

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field (wire-level, schema-less).
type field struct {
	num    protowire.Number
	typ    protowire.Type
	varint uint64
	bytes  []byte
}

func decodeFields(t *testing.T, b []byte) []field {
	t.Helper()
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.varint, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.varint = uint64(v)
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
		if n < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out
}

func fieldsNamed(fs []field, num protowire.Number) []field {
	var out []field
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

func TestONNXEncoding(t *testing.T) {
	g := &onnxGraph{Name: "g"}
	g.Initializer = append(g.Initializer, floatTensor("w", []int64{2}, []float32{1, 2}))
	g.Nodes = append(g.Nodes, &onnxNode{Name: "n", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
		Attrs: []onnxAttr{intsAttr("strides", 2, 2), stringAttr("auto_pad", "SAME_UPPER"), floatAttr("alpha", 0.5)}})
	g.Inputs = append(g.Inputs, onnxValueInfo{Name: "x", ElemType: onnxFloat, Shape: []onnxDim{{Param: "N"}, {Value: 3}, {Value: -1}}})
	g.Outputs = append(g.Outputs, onnxValueInfo{Name: "y", ElemType: onnxFloat})
	m := &onnxModel{ProducerName: "p", Graph: g, Metadata: [][2]string{{"k", "v"}}}
	top := decodeFields(t, m.Marshal())

	if ir := fieldsNamed(top, 1); len(ir) != 1 || ir[0].varint != 7 {
		t.Errorf("ir_version = %+v", ir)
	}
	ops := fieldsNamed(top, 8)
	if len(ops) != 1 {
		t.Fatalf("opset_import: %d entries", len(ops))
	}
	if v := fieldsNamed(decodeFields(t, ops[0].bytes), 2); len(v) != 1 || v[0].varint != 13 {
		t.Errorf("opset version = %+v", v)
	}
	if md := fieldsNamed(top, 14); len(md) != 1 {
		t.Errorf("metadata_props: %d", len(md))
	}
	graphs := fieldsNamed(top, 7)
	if len(graphs) != 1 {
		t.Fatalf("graph fields: %d", len(graphs))
	}
	gf := decodeFields(t, graphs[0].bytes)
	nodes := fieldsNamed(gf, 1)
	if len(nodes) != 1 {
		t.Fatalf("nodes: %d", len(nodes))
	}
	nf := decodeFields(t, nodes[0].bytes)
	if op := fieldsNamed(nf, 4); len(op) != 1 || string(op[0].bytes) != "Conv" {
		t.Errorf("op_type = %+v", op)
	}
	if in := fieldsNamed(nf, 1); len(in) != 2 || string(in[1].bytes) != "w" {
		t.Errorf("inputs = %+v", in)
	}
	attrs := fieldsNamed(nf, 5)
	if len(attrs) != 3 {
		t.Fatalf("attributes: %d", len(attrs))
	}
	strides := decodeFields(t, attrs[0].bytes)
	if ints := fieldsNamed(strides, 8); len(ints) != 2 || ints[0].varint != 2 {
		t.Errorf("strides ints = %+v", ints)
	}
	if typ := fieldsNamed(strides, 20); len(typ) != 1 || typ[0].varint != attrInts {
		t.Errorf("strides type = %+v", typ)
	}
	if s := fieldsNamed(decodeFields(t, attrs[1].bytes), 4); len(s) != 1 || string(s[0].bytes) != "SAME_UPPER" {
		t.Errorf("auto_pad = %+v", s)
	}
	if f := fieldsNamed(decodeFields(t, attrs[2].bytes), 2); len(f) != 1 || f[0].varint != 0x3f000000 {
		t.Errorf("alpha = %+v", f)
	}
	inits := fieldsNamed(gf, 5)
	if len(inits) != 1 {
		t.Fatalf("initializers: %d", len(inits))
	}
	tf := decodeFields(t, inits[0].bytes)
	if raw := fieldsNamed(tf, 9); len(raw) != 1 || len(raw[0].bytes) != 8 {
		t.Errorf("raw_data = %+v", raw)
	}
	if dt := fieldsNamed(tf, 2); len(dt) != 1 || dt[0].varint != onnxFloat {
		t.Errorf("data_type = %+v", dt)
	}
	// Input x: type.tensor_type.shape.dim = [N, 3, ?].
	ins := fieldsNamed(gf, 11)
	if len(ins) != 1 {
		t.Fatalf("inputs: %d", len(ins))
	}
	typ := fieldsNamed(decodeFields(t, ins[0].bytes), 2)
	tt := fieldsNamed(decodeFields(t, typ[0].bytes), 1)
	shape := fieldsNamed(decodeFields(t, tt[0].bytes), 2)
	dims := fieldsNamed(decodeFields(t, shape[0].bytes), 1)
	if len(dims) != 3 {
		t.Fatalf("dims: %d", len(dims))
	}
	if p := fieldsNamed(decodeFields(t, dims[0].bytes), 2); len(p) != 1 || string(p[0].bytes) != "N" {
		t.Errorf("dim 0 = %+v", p)
	}
	if v := fieldsNamed(decodeFields(t, dims[1].bytes), 1); len(v) != 1 || v[0].varint != 3 {
		t.Errorf("dim 1 = %+v", v)
	}
	if len(dims[2].bytes) != 0 {
		t.Errorf("unknown dim 2 should be empty, got %x", dims[2].bytes)
	}
}
