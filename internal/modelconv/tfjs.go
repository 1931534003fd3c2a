// Package modelconv converts TensorFlow.js graph models (model.json plus
// binary weight shards) into ONNX models, written with a small hand-made
// protobuf encoder so no ONNX or TensorFlow tooling is needed.
//
// Only inference graphs made of the ops a typical mobile CNN uses are
// supported (convolutions, depthwise convolutions, element-wise maths,
// activations, pooling, mean, bilinear/nearest resize, concat). Rank-4
// activations are NHWC in TF.js and are converted to NCHW internally:
// rank-4 graph inputs stay NHWC (a Transpose is inserted) while rank-4 graph
// outputs are NCHW.
package modelconv

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Model is a parsed TF.js graph model with its weights decoded.
type Model struct {
	Format      string
	GeneratedBy string
	ConvertedBy string
	Nodes       []*Node
	Weights     map[string]*Weight
	// SignatureInputs / SignatureOutputs are the tensor names listed in the
	// model's signature (sorted), if any.
	SignatureInputs  []string
	SignatureOutputs []string

	byName map[string]*Node
}

// Node is one TF graph node.
type Node struct {
	Name   string
	Op     string
	Inputs []string
	Attr   map[string]AttrValue
}

// Weight is a decoded constant. Exactly one of F32 / I32 / Bool is set.
type Weight struct {
	Name  string
	Shape []int
	DType string // "float32", "int32" or "bool"
	F32   []float32
	I32   []int32
	Bool  []bool
}

// NumElements returns the product of the weight's dimensions.
func (w *Weight) NumElements() int { return numElements(w.Shape) }

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// AttrValue mirrors TF's AttrValue in the JSON form TF.js writes.
type AttrValue struct {
	S     *string         `json:"s,omitempty"` // base64
	I     json.RawMessage `json:"i,omitempty"` // int64, usually as a string
	F     json.RawMessage `json:"f,omitempty"`
	B     *bool           `json:"b,omitempty"`
	Type  string          `json:"type,omitempty"`
	List  *AttrList       `json:"list,omitempty"`
	Shape *TensorShape    `json:"shape,omitempty"`
}

// AttrList is the list form of an attribute.
type AttrList struct {
	S []string          `json:"s,omitempty"`
	I []json.RawMessage `json:"i,omitempty"`
	F []json.RawMessage `json:"f,omitempty"`
	B []bool            `json:"b,omitempty"`
}

// TensorShape is TF's TensorShapeProto in JSON form.
type TensorShape struct {
	Dim []struct {
		Size json.RawMessage `json:"size"`
	} `json:"dim"`
	UnknownRank bool `json:"unknownRank"`
}

