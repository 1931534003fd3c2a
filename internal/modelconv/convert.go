package modelconv

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// OutputSpec selects a TF tensor ("node" or "node:index") as an ONNX graph
// output named Name (the TF name when Name is empty).
type OutputSpec struct {
	Tensor string
	Name   string
}

// Options control a conversion.
type Options struct {
	// InputNames renames graph inputs: TF placeholder name -> ONNX name.
	// Unlisted placeholders keep their TF name.
	InputNames map[string]string
	// Outputs lists the tensors to export. Only the nodes these depend on
	// are converted, which is how a model's own post-processing (TopK,
	// Gather, ...) is cut off. Empty: the outputs of the model's signature.
	Outputs []OutputSpec
	// SkipUnsupportedOutputs, used only when Outputs is empty, drops the
	// signature outputs that depend on unsupported ops instead of failing.
	SkipUnsupportedOutputs bool
	// BatchDim is the symbolic name of dimension 0 of every input and output
	// (default "N"). Set StaticBatch to keep the placeholder's fixed size.
	BatchDim    string
	StaticBatch bool
	// DocString is stored in the ONNX model.
	DocString string
	// UInt8Input makes the inputs uint8, cast to float32 in the graph
	// (devicedecode.go).
	UInt8Input bool
	// DeviceDecode, when set, appends CenterNet's peak extraction and a
	// TopK to the graph (devicedecode.go).
	DeviceDecode *DeviceDecode
	// FP16, with UInt8Input, makes the network compute in float16: float16
	// weights, the input cast to float16, its outputs cast back to float32
	// (fp16.go).
	FP16 bool
}

// IOInfo describes a graph input or output of the converted model.
type IOInfo struct {
	Name   string  // ONNX name
	Tensor string  // TF tensor name
	Shape  []int64 // -1: dynamic (dimension 0 is the batch dimension)
	Layout string  // "NHWC", "NCHW" or "" for non rank-4 tensors
}

// Result is a converted model.
type Result struct {
	ONNX    []byte
	Inputs  []IOInfo
	Outputs []IOInfo
	// Dropped lists signature outputs left out (SkipUnsupportedOutputs).
	Dropped []string
	// Nodes is the number of ONNX nodes written.
	Nodes int
}

// UnsupportedOpError reports a TF op the converter cannot translate.
type UnsupportedOpError struct {
	Op     string
	Node   string
	Reason string
}

func (e *UnsupportedOpError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("modelconv: unsupported op %s in node %q: %s", e.Op, e.Node, e.Reason)
	}
	return fmt.Sprintf("modelconv: unsupported op %s in node %q", e.Op, e.Node)
}

// supportedOps are the TF ops Convert understands.
var supportedOps = map[string]bool{
	"Placeholder": true, "Const": true, "Identity": true, "StopGradient": true,
	"Conv2D": true, "_FusedConv2D": true,
	"DepthwiseConv2dNative": true, "FusedDepthwiseConv2dNative": true,
	"BiasAdd": true, "Add": true, "AddV2": true, "Sub": true, "Mul": true,
	"RealDiv": true, "Div": true, "Maximum": true, "Minimum": true,
	"Relu": true, "Relu6": true, "Sigmoid": true, "Tanh": true, "Elu": true,
	"LeakyRelu": true, "Prelu": true, "Neg": true, "Exp": true, "Sqrt": true,
	"Rsqrt": true, "Square": true, "Abs": true,
	"Mean": true, "ResizeBilinear": true, "ResizeNearestNeighbor": true,
	"ConcatV2": true, "MaxPool": true, "AvgPool": true,
}

// value is a converted TF tensor.
type value struct {
	name  string  // ONNX tensor name (dynamic values)
	shape []int64 // ONNX-side shape; -1 unknown
	nchw  bool    // rank-4 TF NHWC tensor held as NCHW
	w     *Weight // constant (not yet materialised)
}

func (v *value) isConst() bool { return v.w != nil }

type converter struct {
	m        *Model
	opts     Options
	g        *onnxGraph
	vals     map[string]*value
	inits    map[string]string // cache key -> initializer name
	used     map[string]bool   // ONNX names taken
	visiting map[string]bool
	inputs   []IOInfo
}

