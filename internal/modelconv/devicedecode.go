package modelconv

import (
	"fmt"
	"slices"
)

// The device-ready CenterNet variant (Options.UInt8Input and
// Options.DeviceDecode) is the converted graph with two additions, so that
// a GPU batch crosses PCIe with small tensors only:
//
//   - a uint8 input, cast to float32 at the start of the graph (uploads are
//     4x smaller than float32 ones);
//   - CenterNet's peak extraction and a TopK appended after the heat map,
//     so that K scores, K indices and 4K box distances an image come back
//     instead of the 80x128x128 heat map and the 4x128x128 distances:
//
//	pooled  = MaxPool(heat, 3x3, stride 1, pads 1)   (padded cells ignored, as TF's SAME max-pool)
//	peaks   = heat * Cast(Equal(heat, pooled))       (non-peak cells become 0)
//	v1, cell1 = TopK(Reshape(peaks, [N, C, H*W]), K1)  (each class's best K1 = min(K, H*W) cells)
//	scores, j = TopK(Reshape(v1, [N, C*K1]), K)        (largest, sorted: the K best of all)
//	cell    = GatherElements(Reshape(cell1, [N, C*K1]), j), class = j / K1
//	indices = Cast(class*H*W + cell, float32)        (exact below 2^24)
//	boxes   = Transpose(GatherElements(Reshape(wh, [N,4,H*W]), Expand(Unsqueeze(cell, 1), [1,4,1]), axis 2))
//
// The two TopKs give exactly the K best cells of the image (each is among
// its class's K best), and run fast on a GPU: ONNX Runtime's CUDA TopK
// works on a row per thread block, and one row of C*H*W = 1.3M cells an
// image left most of an H200 idle (a batch of 32 took 30 ms, against 19 ms
// for the whole network without it).
//
// All of these ops have CUDA kernels in ONNX Runtime. The Go side of the
// decoding (position, box, NMS) is parsers.DecodeCenterNetTopK.

// onnxUint8 is TensorProto.DataType UINT8.
const onnxUint8 = 2

// DefaultTopK is the usual DeviceDecode.TopK (tfjs2onnx -topk).
const DefaultTopK = 100

// Names of the outputs DeviceDecode writes.
const (
	DecodedScores  = "scores"  // [N,K] float32: peak scores, descending (0: not a peak)
	DecodedIndices = "indices" // [N,K] float32: flat heat-map index class*H*W + y*W + x
	DecodedBoxes   = "boxes"   // [N,K,4] float32: left, top, right, bottom distances at the peak
)

// DeviceDecode appends CenterNet's peak extraction and a TopK to the graph
// (see the comment at the top of devicedecode.go). The model's outputs
// become scores [N,K], indices [N,K] and boxes [N,K,4], all float32.
//
// The result equals a full decode of heat and wh as long as at most K
// peaks an image reach the score threshold: the others are lost.
type DeviceDecode struct {
	// TopK is K, the number of peaks kept an image: 1 to C*H*W
	// (DefaultTopK is the usual value).
	TopK int
	// Heat and WH name the converted outputs to decode: heat [N,C,H,W]
	// (sigmoid scores) and wh [N,4,H,W]. Empty: "heat" and "wh", the
	// CenterNet preset's names.
	Heat, WH string
	// KeepRaw keeps heat and wh as outputs, after the decoded ones. They
	// cost nothing extra to compute; with I/O binding they may stay on the
	// device.
	KeepRaw bool
}

func (d *DeviceDecode) names() (heat, wh string) {
	heat, wh = d.Heat, d.WH
	if heat == "" {
		heat = "heat"
	}
	if wh == "" {
		wh = "wh"
	}
	return heat, wh
}

// validate checks what can be checked before the conversion.
func (d *DeviceDecode) validate() error {
	if d == nil {
		return nil
	}
	if d.TopK <= 0 {
		return fmt.Errorf("modelconv: device decode: TopK must be at least 1, got %d", d.TopK)
	}
	if heat, wh := d.names(); heat == wh {
		return fmt.Errorf("modelconv: device decode: heat and wh are both output %q", heat)
	}
	return nil
}

