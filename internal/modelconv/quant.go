package modelconv

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Static INT8 quantization in the QDQ form (Options.Int8): the network's
// weights become int8 and its activations uint8, each quantized tensor
// written as QuantizeLinear → DequantizeLinear, so the graph still computes
// in float32 everywhere ONNX Runtime does not fuse it, and ONNX Runtime's
// CPU provider fuses each DQ → op → Q group into its integer kernel
// (QLinearConv, QLinearAdd, QLinearMul, ...; MLAS uses AVX-512 VNNI or
// AMX where the CPU has them):
//
//   - weights of Conv: int8, symmetric (zero point 0), one scale per output
//     channel (axis 0), max|w| of the channel → 127;
//   - biases of Conv: int32 with scale input scale × weight scale of the
//     channel, zero point 0 (what QLinearConv adds in its accumulator);
//   - activations: uint8, asymmetric, from the calibrated range [lo, hi]
//     widened to include 0 (scale (hi-lo)/255, zero point round(-lo/scale)),
//     so that 0 — padding, Relu's floor — is exact;
//   - a Relu or Clip that is the only reader of a quantized op's output is
//     not separated from it: the range is that of the Relu/Clip's output,
//     whose quantization already clamps, and ONNX Runtime drops the
//     Relu/Clip (DQ → Conv → Relu → Q becomes one QLinearConv);
//   - Resize, when quantized (not by default: DefaultInt8Ops), keeps its
//     input's scale and zero point (bilinear interpolation stays within
//     the input's range), so it runs on uint8 directly;
//   - constant operands of Add and Mul (hard-swish's 3) are uint8
//     initializers whose one level is the constant, exactly; hard-swish's
//     multiplication by 1/6 is folded into the scale of the QuantizeLinear
//     after x·relu6(x+3) (foldConstMuls);
//   - the graph's inputs and outputs stay float32, and so do the nodes
//     named in Int8.KeepFloat (measured per layer: see cmd/int8).
//
// Ranges come from calibration (Int8.Ranges, tensor → [min, max]): convert
// once with Options.Calibration to get a float model whose outputs include
// every tensor that may be quantized (Result.Calibration lists them), run it
// on representative inputs, and convert again with the ranges.

// TensorProto.DataType values of the quantized tensors.
const (
	onnxInt8Type = 3
)

// Int8 configures static INT8 quantization (see the top of quant.go).
type Int8 struct {
	// Ranges are the calibrated [min, max] of the activation tensors, by
	// ONNX name (Result.Calibration of the calibration conversion).
	Ranges map[string][2]float32
	// KeepFloat names nodes (ONNX node names, as in Result.Quantizable)
	// and tensors (Result.Calibration) left in float32. A node reading or
	// writing a tensor kept in float runs in float too.
	KeepFloat []string
	// Ops are the op types quantized (default DefaultInt8Ops).
	Ops []string
	// InputMeans, per tensor, the mean of each channel (NCHW) over the
	// calibration frames: a quantized Conv reading such a tensor gets the
	// mean shift its int8 weights cause, (W - Wq)·E[x] per output
	// channel, added to its bias ("bias correction", Nagel et al. 2019),
	// so that rounding the weights does not move the channel's mean.
	// Convs without a bias are not corrected.
	InputMeans map[string][]float32
	// BiasShift, by Conv node name, is added to that Conv's bias (one value
	// per output channel) before it is quantized: the output bias
	// correction cmd/int8 measures (calib.OutputBias) for the class logits.
	BiasShift map[string][]float32
	// WeightsOnly quantizes the weights and leaves activations in float:
	// not for speed (nothing fuses), for telling the two errors apart.
	WeightsOnly bool
}

// DefaultInt8Ops are the ops quantized by default: every op of the
// MobileNetV3/CenterNet graph that ONNX Runtime has an integer kernel or a
// QDQ fusion for, but Resize: ONNX Runtime 1.24's bilinear Resize on
// uint8 took 2.05 ms a frame for the head's three upsamplings against
// 0.35 ms in float between a DequantizeLinear and a QuantizeLinear
// (profiled, 1 thread), so it stays float.
var DefaultInt8Ops = []string{"Conv", "Add", "Mul", "Concat", "GlobalAveragePool", "Relu", "Clip", "Sigmoid"}

