// Package onnxtest writes tiny ONNX models for tests of the inference
// element: a mean-colour classifier and constant-output detectors. The
// protobuf is written by hand (field numbers of onnx.proto); only what
// these models need is modelled.
package onnxtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// Graph is a model under construction.
type Graph struct {
	nodes, inits, inputs, outputs [][]byte
}

// Dim is a dimension of an input or output: a size, or -1 for a named
// dynamic one ("N").
type Dim = int64

// Input declares a float32 input.
func (g *Graph) Input(name string, dims ...Dim) { g.inputs = append(g.inputs, valueInfo(name, dims)) }

// Output declares a float32 output.
func (g *Graph) Output(name string, dims ...Dim) {
	g.outputs = append(g.outputs, valueInfo(name, dims))
}

// OutputInt64 declares an int64 output.
func (g *Graph) OutputInt64(name string, dims ...Dim) {
	g.outputs = append(g.outputs, typedValueInfo(name, 7, dims))
}

// Floats adds a float32 constant.
func (g *Graph) Floats(name string, dims []int64, data []float32) {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	g.inits = append(g.inits, tensor(name, 1, dims, raw))
}

// Int64s adds an int64 constant.
func (g *Graph) Int64s(name string, dims []int64, data []int64) {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	g.inits = append(g.inits, tensor(name, 7, dims, raw))
}

// Attr is a node attribute: an int, a float or a list of ints.
type Attr struct {
	Name  string
	Int   *int64
	Float *float32
	Ints  []int64
}

// IntAttr, FloatAttr and IntsAttr make attributes.
func IntAttr(name string, v int64) Attr     { return Attr{Name: name, Int: &v} }
func FloatAttr(name string, v float32) Attr { return Attr{Name: name, Float: &v} }
func IntsAttr(name string, v ...int64) Attr { return Attr{Name: name, Ints: v} }

// Node adds an operator (opset 13).
func (g *Graph) Node(op string, inputs, outputs []string, attrs ...Attr) {
	var b []byte
	for _, in := range inputs {
		b = appendString(b, 1, in)
	}
	for _, out := range outputs {
		b = appendString(b, 2, out)
	}
	b = appendString(b, 3, op+"_"+outputs[0])
	b = appendString(b, 4, op)
	for _, a := range attrs {
		var ab []byte
		ab = appendString(ab, 1, a.Name)
		switch {
		case a.Int != nil:
			ab = protowire.AppendTag(ab, 3, protowire.VarintType)
			ab = protowire.AppendVarint(ab, uint64(*a.Int))
			ab = appendVarint(ab, 20, 2)
		case a.Float != nil:
			ab = protowire.AppendTag(ab, 2, protowire.Fixed32Type)
			ab = protowire.AppendFixed32(ab, math.Float32bits(*a.Float))
			ab = appendVarint(ab, 20, 1)
		default:
			for _, v := range a.Ints {
				ab = appendVarint(ab, 8, uint64(v))
			}
			ab = appendVarint(ab, 20, 7)
		}
		b = appendBytes(b, 5, ab)
	}
	g.nodes = append(g.nodes, b)
}

// Marshal returns the model (IR 7, opset 13).
func (g *Graph) Marshal() []byte {
	var gb []byte
	for _, n := range g.nodes {
		gb = appendBytes(gb, 1, n)
	}
	gb = appendString(gb, 2, "test")
	for _, t := range g.inits {
		gb = appendBytes(gb, 5, t)
	}
	for _, v := range g.inputs {
		gb = appendBytes(gb, 11, v)
	}
	for _, v := range g.outputs {
		gb = appendBytes(gb, 12, v)
	}
	var m []byte
	m = appendVarint(m, 1, 7) // ir_version
	m = appendString(m, 2, "vidflow-onnxtest")
	m = appendBytes(m, 7, gb)
	var op []byte
	op = appendString(op, 1, "")
	op = appendVarint(op, 2, 13)
	m = appendBytes(m, 8, op)
	return m
}

// Write writes the model to path.
func (g *Graph) Write(path string) error { return os.WriteFile(path, g.Marshal(), 0o644) }

// MeanColorClassifier is a classifier of the dominant colour: input
// "input" [N,3,size,size] (NCHW, RGB scaled to 0..1), output "probs"
// [N,3] = softmax(20 × per-channel mean): red, green, blue.
func MeanColorClassifier(size int64) *Graph {
	g := &Graph{}
	g.Input("input", -1, 3, size, size)
	g.Output("probs", -1, 3)
	g.Floats("k", nil, []float32{20})
	g.Node("ReduceMean", []string{"input"}, []string{"mean"}, IntsAttr("axes", 2, 3), IntAttr("keepdims", 0))
	g.Node("Mul", []string{"mean", "k"}, []string{"logits"})
	g.Node("Softmax", []string{"logits"}, []string{"probs"}, IntAttr("axis", 1))
	return g
}