// Convert translates the model to ONNX (opset 13, IR version 7).
func Convert(m *Model, opts Options) (*Result, error) {
	if opts.BatchDim == "" {
		opts.BatchDim = "N"
	}
	if err := opts.DeviceDecode.validate(); err != nil {
		return nil, err
	}
	c := &converter{
		m:        m,
		opts:     opts,
		g:        &onnxGraph{Name: "tfjs2onnx"},
		vals:     map[string]*value{},
		inits:    map[string]string{},
		used:     map[string]bool{},
		visiting: map[string]bool{},
	}
	for _, n := range m.Nodes {
		c.used[n.Name] = true
	}
	res := &Result{}

	outs := opts.Outputs
	if len(outs) == 0 {
		if len(m.SignatureOutputs) == 0 {
			return nil, errors.New("modelconv: model has no signature outputs; list the outputs to export")
		}
		for _, t := range m.SignatureOutputs {
			if opts.SkipUnsupportedOutputs {
				if err := c.check(t); err != nil {
					var ue *UnsupportedOpError
					if errors.As(err, &ue) {
						res.Dropped = append(res.Dropped, fmt.Sprintf("%s (%v)", t, err))
						continue
					}
					return nil, err
				}
			}
			outs = append(outs, OutputSpec{Tensor: t, Name: defaultOutputName(t)})
		}
		if len(outs) == 0 {
			return nil, fmt.Errorf("modelconv: no signature output can be converted: %s", strings.Join(res.Dropped, "; "))
		}
	}
	// Validate the whole sub-graph first so an unsupported op is reported
	// before anything is emitted.
	for _, o := range outs {
		if err := c.check(o.Tensor); err != nil {
			return nil, err
		}
	}
	outNames := map[string]bool{}
	for _, o := range outs {
		name := o.Name
		if name == "" {
			name = o.Tensor
		}
		if outNames[name] {
			return nil, fmt.Errorf("modelconv: duplicate output name %q", name)
		}
		outNames[name] = true
		v, err := c.resolve(o.Tensor)
		if err != nil {
			return nil, err
		}
		if v.isConst() {
			v = &value{name: c.constInput(v, false), shape: intsTo64(v.w.Shape)}
		}
		if name != v.name {
			if c.used[name] && !c.isTFNameOf(name, o.Tensor) {
				return nil, fmt.Errorf("modelconv: output name %q clashes with a tensor of the graph", name)
			}
			c.used[name] = true
			c.addNode("Identity", name, []string{v.name}, []string{name})
		}
		layout := ""
		if v.nchw {
			layout = "NCHW"
		}
		c.g.Outputs = append(c.g.Outputs, c.valueInfo(name, v.shape))
		res.Outputs = append(res.Outputs, IOInfo{Name: name, Tensor: o.Tensor, Shape: v.shape, Layout: layout})
	}
	if err := c.deviceRewrite(res); err != nil {
		return nil, err
	}
	model := &onnxModel{
		ProducerName:    "vidflow-tfjs2onnx",
		ProducerVersion: "1",
		DocString:       c.opts.DocString,
		Graph:           c.g,
	}
	if m.GeneratedBy != "" {
		model.Metadata = append(model.Metadata, [2]string{"tfjs.generatedBy", m.GeneratedBy})
	}
	if m.ConvertedBy != "" {
		model.Metadata = append(model.Metadata, [2]string{"tfjs.convertedBy", m.ConvertedBy})
	}
	res.ONNX = model.Marshal()
	res.Inputs = c.inputs
	res.Nodes = len(c.g.Nodes)
	return res, nil
}

func (c *converter) isTFNameOf(name, tensor string) bool {
	n, _ := splitTensorName(tensor)
	return n == name
}

func defaultOutputName(t string) string {
	n, idx := splitTensorName(t)
	if i := strings.LastIndex(n, "/"); i >= 0 && i+1 < len(n) {
		n = n[i+1:]
	}
	if idx > 0 {
		n += "_" + strconv.Itoa(idx)
	}
	return n
}

func splitTensorName(t string) (string, int) {
	t = strings.TrimPrefix(t, "^")
	if i := strings.LastIndex(t, ":"); i >= 0 {
		if idx, err := strconv.Atoi(t[i+1:]); err == nil {
			return t[:i], idx
		}
	}
	return t, 0
}

