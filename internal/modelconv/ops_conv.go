package modelconv

// This file converts the TF ops with a spatial window: Conv2D and its fused
// and depthwise variants, MaxPool and AvgPool.

import (
	"fmt"
	"math"
	"strings"
)

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

// conv converts Conv2D, DepthwiseConv2dNative and their fused forms: the
// filter is rearranged to ONNX's layout, a fused BiasAdd/FusedBatchNorm is
// folded into the weights and bias, and a fused activation follows the Conv.
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
	filter, err := convWeights(n, f.w, x.shape[1], strings.Contains(n.Op, "Depthwise"))
	if err != nil {
		return nil, err
	}
	var epi convEpilogue
	if strings.HasPrefix(n.Op, "_Fused") || strings.HasPrefix(n.Op, "Fused") {
		if epi, err = c.fusedEpilogue(n, ins[2:], &filter); err != nil {
			return nil, err
		}
	}

	kh, kw := filter.dims[2], filter.dims[3]
	inHW := [2]int64{x.shape[2], x.shape[3]}
	pads, outHW, err := spatialPads(geo.padding, inHW, [2]int64{kh, kw}, geo.strides, geo.dilations, geo.explicit)
	if err != nil {
		return nil, unsupported(n, "%v", err)
	}
	attrs := []onnxAttr{
		intsAttr("kernel_shape", kh, kw),
		intsAttr("strides", geo.strides[0], geo.strides[1]),
		intsAttr("dilations", geo.dilations[0], geo.dilations[1]),
		intAttr("group", int64(filter.group)),
	}
	if geo.padding == "SAME" && (inHW[0] < 0 || inHW[1] < 0) {
		// Pads depend on the runtime size; SAME_UPPER is TF's SAME.
		attrs = append(attrs, stringAttr("auto_pad", "SAME_UPPER"))
	} else {
		attrs = append(attrs, intsAttr("pads", pads[:]...))
	}
	wName := c.floatInit(f.w.Name+"__oihw", filter.dims, filter.weights)
	convIn := []string{x.name, wName}
	if epi.bias != nil {
		convIn = append(convIn, c.floatInit(n.Name+"__bias", []int64{int64(filter.outC)}, epi.bias))
	}
	convOut := n.Name
	if epi.activation != "" {
		convOut = c.uniq(n.Name + "__conv")
	}
	c.addNode("Conv", convOut, convIn, []string{convOut}, attrs...)
	switch epi.activation {
	case "":
	case "Prelu":
		c.addNode("PRelu", n.Name, []string{convOut, epi.alphaInput}, []string{n.Name})
	default:
		c.activation(epi.activation, float32(epi.leakyAlpha), convOut, n.Name)
	}
	return &value{name: n.Name, shape: []int64{x.shape[0], int64(filter.outC), outHW[0], outHW[1]}, nchw: true}, nil
}

// convFilter is a TF conv filter rearranged for an ONNX Conv.
type convFilter struct {
	weights []float32
	dims    []int64 // OIHW: [outC, inC/group, kh, kw]
	outC    int
	group   int
}

// convWeights rearranges a TF filter to ONNX OIHW and works out the group
// count; inC is the input's channel count (-1: unknown).
func convWeights(n *Node, w *Weight, inC int64, depthwise bool) (convFilter, error) {
	kh, kw, ci, co := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	var f convFilter
	if depthwise {
		// TF depthwise filter [kh, kw, C, mult] -> ONNX [C*mult, 1, kh, kw], group C.
		mult := co
		f.outC, f.group = ci*mult, ci
		f.weights = make([]float32, f.outC*kh*kw)
		for y := 0; y < kh; y++ {
			for xx := 0; xx < kw; xx++ {
				for ch := 0; ch < ci; ch++ {
					for m := 0; m < mult; m++ {
						o := ch*mult + m
						f.weights[(o*kh+y)*kw+xx] = w.F32[((y*kw+xx)*ci+ch)*mult+m]
					}
				}
			}
		}
		if inC >= 0 && int(inC) != ci {
			return f, unsupported(n, "filter expects %d channels, input has %d", ci, inC)
		}
		f.dims = []int64{int64(f.outC), 1, int64(kh), int64(kw)}
		return f, nil
	}
	// TF filter HWIO [kh, kw, in, out] -> ONNX OIHW. An input with a
	// multiple of the filter's channels is a grouped convolution.
	f.outC, f.group = co, 1
	if inC >= 0 && int(inC) != ci {
		if inC%int64(ci) != 0 {
			return f, unsupported(n, "filter expects %d input channels, input has %d", ci, inC)
		}
		f.group = int(inC) / ci
	}
	f.weights = make([]float32, co*ci*kh*kw)
	for y := 0; y < kh; y++ {
		for xx := 0; xx < kw; xx++ {
			for i := 0; i < ci; i++ {
				for o := 0; o < co; o++ {
					f.weights[((o*ci+i)*kh+y)*kw+xx] = w.F32[((y*kw+xx)*ci+i)*co+o]
				}
			}
		}
	}
	f.dims = []int64{int64(f.outC), int64(ci), int64(kh), int64(kw)}
	return f, nil
}