// ConstantDetector is a model whose output "output" is [N, rows, cols],
// every image's being data (rows×cols values) whatever the input
// "images" [N,3,size,size]: for testing parsers and the mapping of boxes.
func ConstantDetector(size, rows, cols int64, data []float32) *Graph {
	g := &Graph{}
	g.Input("images", -1, 3, size, size)
	g.Output("output", -1, rows, cols)
	g.Floats("zero", nil, []float32{0})
	g.Int64s("shape", []int64{3}, []int64{-1, 1, 1})
	g.Floats("const", []int64{rows, cols}, data)
	g.Node("ReduceMean", []string{"images"}, []string{"m"}, IntsAttr("axes", 1, 2, 3), IntAttr("keepdims", 0))
	g.Node("Mul", []string{"m", "zero"}, []string{"z"})
	g.Node("Reshape", []string{"z", "shape"}, []string{"z3"})
	g.Node("Add", []string{"z3", "const"}, []string{"output"})
	return g
}

// Const is a constant output of ConstantOutputs: its name, its
// dimensions per image (none for one value an image) and its values.
type Const struct {
	Name string
	Dims []int64
	Data []float32
	// Int64 makes the output an int64 tensor of Data's values (class
	// ids, as TAO's Segformer gives them).
	Int64 bool
}

// ConstantOutputs is a model of several outputs, each [N, Dims...] with
// every image's values being Data whatever the input "images"
// [N,3,size,size]: for testing parsers that read several layers (SSD's
// boxes, scores, classes and num_detections [N]; DetectNet's grids).
func ConstantOutputs(size int64, outs ...Const) *Graph {
	return ConstantOutputsNamed("images", size, size, outs...)
}

// ConstantOutputsNamed is ConstantOutputs with the input named and sized
// as a real model's: input [N,3,h,w] (a stand-in for NVIDIA's models
// keeps their names and shapes).
func ConstantOutputsNamed(input string, h, w int64, outs ...Const) *Graph {
	g := &Graph{}
	g.Input(input, -1, 3, h, w)
	g.Floats("zero", nil, []float32{0})
	g.Node("ReduceMean", []string{input}, []string{"m"}, IntsAttr("axes", 1, 2, 3), IntAttr("keepdims", 0))
	g.Node("Mul", []string{"m", "zero"}, []string{"z"}) // [N] zeros
	var casts []string                                  // int64 outputs: cast after the nodes that make their floats
	for i, o := range outs {
		dims := append([]Dim{-1}, o.Dims...)
		out := o.Name
		if o.Int64 {
			g.OutputInt64(o.Name, dims...)
			out = o.Name + "_float"
			casts = append(casts, o.Name)
		} else {
			g.Output(o.Name, dims...)
		}
		c := fmt.Sprintf("const%d", i)
		g.Floats(c, o.Dims, o.Data)
		if len(o.Dims) == 0 {
			g.Node("Add", []string{"z", c}, []string{out})
			continue
		}
		shape := make([]int64, len(o.Dims)+1)
		shape[0] = -1
		for k := 1; k < len(shape); k++ {
			shape[k] = 1
		}
		sh, zr := fmt.Sprintf("shape%d", i), fmt.Sprintf("z%d", i)
		g.Int64s(sh, []int64{int64(len(shape))}, shape)
		g.Node("Reshape", []string{"z", sh}, []string{zr})
		g.Node("Add", []string{zr, c}, []string{out})
	}
	for _, name := range casts {
		g.Node("Cast", []string{name + "_float"}, []string{name}, IntAttr("to", 7))
	}
	return g
}

func valueInfo(name string, dims []Dim) []byte { return typedValueInfo(name, 1, dims) }

// typedValueInfo is a value of element type dtype (1 float, 7 int64).
func typedValueInfo(name string, dtype uint64, dims []Dim) []byte {
	var shape []byte
	for _, d := range dims {
		var db []byte
		if d < 0 {
			db = appendString(db, 2, "N")
		} else {
			db = appendVarint(db, 1, uint64(d))
		}
		shape = appendBytes(shape, 1, db)
	}
	var tt []byte
	tt = appendVarint(tt, 1, dtype)
	tt = appendBytes(tt, 2, shape)
	var typ []byte
	typ = appendBytes(typ, 1, tt)
	var b []byte
	b = appendString(b, 1, name)
	b = appendBytes(b, 2, typ)
	return b
}

func tensor(name string, dtype uint64, dims []int64, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = appendVarint(b, 1, uint64(d))
	}
	b = appendVarint(b, 2, dtype)
	b = appendString(b, 8, name)
	b = appendBytes(b, 9, raw)
	return b
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