// check walks the sub-graph a tensor depends on and reports the first
// unsupported op or missing node.
func (c *converter) check(tensor string) error {
	seen := map[string]bool{}
	var walk func(name, from string) error
	walk = func(name, from string) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		n := c.m.byName[name]
		if n == nil {
			if from == "" {
				return fmt.Errorf("modelconv: no node %q in the graph", name)
			}
			return fmt.Errorf("modelconv: node %q reads missing node %q", from, name)
		}
		if !supportedOps[n.Op] {
			return &UnsupportedOpError{Op: n.Op, Node: n.Name}
		}
		for _, in := range n.Inputs {
			if strings.HasPrefix(in, "^") {
				continue // control dependency
			}
			dep, _ := splitTensorName(in)
			if err := walk(dep, n.Name); err != nil {
				return err
			}
		}
		return nil
	}
	name, _ := splitTensorName(tensor)
	return walk(name, "")
}

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

// resolve returns the converted value of a TF tensor reference, converting
// the producing node (and its inputs) on first use.
func (c *converter) resolve(ref string) (*value, error) {
	name, idx := splitTensorName(ref)
	if idx != 0 {
		return nil, fmt.Errorf("modelconv: output %d of node %q is not supported (only single-output ops are)", idx, name)
	}
	if v, ok := c.vals[name]; ok {
		return v, nil
	}
	n := c.m.byName[name]
	if n == nil {
		return nil, fmt.Errorf("modelconv: no node %q in the graph", name)
	}
	if c.visiting[name] {
		return nil, fmt.Errorf("modelconv: cycle through node %q", name)
	}
	c.visiting[name] = true
	v, err := c.convertNode(n)
	delete(c.visiting, name)
	if err != nil {
		return nil, err
	}
	c.vals[name] = v
	return v, nil
}