// quantPlan is what the rewrite quantizes, computed from the graph.
type quantPlan struct {
	nodes   map[*onnxNode]bool // quantized nodes
	tensors []string           // activation tensors given a Q/DQ pair, in graph order
	shareIn map[string]string  // output tensor → input tensor whose parameters it reuses (Resize)
}

// dataInputs returns the indexes of a quantized op's float data inputs.
func dataInputs(n *onnxNode) []int {
	switch n.OpType {
	case "Conv", "GlobalAveragePool", "Resize", "Relu", "Clip", "Sigmoid":
		return []int{0}
	}
	idx := make([]int, len(n.Inputs))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// planInt8 chooses the quantized nodes and tensors. keep lists nodes left
// in float; ops the op types quantized.
func (c *converter) planInt8(ops, keep []string, weightsOnly bool) (*quantPlan, error) {
	inits := map[string]*onnxTensor{}
	for _, t := range c.g.Initializer {
		inits[t.Name] = t
	}
	consumers, producer := c.links()
	graphOut := map[string]bool{}
	for _, o := range c.g.Outputs {
		graphOut[o.Name] = !c.calibOuts[o.Name]
	}
	p := &quantPlan{nodes: map[*onnxNode]bool{}, shareIn: map[string]string{}}
	for _, n := range c.g.Nodes {
		if !slices.Contains(ops, n.OpType) || slices.Contains(keep, n.Name) || len(n.Outputs) != 1 {
			continue
		}
		if n.OpType == "Conv" {
			w := inits[n.Inputs[1]]
			if w == nil || w.DataType != onnxFloat || len(w.Dims) != 4 {
				continue
			}
		}
		p.nodes[n] = true
	}
	// fused: the output of a quantized node read only by a quantized Relu
	// or Clip, which is quantized at its own output instead.
	fused := func(t string) bool {
		cs := consumers[t]
		return len(cs) == 1 && (cs[0].OpType == "Relu" || cs[0].OpType == "Clip") && p.nodes[cs[0]] &&
			producer[t] != nil && p.nodes[producer[t]] && !graphOut[t]
	}
	// A tensor in keep stays float, so the nodes reading or writing it do
	// not run in integers: they are dropped, which may leave other tensors
	// with no quantized node, until nothing changes.
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	var want map[string]bool
	for {
		want = map[string]bool{}
		for n := range p.nodes {
			for _, i := range dataInputs(n) {
				if in := n.Inputs[i]; in != "" && inits[in] == nil && !fused(in) && !kept[in] {
					want[in] = true
				}
			}
			if out := n.Outputs[0]; !fused(out) && !kept[out] {
				want[out] = true
			}
		}
		// Which nodes go is decided on this pass's state, then they go:
		// deleting while deciding made the plan depend on the map's order
		// (fused reads p.nodes), so two conversions could differ.
		var drop []*onnxNode
		for _, n := range c.g.Nodes {
			if !p.nodes[n] {
				continue
			}
			ok := true
			for _, i := range dataInputs(n) {
				if in := n.Inputs[i]; in != "" && inits[in] == nil && !want[in] && !fused(in) {
					ok = false
				}
			}
			if out := n.Outputs[0]; !want[out] && !fused(out) {
				ok = false
			}
			if !ok {
				drop = append(drop, n)
			}
		}
		for _, n := range drop {
			delete(p.nodes, n)
		}
		if len(drop) == 0 {
			break
		}
	}
	for n := range p.nodes {
		if n.OpType == "Resize" {
			p.shareIn[n.Outputs[0]] = n.Inputs[0]
		}
	}
	if weightsOnly {
		want = map[string]bool{}
	}
	// Graph order: graph inputs first, then each node's outputs.
	for _, in := range c.g.Inputs {
		if want[in.Name] {
			p.tensors = append(p.tensors, in.Name)
		}
	}
	for _, n := range c.g.Nodes {
		for _, o := range n.Outputs {
			if want[o] {
				p.tensors = append(p.tensors, o)
			}
		}
	}
	return p, nil
}

// int8Ops returns the op types to quantize.
func (q *Int8) int8Ops() []string {
	if q == nil || len(q.Ops) == 0 {
		return DefaultInt8Ops
	}
	return q.Ops
}

// calibrationOutputs adds every float tensor read or written by a node
// that may be quantized as an output of the graph (shape unknown) and
// lists them in res.Calibration; res.Quantizable lists those nodes.
func (c *converter) calibrationOutputs(res *Result) error {
	p, err := c.planInt8(c.opts.Int8.int8Ops(), nil, false)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, o := range c.g.Outputs {
		have[o.Name] = true
	}
	inits := map[string]bool{}
	for _, t := range c.g.Initializer {
		inits[t.Name] = true
	}
	add := func(t string) {
		if t == "" || have[t] || inits[t] {
			return
		}
		have[t] = true
		c.g.Outputs = append(c.g.Outputs, onnxValueInfo{Name: t, ElemType: onnxFloat})
		res.Calibration = append(res.Calibration, t)
		if c.calibOuts == nil {
			c.calibOuts = map[string]bool{}
		}
		c.calibOuts[t] = true
	}
	for _, n := range c.g.Nodes {
		if !p.nodes[n] {
			continue
		}
		qn := QuantNode{Name: n.Name, Op: n.OpType, Output: n.Outputs[0]}
		if n.OpType == "Conv" {
			for _, t := range c.g.Initializer {
				if t.Name == n.Inputs[1] {
					qn.Channels, qn.InChannels = int(t.Dims[0]), int(t.Dims[1])*groupOf(n)
				}
			}
		}
		for _, i := range dataInputs(n) {
			if in := n.Inputs[i]; in != "" && !inits[in] {
				qn.Inputs = append(qn.Inputs, in)
			}
			add(n.Inputs[i])
		}
		add(n.Outputs[0])
		res.Quantizable = append(res.Quantizable, qn)
	}
	return nil
}

// QuantParams returns the uint8 scale and zero point Int8 gives a
// tensor of calibrated range r.
func QuantParams(r [2]float32) (scale float32, zp uint8) { return quantParams(r) }

// quantParams returns the uint8 scale and zero point of a range.
func quantParams(r [2]float32) (scale float32, zp uint8) {
	lo, hi := min(r[0], 0), max(r[1], 0)
	if hi-lo < 1e-12 {
		return 1, 0
	}
	scale = (hi - lo) / 255
	z := math.Round(float64(-lo / scale))
	return scale, uint8(max(0, min(255, z)))
}

// quantizeInt8 rewrites the network into the QDQ form (top of this file).
func (c *converter) quantizeInt8() error {
	q := c.opts.Int8
	if c.opts.FP16 {
		return fmt.Errorf("modelconv: Int8 and FP16 cannot be combined")
	}
	p, err := c.planInt8(q.int8Ops(), q.KeepFloat, q.WeightsOnly)
	if err != nil {
		return err
	}
	inits := map[string]*onnxTensor{}
	for _, t := range c.g.Initializer {
		inits[t.Name] = t
	}
	type qp struct {
		scale, zp string
		s         float32
	}
	params := map[string]qp{}
	var missing []string
	for _, t := range p.tensors {
		src := t
		if in, ok := p.shareIn[t]; ok {
			src = in
		}
		r, ok := q.Ranges[src]
		if !ok {
			missing = append(missing, src)
			continue
		}
		s, zp := quantParams(r)
		params[t] = qp{scale: c.floatInit(t+"__scale", nil, []float32{s}), zp: c.uint8Init(t+"__zp", nil, []uint8{zp}), s: s}
	}
	if len(missing) > 0 {
		return fmt.Errorf("modelconv: Int8: no calibrated range for %d tensors (%s...): calibrate with Options.Calibration on this graph", len(missing), missing[0])
	}
	dqOf := map[string]string{} // quantized tensor → its DequantizeLinear output
	for _, t := range p.tensors {
		dqOf[t] = c.uniq(t + "__dq")
	}
	var nodes []*onnxNode
	quantized := func(t string) bool { _, ok := dqOf[t]; return ok }
	folded, foldScale, foldIn := c.foldConstMuls(p, inits, quantized)
	emitQDQ := func(t string) {
		pr := params[t]
		qscale := pr.scale
		if k, ok := foldScale[t]; ok {
			qscale = c.floatInit(t+"__qscale", nil, []float32{pr.s / k})
		}
		qn := c.uniq(t + "__q")
		nodes = append(nodes,
			&onnxNode{Name: qn, OpType: "QuantizeLinear", Inputs: []string{t, qscale, pr.zp}, Outputs: []string{qn}},
			&onnxNode{Name: dqOf[t], OpType: "DequantizeLinear", Inputs: []string{qn, pr.scale, pr.zp}, Outputs: []string{dqOf[t]}})
	}
	for _, in := range c.g.Inputs {
		if quantized(in.Name) {
			emitQDQ(in.Name)
		}
	}
	constDQ := map[string]string{}
	for _, n := range c.g.Nodes {
		if folded[n] {
			continue
		}
		for i, in := range n.Inputs {
			if x, ok := foldIn[in]; ok {
				n.Inputs[i] = x
			}
		}
		var inScale float32 // of a Conv's input, for its bias
		if len(n.Inputs) > 0 && quantized(n.Inputs[0]) {
			inScale = params[n.Inputs[0]].s
		}
		for i, in := range n.Inputs {
			if quantized(in) {
				n.Inputs[i] = dqOf[in]
			}
		}
		if p.nodes[n] {
			var means []float32
			if len(n.Inputs) > 0 {
				means = q.InputMeans[strings.TrimSuffix(n.Inputs[0], "__dq")]
			}
			pre, err := c.quantizeConstInputs(n, inits, constDQ, inScale, means)
			if err != nil {
				return err
			}
			nodes = append(nodes, pre...)
		}
		nodes = append(nodes, n)
		for _, o := range n.Outputs {
			if quantized(o) {
				emitQDQ(o)
			}
		}
	}
	c.g.Nodes = nodes
	c.pruneInitializers()
	c.opts.DocString += fmt.Sprintf(" Variant: static INT8 (QDQ): %d nodes quantized (int8 per-channel weights, uint8 activations), %d kept in float.", len(p.nodes), len(q.KeepFloat))
	return nil
}

// foldConstMuls finds hard-swish's x·(1/6)·relu6(x+3) written as
// m1 = Mul(k, x), m2 = Mul(m1, r), both quantized, m1 read only by m2,
// k a positive scalar: m1 is dropped and m2 computes x·r = t/k, quantized
// with scale s_t/k and dequantized with s_t — the same uint8 values, so
// the same t, one QLinearMul fewer (58 to 30 in CenterNet: 1.5 ms of 3 a
// frame). It returns the dropped nodes, the scale factor k of each m2
// output, and m1's output → x, which m2 reads instead.
func (c *converter) foldConstMuls(p *quantPlan, inits map[string]*onnxTensor, quantized func(string) bool) (map[*onnxNode]bool, map[string]float32, map[string]string) {
	consumers, producer := c.links()
	graphOut := map[string]bool{}
	for _, o := range c.g.Outputs {
		graphOut[o.Name] = true
	}
	folded := map[*onnxNode]bool{}
	scale := map[string]float32{}
	in := map[string]string{}
	for _, m2 := range c.g.Nodes {
		if m2.OpType != "Mul" || !p.nodes[m2] || len(m2.Inputs) != 2 || !quantized(m2.Outputs[0]) || scale[m2.Outputs[0]] != 0 {
			continue
		}
		for _, a := range m2.Inputs {
			m1 := producer[a]
			if m1 == nil || m1.OpType != "Mul" || !p.nodes[m1] || folded[m1] || len(consumers[a]) != 1 || graphOut[a] || len(m1.Inputs) != 2 {
				continue
			}
			k, x := scalarOperand(m1, inits)
			if k <= 0 || !quantized(x) || x == a {
				continue
			}
			folded[m1] = true
			scale[m2.Outputs[0]] = k
			in[a] = x
			break
		}
	}
	return folded, scale, in
}

// scalarOperand returns the positive scalar constant and the other input
// of a two-input Mul, or 0.
func scalarOperand(n *onnxNode, inits map[string]*onnxTensor) (float32, string) {
	for i, a := range n.Inputs {
		if t := inits[a]; t != nil && t.DataType == onnxFloat && len(t.Raw) == 4 {
			return floatsOf(t)[0], n.Inputs[1-i]
		}
	}
	return 0, ""
}

// quantizeConstInputs replaces the constant inputs of a quantized node by
// DequantizeLinear of quantized initializers and returns those nodes: a
// Conv's weight (int8 per channel) and bias (int32), an Add's or Mul's
// constant operand (uint8). sx is the scale of the node's quantized first
// input (a Conv's bias scale is sx × the weight's).
func (c *converter) quantizeConstInputs(n *onnxNode, inits map[string]*onnxTensor, cache map[string]string, sx float32, means []float32) ([]*onnxNode, error) {
	var out []*onnxNode
	addDQ := func(name string, ins []string, attrs ...onnxAttr) string {
		o := c.uniq(name)
		out = append(out, &onnxNode{Name: o, OpType: "DequantizeLinear", Inputs: ins, Outputs: []string{o}, Attrs: attrs})
		return o
	}
	switch n.OpType {
	case "Conv":
		w := inits[n.Inputs[1]]
		m := int(w.Dims[0])
		var b *onnxTensor
		if len(n.Inputs) > 2 && n.Inputs[2] != "" && sx > 0 { // sx == 0: weights only, the bias stays float
			if b = inits[n.Inputs[2]]; b == nil || b.DataType != onnxFloat {
				return nil, fmt.Errorf("modelconv: Int8: Conv %q has a bias that is not a float initializer", n.Name)
			}
		}
		// The int32 bias must hold bias / (sx × weight scale): a channel of
		// tiny weights read by a tensor of tiny scale (squeeze-excite's
		// 1×1 convs) would overflow it, so its weight scale is raised.
		var minScale, bias []float32
		if b != nil {
			bias = floatsOf(b)
			if shift := c.opts.Int8.BiasShift[n.Name]; len(shift) == len(bias) {
				for i, v := range shift {
					bias[i] += v
				}
			}
			for _, v := range bias {
				// Twice the bias: room for the correction below.
				minScale = append(minScale, 2*float32(math.Abs(float64(v)))/(sx*(1<<30)))
			}
		}
		wf := floatsOf(w)
		wq, ws := quantizeWeightsPerChannel(wf, m, minScale)
		if b != nil && means != nil {
			correctBias(bias, wf, wq, ws, w.Dims, groupOf(n), means)
		}
		qn := c.int8Init(w.Name+"__q", w.Dims, wq)
		sn := c.floatInit(w.Name+"__wscale", []int64{int64(m)}, ws)
		zn := c.int8Init(w.Name+"__wzp", []int64{int64(m)}, make([]int8, m))
		n.Inputs[1] = addDQ(w.Name+"__dq", []string{qn, sn, zn}, intAttr("axis", 0))
		if b != nil {
			bq, bs := quantizeBias(bias, sx, ws)
			qb := c.int32Init(b.Name+"__q", b.Dims, bq)
			sb := c.floatInit(b.Name+"__bscale", []int64{int64(m)}, bs)
			zb := c.int32Init(b.Name+"__bzp", []int64{int64(m)}, make([]int32, m))
			n.Inputs[2] = addDQ(b.Name+"__dq", []string{qb, sb, zb}, intAttr("axis", 0))
		}
	case "Add", "Mul":
		for i, in := range n.Inputs {
			t := inits[in]
			if t == nil || t.DataType != onnxFloat {
				continue
			}
			if name, ok := cache[in]; ok {
				n.Inputs[i] = name
				continue
			}
			vals := floatsOf(t)
			lo, hi := slices.Min(vals), slices.Max(vals)
			s, zp := quantParams([2]float32{lo, hi})
			if len(vals) == 1 && vals[0] != 0 { // one level that is the constant exactly
				s, zp = float32(math.Abs(float64(vals[0])))/255, 0
				if vals[0] < 0 {
					zp = 255
				}
			}
			qv := make([]uint8, len(vals))
			for k, v := range vals {
				qv[k] = uint8(max(0, min(255, math.Round(float64(v/s))+float64(zp))))
			}
			qn := c.uint8Init(in+"__q", t.Dims, qv)
			sn := c.floatInit(in+"__cscale", nil, []float32{s})
			zn := c.uint8Init(in+"__czp", nil, []uint8{zp})
			cache[in] = addDQ(in+"__dq", []string{qn, sn, zn})
			n.Inputs[i] = cache[in]
		}
	}
	return out, nil
}

// quantizeWeightsPerChannel quantizes w (m output channels, axis 0) to
// int8 symmetrically: scale max|w|/127 per channel, or minScale[ch] when
// that is larger (nil: no minimum).
func quantizeWeightsPerChannel(w []float32, m int, minScale []float32) ([]int8, []float32) {
	per := len(w) / m
	q := make([]int8, len(w))
	scales := make([]float32, m)
	for ch := range m {
		ws := w[ch*per : (ch+1)*per]
		amax := float32(0)
		for _, v := range ws {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		s := amax / 127
		if minScale != nil {
			s = max(s, minScale[ch])
		}
		if s == 0 {
			s = 1
		}
		scales[ch] = s
		for k, v := range ws {
			q[ch*per+k] = int8(max(-127, min(127, math.Round(float64(v/s)))))
		}
	}
	return q, scales
}

// correctBias adds to each output channel's bias the mean shift rounding
// its weights causes: sum over its inputs of (w - wq·s)·E[x] (padding
// ignored). dims are the weight's [M, C/group, kh, kw].
func correctBias(bias, w []float32, wq []int8, ws []float32, dims []int64, group int, means []float32) {
	m, cg := int(dims[0]), int(dims[1])
	k := int(dims[2] * dims[3])
	perGroup := m / group
	if cg*group != len(means) {
		return // the means are not of this input's channels
	}
	for o := range m {
		g := o / perGroup
		var d float64
		for c := range cg {
			mean := float64(means[g*cg+c])
			base := (o*cg + c) * k
			for j := base; j < base+k; j++ {
				d += (float64(w[j]) - float64(wq[j])*float64(ws[o])) * mean
			}
		}
		bias[o] += float32(d)
	}
}

func groupOf(n *onnxNode) int {
	for _, a := range n.Attrs {
		if a.Name == "group" && a.I > 0 {
			return int(a.I)
		}
	}
	return 1
}

// quantizeBias quantizes a Conv bias to int32 with the scale QLinearConv's
// accumulator has: input scale × weight scale of the channel.
func quantizeBias(b []float32, sx float32, ws []float32) ([]int32, []float32) {
	q := make([]int32, len(b))
	scales := make([]float32, len(b))
	for i, v := range b {
		s := sx * ws[i%len(ws)]
		if s == 0 {
			s = 1
		}
		scales[i] = s
		q[i] = int32(max(math.MinInt32, min(math.MaxInt32, math.Round(float64(v/s)))))
	}
	return q, scales
}

func floatsOf(t *onnxTensor) []float32 {
	out := make([]float32, len(t.Raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return out
}

func (c *converter) int8Init(base string, dims []int64, data []int8) string {
	raw := make([]byte, len(data))
	for i, v := range data {
		raw[i] = byte(v)
	}
	name := c.uniq(base)
	c.g.Initializer = append(c.g.Initializer, &onnxTensor{Name: name, DataType: onnxInt8Type, Dims: dims, Raw: raw})
	return name
}

func (c *converter) uint8Init(base string, dims []int64, data []uint8) string {
	name := c.uniq(base)
	c.g.Initializer = append(c.g.Initializer, &onnxTensor{Name: name, DataType: onnxUint8, Dims: dims, Raw: slices.Clone(data)})
	return name
}

func (c *converter) int32Init(base string, dims []int64, data []int32) string {
	name := c.uniq(base)
	c.g.Initializer = append(c.g.Initializer, int32Tensor(name, dims, data))
	return name
}

// pruneInitializers drops the initializers no node reads any more (the
// float weights replaced by their int8 forms).
func (c *converter) pruneInitializers() {
	read := map[string]bool{}
	for _, n := range c.g.Nodes {
		for _, in := range n.Inputs {
			read[in] = true
		}
	}
	for _, o := range c.g.Outputs {
		read[o.Name] = true
	}
	c.g.Initializer = slices.DeleteFunc(c.g.Initializer, func(t *onnxTensor) bool { return !read[t.Name] })
}

// links maps each tensor to the nodes that read it and the node that
// writes it, as the graph stands.
func (c *converter) links() (consumers map[string][]*onnxNode, producer map[string]*onnxNode) {
	consumers, producer = map[string][]*onnxNode{}, map[string]*onnxNode{}
	for _, n := range c.g.Nodes {
		for _, in := range n.Inputs {
			consumers[in] = append(consumers[in], n)
		}
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	return consumers, producer
}
