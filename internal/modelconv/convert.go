package modelconv

import (
	"errors"
	"fmt"
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
	// Int8 quantizes the network statically to INT8 in the QDQ form with
	// the calibrated ranges it holds (quant.go).
	Int8 *Int8
	// Calibration adds every tensor Int8 may quantize as a float output of
	// the graph (listed in Result.Calibration), for calibrating its range.
	Calibration bool
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
	// Calibration lists the tensors added as outputs (Options.Calibration),
	// Quantizable the nodes Int8 may quantize (their names for KeepFloat).
	Calibration []string
	Quantizable []QuantNode
}

// QuantNode is a node Int8 may quantize: its ONNX name and op, and the
// float tensors it reads (data, not weights) and writes.
type QuantNode struct {
	Name, Op string
	Inputs   []string
	Output   string
	// A Conv's output channels and input channels (0 for other ops).
	Channels, InChannels int
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
	// calibOuts are the outputs added by Options.Calibration: the INT8
	// plan ignores them (it is that of the model without them).
	calibOuts map[string]bool
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
	// With both, the INT8 model also outputs its float tensors (before
	// their QuantizeLinear): calib compares them with the float model's.
	if opts.Calibration {
		if err := c.calibrationOutputs(res); err != nil {
			return nil, err
		}
	}
	if opts.Int8 != nil && (!opts.Calibration || len(opts.Int8.Ranges) > 0) {
		if err := c.quantizeInt8(); err != nil {
			return nil, err
		}
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