func (c *converter) inputsOf(n *Node) ([]*value, error) {
	var out []*value
	for _, in := range n.Inputs {
		if strings.HasPrefix(in, "^") {
			continue
		}
		v, err := c.resolve(in)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func unsupported(n *Node, format string, args ...any) error {
	return &UnsupportedOpError{Op: n.Op, Node: n.Name, Reason: fmt.Sprintf(format, args...)}
}

func (c *converter) convertNode(n *Node) (*value, error) {
	switch n.Op {
	case "Const":
		w := c.m.Weights[n.Name]
		if w == nil {
			return nil, unsupported(n, "constant has no entry in the weights manifest")
		}
		return &value{w: w}, nil
	case "Placeholder":
		return c.placeholder(n)
	}
	ins, err := c.inputsOf(n)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "Identity", "StopGradient":
		if len(ins) != 1 {
			return nil, unsupported(n, "expects 1 input, has %d", len(ins))
		}
		return ins[0], nil
	case "Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative":
		return c.conv(n, ins)
	case "BiasAdd", "Add", "AddV2":
		return c.binary(n, "Add", ins)
	case "Sub":
		return c.binary(n, "Sub", ins)
	case "Mul":
		return c.binary(n, "Mul", ins)
	case "RealDiv", "Div":
		return c.binary(n, "Div", ins)
	case "Maximum":
		return c.binary(n, "Max", ins)
	case "Minimum":
		return c.binary(n, "Min", ins)
	case "Prelu":
		return c.binary(n, "PRelu", ins)
	case "Square":
		if len(ins) != 1 {
			return nil, unsupported(n, "expects 1 input, has %d", len(ins))
		}
		return c.binary(n, "Mul", []*value{ins[0], ins[0]})
	case "Relu", "Relu6", "Sigmoid", "Tanh", "Elu", "LeakyRelu", "Neg", "Exp", "Sqrt", "Rsqrt", "Abs":
		if len(ins) != 1 {
			return nil, unsupported(n, "expects 1 input, has %d", len(ins))
		}
		x, err := c.dynamic(n, ins[0])
		if err != nil {
			return nil, err
		}
		alpha, err := n.attrFloat("alpha", 0.2)
		if err != nil {
			return nil, err
		}
		out := c.activation(n.Op, float32(alpha), x.name, n.Name)
		return &value{name: out, shape: x.shape, nchw: x.nchw}, nil
	case "Mean":
		return c.mean(n, ins)
	case "ResizeBilinear", "ResizeNearestNeighbor":
		return c.resize(n, ins)
	case "ConcatV2":
		return c.concat(n, ins)
	case "MaxPool", "AvgPool":
		return c.pool(n, ins)
	}
	return nil, &UnsupportedOpError{Op: n.Op, Node: n.Name}
}

// dynamic materialises a constant operand of an op that needs a tensor.
func (c *converter) dynamic(n *Node, v *value) (*value, error) {
	if !v.isConst() {
		return v, nil
	}
	if v.w.F32 == nil {
		return nil, unsupported(n, "non-float constant operand %q", v.w.Name)
	}
	return &value{name: c.constInput(v, false), shape: intsTo64(v.w.Shape)}, nil
}

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

func (c *converter) placeholder(n *Node) (*value, error) {
	a, ok := n.attr("shape")
	if !ok || a.Shape == nil {
		return nil, unsupported(n, "placeholder has no shape attribute")
	}
	dims, err := a.Shape.Dims()
	if err != nil {
		return nil, unsupported(n, "placeholder shape: %v", err)
	}
	if dt, ok := n.attr("dtype"); ok && dt.Type != "" && dt.Type != "DT_FLOAT" {
		return nil, unsupported(n, "placeholder dtype %s (only DT_FLOAT inputs are supported)", dt.Type)
	}
	if len(dims) > 0 && !c.opts.StaticBatch {
		dims[0] = -1
	}
	name := n.Name
	if r, ok := c.opts.InputNames[n.Name]; ok && r != "" {
		name = r
		if c.used[name] && name != n.Name {
			return nil, fmt.Errorf("modelconv: input name %q clashes with a node of the graph", name)
		}
		c.used[name] = true
	}
	c.g.Inputs = append(c.g.Inputs, c.valueInfo(name, dims))
	info := IOInfo{Name: name, Tensor: n.Name, Shape: slices.Clone(dims)}
	if len(dims) != 4 {
		c.inputs = append(c.inputs, info)
		return &value{name: name, shape: dims}, nil
	}
	info.Layout = "NHWC"
	c.inputs = append(c.inputs, info)
	out := c.uniq(n.Name + "__nchw")
	c.addNode("Transpose", out, []string{name}, []string{out}, intsAttr("perm", 0, 3, 1, 2))
	return &value{name: out, shape: []int64{dims[0], dims[3], dims[1], dims[2]}, nchw: true}, nil
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

// spatialPads returns ONNX pads (begin H, begin W, end H, end W) and the
// output size for TF padding mode on known input sizes.
func spatialPads(mode string, in, k, s, d [2]int64, explicit []int64) (pads [4]int64, out [2]int64, err error) {
	for i := 0; i < 2; i++ {
		eff := (k[i]-1)*d[i] + 1
		var before, after int64
		switch mode {
		case "SAME":
			if in[i] >= 0 {
				out[i] = (in[i] + s[i] - 1) / s[i]
				total := max((out[i]-1)*s[i]+eff-in[i], 0)
				before, after = total/2, total-total/2
			} else {
				out[i] = -1
			}
		case "VALID":
			if in[i] >= 0 {
				out[i] = (in[i]-eff)/s[i] + 1
			} else {
				out[i] = -1
			}
		case "EXPLICIT":
			if len(explicit) != 8 {
				return pads, out, fmt.Errorf("explicit_paddings has %d values, want 8", len(explicit))
			}
			before, after = explicit[2+2*i], explicit[3+2*i]
			if in[i] >= 0 {
				out[i] = (in[i]+before+after-eff)/s[i] + 1
			} else {
				out[i] = -1
			}
		default:
			return pads, out, fmt.Errorf("padding %q", mode)
		}
		pads[i], pads[2+i] = before, after
	}
	return pads, out, nil
}

// convGeometry reads strides, dilations and padding of a conv/pool node.
type convGeometry struct {
	strides, dilations [2]int64
	padding            string
	explicit           []int64
}

func readGeometry(n *Node) (convGeometry, error) {
	var g convGeometry
	df, err := n.attrString("data_format", "NHWC")
	if err != nil {
		return g, err
	}
	if df != "NHWC" {
		return g, unsupported(n, "data_format %s (only NHWC is supported)", df)
	}
	g.strides, g.dilations = [2]int64{1, 1}, [2]int64{1, 1}
	st, err := n.attrInts("strides")
	if err != nil {
		return g, err
	}
	if len(st) == 4 {
		if st[0] != 1 || st[3] != 1 {
			return g, unsupported(n, "strides %v on batch/channel axes", st)
		}
		g.strides = [2]int64{st[1], st[2]}
	}
	dl, err := n.attrInts("dilations")
	if err != nil {
		return g, err
	}
	if len(dl) == 4 {
		g.dilations = [2]int64{dl[1], dl[2]}
	}
	if g.padding, err = n.attrString("padding", "VALID"); err != nil {
		return g, err
	}
	if g.explicit, err = n.attrInts("explicit_paddings"); err != nil {
		return g, err
	}
	return g, nil
}

func (c *converter) conv(n *Node, ins []*value) (*value, error) {
	if len(ins) < 2 {
		return nil, unsupported(n, "expects at least 2 inputs, has %d", len(ins))
	}
	x, f := ins[0], ins[1]
	if x.isConst() || !x.nchw {
		return nil, unsupported(n, "input must be a rank-4 activation tensor")
	}
	if !f.isConst() || f.w.F32 == nil || len(f.w.Shape) != 4 {
		return nil, unsupported(n, "filter must be a constant float tensor of rank 4")
	}
	geo, err := readGeometry(n)
	if err != nil {
		return nil, err
	}
	depthwise := strings.Contains(n.Op, "Depthwise")
	kh, kw, ci, co := f.w.Shape[0], f.w.Shape[1], f.w.Shape[2], f.w.Shape[3]
	inC := x.shape[1]
	var weights []float32
	var outC, group int
	if depthwise {
		// TF depthwise filter [kh, kw, C, mult] -> ONNX [C*mult, 1, kh, kw], group C.
		mult := co
		outC, group = ci*mult, ci
		weights = make([]float32, outC*kh*kw)
		for y := 0; y < kh; y++ {
			for xx := 0; xx < kw; xx++ {
				for ch := 0; ch < ci; ch++ {
					for m := 0; m < mult; m++ {
						o := ch*mult + m
						weights[(o*kh+y)*kw+xx] = f.w.F32[((y*kw+xx)*ci+ch)*mult+m]
					}
				}
			}
		}
		if inC >= 0 && int(inC) != ci {
			return nil, unsupported(n, "filter expects %d channels, input has %d", ci, inC)
		}
	} else {
		// TF filter HWIO [kh, kw, in, out] -> ONNX OIHW.
		outC, group = co, 1
		if inC >= 0 && int(inC) != ci {
			if inC%int64(ci) != 0 {
				return nil, unsupported(n, "filter expects %d input channels, input has %d", ci, inC)
			}
			group = int(inC) / ci
		}
		weights = make([]float32, co*ci*kh*kw)
		for y := 0; y < kh; y++ {
			for xx := 0; xx < kw; xx++ {
				for i := 0; i < ci; i++ {
					for o := 0; o < co; o++ {
						weights[((o*ci+i)*kh+y)*kw+xx] = f.w.F32[((y*kw+xx)*ci+i)*co+o]
					}
				}
			}
		}
	}
	wDims := []int64{int64(outC), int64(ci), int64(kh), int64(kw)}
	if depthwise {
		wDims[1] = 1
	}

	// Fused ops: BiasAdd or FusedBatchNorm, then an optional activation.
	var bias []float32
	activation := ""
	alphaInput := ""
	var leakyAlpha float64
	if strings.HasPrefix(n.Op, "_Fused") || strings.HasPrefix(n.Op, "Fused") {
		fused, err := n.attrStrings("fused_ops")
		if err != nil {
			return nil, err
		}
		args := ins[2:]
		if len(fused) == 0 {
			return nil, unsupported(n, "fused op without fused_ops attribute")
		}
		argConst := func(i int) ([]float32, error) {
			if i >= len(args) || !args[i].isConst() || args[i].w.F32 == nil {
				return nil, unsupported(n, "fused argument %d must be a float constant", i)
			}
			if len(args[i].w.F32) != outC {
				return nil, unsupported(n, "fused argument %d has %d values, want %d", i, len(args[i].w.F32), outC)
			}
			return args[i].w.F32, nil
		}
		used := 0
		switch fused[0] {
		case "BiasAdd":
			if bias, err = argConst(0); err != nil {
				return nil, err
			}
			used = 1
		case "FusedBatchNorm":
			// args: scale, offset, mean, variance.
			eps, err := n.attrFloat("epsilon", 0.001)
			if err != nil {
				return nil, err
			}
			var p [4][]float32
			for i := range p {
				if p[i], err = argConst(i); err != nil {
					return nil, err
				}
			}
			bias = make([]float32, outC)
			per := len(weights) / outC
			for o := 0; o < outC; o++ {
				k := p[0][o] / float32(math.Sqrt(float64(p[3][o])+eps))
				for j := 0; j < per; j++ {
					weights[o*per+j] *= k
				}
				bias[o] = p[1][o] - p[2][o]*k
			}
			used = 4
		default:
			return nil, unsupported(n, "fused_ops %v", fused)
		}
		if len(fused) > 2 {
			return nil, unsupported(n, "fused_ops %v", fused)
		}
		if len(fused) == 2 {
			activation = fused[1]
			switch activation {
			case "Relu", "Relu6", "Elu", "Sigmoid", "Tanh":
			case "LeakyRelu":
				if leakyAlpha, err = n.attrFloat("leakyrelu_alpha", 0.2); err != nil {
					return nil, err
				}
			case "Prelu":
				if used >= len(args) {
					return nil, unsupported(n, "Prelu without alpha argument")
				}
				a := args[used]
				if a.isConst() {
					alphaInput = c.constInput(a, true)
				} else if a.nchw {
					alphaInput = a.name
				} else {
					return nil, unsupported(n, "Prelu alpha must be a constant or rank-4 tensor")
				}
			default:
				return nil, unsupported(n, "fused activation %s", activation)
			}
		}
	}

	inHW := [2]int64{x.shape[2], x.shape[3]}
	pads, outHW, err := spatialPads(geo.padding, inHW, [2]int64{int64(kh), int64(kw)}, geo.strides, geo.dilations, geo.explicit)
	if err != nil {
		return nil, unsupported(n, "%v", err)
	}
	attrs := []onnxAttr{
		intsAttr("kernel_shape", int64(kh), int64(kw)),
		intsAttr("strides", geo.strides[0], geo.strides[1]),
		intsAttr("dilations", geo.dilations[0], geo.dilations[1]),
		intAttr("group", int64(group)),
	}
	if geo.padding == "SAME" && (inHW[0] < 0 || inHW[1] < 0) {
		attrs = append(attrs, stringAttr("auto_pad", "SAME_UPPER"))
	} else {
		attrs = append(attrs, intsAttr("pads", pads[:]...))
	}
	wName := c.floatInit(f.w.Name+"__oihw", wDims, weights)
	convIn := []string{x.name, wName}
	if bias != nil {
		convIn = append(convIn, c.floatInit(n.Name+"__bias", []int64{int64(outC)}, bias))
	}
	convOut := n.Name
	if activation != "" {
		convOut = c.uniq(n.Name + "__conv")
	}
	c.addNode("Conv", convOut, convIn, []string{convOut}, attrs...)
	switch activation {
	case "":
	case "Prelu":
		c.addNode("PRelu", n.Name, []string{convOut, alphaInput}, []string{n.Name})
	default:
		c.activation(activation, float32(leakyAlpha), convOut, n.Name)
	}
	return &value{name: n.Name, shape: []int64{x.shape[0], int64(outC), outHW[0], outHW[1]}, nchw: true}, nil
}

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

func (c *converter) pool(n *Node, ins []*value) (*value, error) {
	if len(ins) != 1 {
		return nil, unsupported(n, "expects 1 input, has %d", len(ins))
	}
	x := ins[0]
	if x.isConst() || !x.nchw {
		return nil, unsupported(n, "input must be a rank-4 activation tensor")
	}
	geo, err := readGeometry(n)
	if err != nil {
		return nil, err
	}
	ks, err := n.attrInts("ksize")
	if err != nil {
		return nil, err
	}
	if len(ks) != 4 || ks[0] != 1 || ks[3] != 1 {
		return nil, unsupported(n, "ksize %v", ks)
	}
	k := [2]int64{ks[1], ks[2]}
	pads, out, err := spatialPads(geo.padding, [2]int64{x.shape[2], x.shape[3]}, k, geo.strides, [2]int64{1, 1}, geo.explicit)
	if err != nil {
		return nil, unsupported(n, "%v", err)
	}
	op := "MaxPool"
	if n.Op == "AvgPool" {
		op = "AveragePool" // count_include_pad=0 matches TF
	}
	c.addNode(op, n.Name, []string{x.name}, []string{n.Name},
		intsAttr("kernel_shape", k[0], k[1]), intsAttr("strides", geo.strides[0], geo.strides[1]), intsAttr("pads", pads[:]...))
	return &value{name: n.Name, shape: []int64{x.shape[0], x.shape[1], out[0], out[1]}, nchw: true}, nil
}