// Dims returns the shape's dimensions (-1 for unknown).
func (s *TensorShape) Dims() ([]int64, error) {
	if s == nil || s.UnknownRank {
		return nil, fmt.Errorf("unknown rank")
	}
	out := make([]int64, len(s.Dim))
	for i, d := range s.Dim {
		if len(d.Size) == 0 {
			out[i] = 0 // protobuf JSON omits zero values
			continue
		}
		v, err := parseJSONInt(d.Size)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func parseJSONInt(raw json.RawMessage) (int64, error) {
	s := strings.Trim(string(raw), `"`)
	return strconv.ParseInt(s, 10, 64)
}

func parseJSONFloat(raw json.RawMessage) (float64, error) {
	s := strings.Trim(string(raw), `"`)
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}

func (n *Node) attr(name string) (AttrValue, bool) {
	a, ok := n.Attr[name]
	return a, ok
}

func (n *Node) attrString(name, def string) (string, error) {
	a, ok := n.attr(name)
	if !ok || a.S == nil {
		return def, nil
	}
	b, err := base64.StdEncoding.DecodeString(*a.S)
	if err != nil {
		return "", fmt.Errorf("attribute %s: %w", name, err)
	}
	return string(b), nil
}

func (n *Node) attrStrings(name string) ([]string, error) {
	a, ok := n.attr(name)
	if !ok || a.List == nil {
		return nil, nil
	}
	out := make([]string, len(a.List.S))
	for i, s := range a.List.S {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out[i] = string(b)
	}
	return out, nil
}

func (n *Node) attrInts(name string) ([]int64, error) {
	a, ok := n.attr(name)
	if !ok || a.List == nil {
		return nil, nil
	}
	out := make([]int64, len(a.List.I))
	for i, raw := range a.List.I {
		v, err := parseJSONInt(raw)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out[i] = v
	}
	return out, nil
}

func (n *Node) attrInt(name string, def int64) (int64, error) {
	a, ok := n.attr(name)
	if !ok || len(a.I) == 0 {
		return def, nil
	}
	return parseJSONInt(a.I)
}

func (n *Node) attrFloat(name string, def float64) (float64, error) {
	a, ok := n.attr(name)
	if !ok || len(a.F) == 0 {
		return def, nil
	}
	return parseJSONFloat(a.F)
}

func (n *Node) attrBool(name string, def bool) bool {
	a, ok := n.attr(name)
	if !ok || a.B == nil {
		return def
	}
	return *a.B
}

type modelJSON struct {
	Format        string `json:"format"`
	GeneratedBy   string `json:"generatedBy"`
	ConvertedBy   string `json:"convertedBy"`
	ModelTopology struct {
		Node []struct {
			Name  string               `json:"name"`
			Op    string               `json:"op"`
			Input []string             `json:"input"`
			Attr  map[string]AttrValue `json:"attr"`
		} `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string         `json:"paths"`
		Weights []manifestWeight `json:"weights"`
	} `json:"weightsManifest"`
	Signature struct {
		Inputs  map[string]json.RawMessage `json:"inputs"`
		Outputs map[string]json.RawMessage `json:"outputs"`
	} `json:"signature"`
}

type manifestWeight struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	DType        string `json:"dtype"`
	Quantization *struct {
		DType         string  `json:"dtype"`
		Scale         float64 `json:"scale"`
		Min           float64 `json:"min"`
		OriginalDType string  `json:"original_dtype"`
	} `json:"quantization"`
}

// LoadModel reads a TF.js graph model.json and the weight shards it names
// (resolved relative to the json file's directory).
func LoadModel(jsonPath string) (*Model, error) {
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(jsonPath)
	return ParseModel(data, func(p string) ([]byte, error) {
		if filepath.IsAbs(p) || strings.Contains(p, "..") {
			return nil, fmt.Errorf("weight path %q escapes the model directory", p)
		}
		return os.ReadFile(filepath.Join(dir, p))
	})
}

// ParseModel parses model.json data; readShard returns the bytes of a
// weight shard named in the weights manifest.
func ParseModel(jsonData []byte, readShard func(path string) ([]byte, error)) (*Model, error) {
	var mj modelJSON
	if err := json.Unmarshal(jsonData, &mj); err != nil {
		return nil, fmt.Errorf("parse model json: %w", err)
	}
	if mj.Format != "" && mj.Format != "graph-model" {
		return nil, fmt.Errorf("unsupported TF.js model format %q (want graph-model)", mj.Format)
	}
	m := &Model{
		Format:      mj.Format,
		GeneratedBy: mj.GeneratedBy,
		ConvertedBy: mj.ConvertedBy,
		Weights:     map[string]*Weight{},
		byName:      map[string]*Node{},
	}
	for _, n := range mj.ModelTopology.Node {
		node := &Node{Name: n.Name, Op: n.Op, Inputs: n.Input, Attr: n.Attr}
		if _, dup := m.byName[n.Name]; dup {
			return nil, fmt.Errorf("duplicate node name %q", n.Name)
		}
		m.Nodes = append(m.Nodes, node)
		m.byName[n.Name] = node
	}
	if len(m.Nodes) == 0 {
		return nil, fmt.Errorf("model json has no modelTopology.node (not a graph model?)")
	}
	for k := range mj.Signature.Inputs {
		m.SignatureInputs = append(m.SignatureInputs, k)
	}
	for k := range mj.Signature.Outputs {
		m.SignatureOutputs = append(m.SignatureOutputs, k)
	}
	sort.Strings(m.SignatureInputs)
	sort.Strings(m.SignatureOutputs)

	for gi, group := range mj.WeightsManifest {
		var buf []byte
		for _, p := range group.Paths {
			b, err := readShard(p)
			if err != nil {
				return nil, fmt.Errorf("read weight shard %q: %w", p, err)
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, mw := range group.Weights {
			w, n, err := decodeWeight(mw, buf[off:])
			if err != nil {
				return nil, fmt.Errorf("weights group %d, weight %q: %w", gi, mw.Name, err)
			}
			off += n
			m.Weights[mw.Name] = w
		}
		if off != len(buf) {
			return nil, fmt.Errorf("weights group %d: manifest describes %d bytes, shards hold %d", gi, off, len(buf))
		}
	}
	return m, nil
}

// decodeWeight decodes one manifest entry from the start of b and returns the
// number of bytes consumed.
func decodeWeight(mw manifestWeight, b []byte) (*Weight, int, error) {
	n := numElements(mw.Shape)
	w := &Weight{Name: mw.Name, Shape: mw.Shape, DType: mw.DType}
	need := func(size int) error {
		if len(b) < size {
			return fmt.Errorf("needs %d bytes, only %d left in shards", size, len(b))
		}
		return nil
	}
	setFloat := func(vals []float64) error {
		switch mw.DType {
		case "float32":
			w.F32 = make([]float32, n)
			for i, v := range vals {
				w.F32[i] = float32(v)
			}
		case "int32":
			w.I32 = make([]int32, n)
			for i, v := range vals {
				w.I32[i] = int32(math.Round(v))
			}
		default:
			return fmt.Errorf("quantized dtype %q not supported", mw.DType)
		}
		return nil
	}
	if q := mw.Quantization; q != nil {
		switch q.DType {
		case "float16":
			if err := need(2 * n); err != nil {
				return nil, 0, err
			}
			if mw.DType != "float32" {
				return nil, 0, fmt.Errorf("float16 quantisation of dtype %q not supported", mw.DType)
			}
			w.F32 = make([]float32, n)
			for i := range w.F32 {
				w.F32[i] = Float16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
			}
			return w, 2 * n, nil
		case "uint8":
			if err := need(n); err != nil {
				return nil, 0, err
			}
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = float64(b[i])*q.Scale + q.Min
			}
			return w, n, setFloat(vals)
		case "uint16":
			if err := need(2 * n); err != nil {
				return nil, 0, err
			}
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = float64(binary.LittleEndian.Uint16(b[2*i:]))*q.Scale + q.Min
			}
			return w, 2 * n, setFloat(vals)
		default:
			return nil, 0, fmt.Errorf("unsupported weight quantization dtype %q", q.DType)
		}
	}
	switch mw.DType {
	case "float32":
		if err := need(4 * n); err != nil {
			return nil, 0, err
		}
		w.F32 = make([]float32, n)
		for i := range w.F32 {
			w.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return w, 4 * n, nil
	case "int32":
		if err := need(4 * n); err != nil {
			return nil, 0, err
		}
		w.I32 = make([]int32, n)
		for i := range w.I32 {
			w.I32[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return w, 4 * n, nil
	case "bool":
		if err := need(n); err != nil {
			return nil, 0, err
		}
		w.Bool = make([]bool, n)
		for i := range w.Bool {
			w.Bool[i] = b[i] != 0
		}
		return w, n, nil
	default:
		return nil, 0, fmt.Errorf("unsupported weight dtype %q", mw.DType)
	}
}