// convEpilogue is what a fused conv applies after the convolution.
type convEpilogue struct {
	bias       []float32 // nil: none
	activation string    // TF activation op; "": none
	alphaInput string    // Prelu's alpha tensor
	leakyAlpha float64
}

// fusedEpilogue reads a fused conv's fused_ops: BiasAdd or FusedBatchNorm
// (folded into f's weights and the bias), then an optional activation.
func (c *converter) fusedEpilogue(n *Node, args []*value, f *convFilter) (convEpilogue, error) {
	var epi convEpilogue
	fused, err := n.attrStrings("fused_ops")
	if err != nil {
		return epi, err
	}
	if len(fused) == 0 {
		return epi, unsupported(n, "fused op without fused_ops attribute")
	}
	used := 0
	switch fused[0] {
	case "BiasAdd":
		if epi.bias, err = fusedArg(n, args, 0, f.outC); err != nil {
			return epi, err
		}
		used = 1
	case "FusedBatchNorm":
		if epi.bias, err = foldBatchNorm(n, args, f); err != nil {
			return epi, err
		}
		used = 4
	default:
		return epi, unsupported(n, "fused_ops %v", fused)
	}
	if len(fused) > 2 {
		return epi, unsupported(n, "fused_ops %v", fused)
	}
	if len(fused) == 2 {
		if err := c.fusedActivation(n, fused[1], args[min(used, len(args)):], &epi); err != nil {
			return epi, err
		}
	}
	return epi, nil
}

// fusedArg returns fused argument i, which must be a float constant with
// one value per output channel.
func fusedArg(n *Node, args []*value, i, outC int) ([]float32, error) {
	if i >= len(args) || !args[i].isConst() || args[i].w.F32 == nil {
		return nil, unsupported(n, "fused argument %d must be a float constant", i)
	}
	if len(args[i].w.F32) != outC {
		return nil, unsupported(n, "fused argument %d has %d values, want %d", i, len(args[i].w.F32), outC)
	}
	return args[i].w.F32, nil
}

// foldBatchNorm folds a fused FusedBatchNorm (args: scale, offset, mean,
// variance) into f's weights and returns the bias it leaves, so the ONNX
// graph needs no BatchNormalization node.
func foldBatchNorm(n *Node, args []*value, f *convFilter) ([]float32, error) {
	eps, err := n.attrFloat("epsilon", 0.001)
	if err != nil {
		return nil, err
	}
	var p [4][]float32
	for i := range p {
		if p[i], err = fusedArg(n, args, i, f.outC); err != nil {
			return nil, err
		}
	}
	bias := make([]float32, f.outC)
	per := len(f.weights) / f.outC
	for o := 0; o < f.outC; o++ {
		k := p[0][o] / float32(math.Sqrt(float64(p[3][o])+eps))
		for j := 0; j < per; j++ {
			f.weights[o*per+j] *= k
		}
		bias[o] = p[1][o] - p[2][o]*k
	}
	return bias, nil
}

// fusedActivation records the activation that follows a fused conv; rest
// are the fused arguments after the bias/batch-norm ones (Prelu's alpha).
func (c *converter) fusedActivation(n *Node, activation string, rest []*value, epi *convEpilogue) error {
	epi.activation = activation
	var err error
	switch activation {
	case "Relu", "Relu6", "Elu", "Sigmoid", "Tanh":
	case "LeakyRelu":
		if epi.leakyAlpha, err = n.attrFloat("leakyrelu_alpha", 0.2); err != nil {
			return err
		}
	case "Prelu":
		if len(rest) == 0 {
			return unsupported(n, "Prelu without alpha argument")
		}
		a := rest[0]
		if a.isConst() {
			epi.alphaInput = c.constInput(a, true)
		} else if a.nchw {
			epi.alphaInput = a.name
		} else {
			return unsupported(n, "Prelu alpha must be a constant or rank-4 tensor")
		}
	default:
		return unsupported(n, "fused activation %s", activation)
	}
	return nil
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
