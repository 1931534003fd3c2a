package modelconv

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file is a minimal hand-written ONNX protobuf encoder. Field numbers
// follow the public onnx.proto (proto2 syntax). Only what the converter
// emits is modelled.

// ONNX TensorProto.DataType values.
const (
	onnxFloat = 1
	onnxInt32 = 6
	onnxInt64 = 7
	onnxBool  = 9
)

// ONNX AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrTensor = 4
	attrFloats = 6
	attrInts   = 7
)

const (
	onnxIRVersion = 7
	onnxOpset     = 13
)

// onnxTensor is a TensorProto with its payload in raw_data (little endian).
type onnxTensor struct {
	Name     string
	DataType int32
	Dims     []int64
	Raw      []byte
}

func floatTensor(name string, dims []int64, data []float32) *onnxTensor {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnxTensor{Name: name, DataType: onnxFloat, Dims: dims, Raw: raw}
}

func int64Tensor(name string, dims []int64, data []int64) *onnxTensor {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &onnxTensor{Name: name, DataType: onnxInt64, Dims: dims, Raw: raw}
}

func int32Tensor(name string, dims []int64, data []int32) *onnxTensor {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	return &onnxTensor{Name: name, DataType: onnxInt32, Dims: dims, Raw: raw}
}

// onnxAttr is an AttributeProto; exactly one value field is used, chosen by Type.
type onnxAttr struct {
	Name   string
	Type   int32
	F      float32
	I      int64
	S      string
	T      *onnxTensor
	Floats []float32
	Ints   []int64
}

func intAttr(name string, v int64) onnxAttr { return onnxAttr{Name: name, Type: attrInt, I: v} }
func floatAttr(name string, v float32) onnxAttr {
	return onnxAttr{Name: name, Type: attrFloat, F: v}
}
func stringAttr(name, v string) onnxAttr { return onnxAttr{Name: name, Type: attrString, S: v} }
func intsAttr(name string, v ...int64) onnxAttr {
	return onnxAttr{Name: name, Type: attrInts, Ints: v}
}

type onnxNode struct {
	Name    string
	OpType  string
	Inputs  []string
	Outputs []string
	Attrs   []onnxAttr
}

// onnxDim is one dimension of a ValueInfo shape: a symbolic dimension when
// Param is set, else a fixed value, or unknown when Value < 0.
type onnxDim struct {
	Value int64
	Param string
}

type onnxValueInfo struct {
	Name     string
	ElemType int32
	Shape    []onnxDim // nil: shape unknown
}

type onnxGraph struct {
	Name        string
	Nodes       []*onnxNode
	Initializer []*onnxTensor
	Inputs      []onnxValueInfo
	Outputs     []onnxValueInfo
	ValueInfo   []onnxValueInfo
}

type onnxModel struct {
	ProducerName    string
	ProducerVersion string
	DocString       string
	Graph           *onnxGraph
	Metadata        [][2]string
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (t *onnxTensor) marshal() []byte {
	var b []byte
	for _, d := range t.Dims { // dims = 1
		b = appendVarint(b, 1, uint64(d))
	}
	b = appendVarint(b, 2, uint64(t.DataType)) // data_type = 2
	b = appendString(b, 8, t.Name)             // name = 8
	b = appendBytes(b, 9, t.Raw)               // raw_data = 9
	return b
}

func (a *onnxAttr) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.Name) // name = 1
	switch a.Type {
	case attrFloat: // f = 2
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case attrInt: // i = 3
		b = appendVarint(b, 3, uint64(a.I))
	case attrString: // s = 4
		b = appendString(b, 4, a.S)
	case attrTensor: // t = 5
		b = appendBytes(b, 5, a.T.marshal())
	case attrFloats: // floats = 7
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case attrInts: // ints = 8
		for _, v := range a.Ints {
			b = appendVarint(b, 8, uint64(v))
		}
	}
	b = appendVarint(b, 20, uint64(a.Type)) // type = 20
	return b
}

func (n *onnxNode) marshal() []byte {
	var b []byte
	for _, in := range n.Inputs { // input = 1
		b = appendString(b, 1, in)
	}
	for _, out := range n.Outputs { // output = 2
		b = appendString(b, 2, out)
	}
	if n.Name != "" {
		b = appendString(b, 3, n.Name) // name = 3
	}
	b = appendString(b, 4, n.OpType) // op_type = 4
	for i := range n.Attrs {         // attribute = 5
		b = appendBytes(b, 5, n.Attrs[i].marshal())
	}
	return b
}

func (v *onnxValueInfo) marshal() []byte {
	// TypeProto.Tensor: elem_type = 1, shape = 2.
	var tt []byte
	tt = appendVarint(tt, 1, uint64(v.ElemType))
	if v.Shape != nil {
		var shape []byte
		for _, d := range v.Shape { // TensorShapeProto.dim = 1
			var dim []byte
			switch {
			case d.Param != "":
				dim = appendString(dim, 2, d.Param) // dim_param = 2
			case d.Value >= 0:
				dim = appendVarint(dim, 1, uint64(d.Value)) // dim_value = 1
			} // else: unknown dimension, empty message
			shape = appendBytes(shape, 1, dim)
		}
		tt = appendBytes(tt, 2, shape)
	}
	var typ []byte
	typ = appendBytes(typ, 1, tt) // TypeProto.tensor_type = 1

	var b []byte
	b = appendString(b, 1, v.Name) // name = 1
	b = appendBytes(b, 2, typ)     // type = 2
	return b
}

func (g *onnxGraph) marshal() []byte {
	var b []byte
	for _, n := range g.Nodes { // node = 1
		b = appendBytes(b, 1, n.marshal())
	}
	b = appendString(b, 2, g.Name)    // name = 2
	for _, t := range g.Initializer { // initializer = 5
		b = appendBytes(b, 5, t.marshal())
	}
	for i := range g.Inputs { // input = 11
		b = appendBytes(b, 11, g.Inputs[i].marshal())
	}
	for i := range g.Outputs { // output = 12
		b = appendBytes(b, 12, g.Outputs[i].marshal())
	}
	for i := range g.ValueInfo { // value_info = 13
		b = appendBytes(b, 13, g.ValueInfo[i].marshal())
	}
	return b
}

// Marshal encodes the model as an ONNX ModelProto.
func (m *onnxModel) Marshal() []byte {
	var b []byte
	b = appendVarint(b, 1, onnxIRVersion) // ir_version = 1
	if m.ProducerName != "" {
		b = appendString(b, 2, m.ProducerName) // producer_name = 2
	}
	if m.ProducerVersion != "" {
		b = appendString(b, 3, m.ProducerVersion) // producer_version = 3
	}
	if m.DocString != "" {
		b = appendString(b, 6, m.DocString) // doc_string = 6
	}
	b = appendBytes(b, 7, m.Graph.marshal()) // graph = 7
	// opset_import = 8: OperatorSetIdProto{domain = 1 (empty: default), version = 2}
	var opset []byte
	opset = appendVarint(opset, 2, onnxOpset)
	b = appendBytes(b, 8, opset)
	for _, kv := range m.Metadata { // metadata_props = 14: StringStringEntryProto{key = 1, value = 2}
		var e []byte
		e = appendString(e, 1, kv[0])
		e = appendString(e, 2, kv[1])
		b = appendBytes(b, 14, e)
	}
	return b
}