// deviceRewrite applies Options.UInt8Input, Options.FP16 and
// Options.DeviceDecode to the converted graph (called once all outputs are
// in place).
func (c *converter) deviceRewrite(res *Result) error {
	if c.opts.UInt8Input {
		c.uint8Inputs()
	}
	if c.opts.FP16 {
		if err := c.float16Network(); err != nil {
			return err
		}
	}
	if c.opts.DeviceDecode != nil {
		return c.deviceDecode(res)
	}
	return nil
}

// uint8Inputs makes every graph input uint8, cast to float32 by a node at
// the start of the graph that the input's readers now read.
func (c *converter) uint8Inputs() {
	var casts []*onnxNode
	for i := range c.g.Inputs {
		in := &c.g.Inputs[i]
		f := c.uniq(in.Name + "__f32")
		for _, n := range c.g.Nodes {
			for j, x := range n.Inputs {
				if x == in.Name {
					n.Inputs[j] = f
				}
			}
		}
		casts = append(casts, &onnxNode{Name: f, OpType: "Cast", Inputs: []string{in.Name}, Outputs: []string{f},
			Attrs: []onnxAttr{intAttr("to", onnxFloat)}})
		in.ElemType = onnxUint8
	}
	c.g.Nodes = append(casts, c.g.Nodes...)
	c.opts.DocString += " Variant: the input is uint8 (cast to float32 in the graph)."
}

// deviceDecode appends the peak extraction and TopK after the outputs
// named by c.opts.DeviceDecode and makes scores, indices and boxes the
// graph's outputs.
func (c *converter) deviceDecode(res *Result) error {
	d := c.opts.DeviceDecode
	heatName, whName := d.names()
	hi := slices.IndexFunc(res.Outputs, func(o IOInfo) bool { return o.Name == heatName })
	wi := slices.IndexFunc(res.Outputs, func(o IOInfo) bool { return o.Name == whName })
	if hi < 0 || wi < 0 {
		var names []string
		for _, o := range res.Outputs {
			names = append(names, o.Name)
		}
		return fmt.Errorf("modelconv: device decode needs outputs %q and %q, the model has %q", heatName, whName, names)
	}
	heat, wh := res.Outputs[hi], res.Outputs[wi]
	hs, ws := heat.Shape, wh.Shape
	if len(hs) != 4 || len(ws) != 4 || hs[1] <= 0 || hs[2] <= 0 || hs[3] <= 0 ||
		ws[1] != 4 || ws[2] != hs[2] || ws[3] != hs[3] {
		return fmt.Errorf("modelconv: device decode needs %s [N,C,H,W] and %s [N,4,H,W] of known C, H, W; got %v and %v", heatName, whName, hs, ws)
	}
	plane := hs[2] * hs[3]
	k := int64(d.TopK)
	if k > hs[1]*plane {
		return fmt.Errorf("modelconv: device decode: TopK %d is more than the %d cells of %s", k, hs[1]*plane, heatName)
	}
	if hs[1]*plane > 1<<24 {
		return fmt.Errorf("modelconv: device decode: %s has %d cells, too many for float32 indices", heatName, hs[1]*plane)
	}
	for _, n := range []string{DecodedScores, DecodedIndices, DecodedBoxes} {
		if c.used[n] {
			return fmt.Errorf("modelconv: device decode: output name %q clashes with a tensor of the graph", n)
		}
		c.used[n] = true
	}

	// Peaks: cells equal to the maximum of their 3x3 neighbourhood. ONNX
	// MaxPool ignores padded cells, as TF's SAME max-pool does.
	pooled := c.uniq("decode/pooled")
	c.addNode("MaxPool", pooled, []string{heatName}, []string{pooled},
		intsAttr("kernel_shape", 3, 3), intsAttr("strides", 1, 1), intsAttr("pads", 1, 1, 1, 1))
	keep := c.uniq("decode/keep")
	c.addNode("Equal", keep, []string{heatName, pooled}, []string{keep})
	keepf := c.uniq("decode/keep_f32")
	c.addNode("Cast", keepf, []string{keep}, []string{keepf}, intAttr("to", onnxFloat))
	peaks := c.uniq("decode/peaks")
	c.addNode("Mul", peaks, []string{heatName, keepf}, []string{peaks})
	perClass := c.uniq("decode/per_class")
	c.addNode("Reshape", perClass, []string{peaks, c.int64Init("decode/class_shape", []int64{0, hs[1], -1})}, []string{perClass})

	// The K1 best cells of each class, then the K best of those.
	k1 := min(k, plane)
	v1, cell1 := c.uniq("decode/class_scores"), c.uniq("decode/class_cells")
	c.addNode("TopK", c.uniq("decode/class_topk"), []string{perClass, c.int64Init("decode/k1", []int64{k1})}, []string{v1, cell1},
		intAttr("axis", -1), intAttr("largest", 1), intAttr("sorted", 1))
	flatShape := c.int64Init("decode/flat_shape", []int64{0, -1})
	v1f, cell1f := c.uniq("decode/cand_scores"), c.uniq("decode/cand_cells")
	c.addNode("Reshape", v1f, []string{v1, flatShape}, []string{v1f})
	c.addNode("Reshape", cell1f, []string{cell1, flatShape}, []string{cell1f})
	j := c.uniq("decode/topk_cand")
	c.addNode("TopK", c.uniq("decode/topk"), []string{v1f, c.int64Init("decode/k", []int64{k})}, []string{DecodedScores, j},
		intAttr("axis", -1), intAttr("largest", 1), intAttr("sorted", 1))
	cell := c.uniq("decode/cell")
	c.addNode("GatherElements", cell, []string{cell1f, j}, []string{cell}, intAttr("axis", 1))
	cls := c.uniq("decode/class")
	c.addNode("Div", cls, []string{j, c.int64Init("decode/k1_div", []int64{k1})}, []string{cls})
	base := c.uniq("decode/class_base")
	c.addNode("Mul", base, []string{cls, c.int64Init("decode/plane", []int64{plane})}, []string{base})
	idx := c.uniq("decode/index")
	c.addNode("Add", idx, []string{base, cell}, []string{idx})
	c.addNode("Cast", c.uniq("decode/indices"), []string{idx}, []string{DecodedIndices}, intAttr("to", onnxFloat))

	// Their box distances, gathered from wh.
	cell3 := c.uniq("decode/cell_1k")
	c.addNode("Unsqueeze", cell3, []string{cell, c.int64Init("decode/axis1", []int64{1})}, []string{cell3})
	cell4 := c.uniq("decode/cell_4k")
	c.addNode("Expand", cell4, []string{cell3, c.int64Init("decode/expand4", []int64{1, 4, 1})}, []string{cell4})
	whFlat := c.uniq("decode/wh_flat")
	c.addNode("Reshape", whFlat, []string{whName, c.int64Init("decode/wh_shape", []int64{0, 4, -1})}, []string{whFlat})
	picked := c.uniq("decode/wh_4k")
	c.addNode("GatherElements", picked, []string{whFlat, cell4}, []string{picked}, intAttr("axis", 2))
	c.addNode("Transpose", c.uniq("decode/boxes"), []string{picked}, []string{DecodedBoxes}, intsAttr("perm", 0, 2, 1))

	// The new outputs, then (KeepRaw) heat and wh.
	n := hs[0]
	outs := []IOInfo{
		{Name: DecodedScores, Tensor: heat.Tensor, Shape: []int64{n, k}},
		{Name: DecodedIndices, Tensor: heat.Tensor, Shape: []int64{n, k}},
		{Name: DecodedBoxes, Tensor: wh.Tensor, Shape: []int64{n, k, 4}},
	}
	var vis []onnxValueInfo
	for _, o := range outs {
		vis = append(vis, c.valueInfo(o.Name, o.Shape))
	}
	if d.KeepRaw {
		outs = append(outs, heat, wh)
		vis = append(vis, c.g.Outputs[hi], c.g.Outputs[wi])
	}
	res.Outputs, c.g.Outputs = outs, vis
	c.opts.DocString += fmt.Sprintf(" Variant: decoded on the device: outputs scores [N,%d] (peak scores, descending; 0: not a peak), "+
		"indices [N,%d] (float32 flat index class*%d + y*%d + x) and boxes [N,%d,4] (%s's left, top, right, bottom at the peak).",
		k, k, plane, hs[3], k, whName)
	if d.KeepRaw {
		c.opts.DocString += fmt.Sprintf(" %s and %s follow.", heatName, whName)
	}
	return nil
}
