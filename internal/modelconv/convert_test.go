package modelconv

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// graphBuilder writes a synthetic TF.js graph model (json + one shard).
type graphBuilder struct {
	nodes   []map[string]any
	weights []map[string]any
	bin     []byte
	rng     *rand.Rand
}

func newGraphBuilder() *graphBuilder {
	return &graphBuilder{rng: rand.New(rand.NewPCG(1, 2))}
}

func aS(s string) map[string]any {
	return map[string]any{"s": base64.StdEncoding.EncodeToString([]byte(s))}
}
func aB(b bool) map[string]any { return map[string]any{"b": b} }
func aInts(v ...int) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return map[string]any{"list": map[string]any{"i": s}}
}
func aStrs(v ...string) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = base64.StdEncoding.EncodeToString([]byte(x))
	}
	return map[string]any{"list": map[string]any{"s": s}}
}
func aShape(dims ...int) map[string]any {
	d := make([]map[string]any, len(dims))
	for i, x := range dims {
		d[i] = map[string]any{"size": strconv.Itoa(x)}
	}
	return map[string]any{"shape": map[string]any{"dim": d}}
}

func (b *graphBuilder) node(name, op string, inputs []string, attr map[string]any) {
	n := map[string]any{"name": name, "op": op, "attr": attr}
	if inputs != nil {
		n["input"] = inputs
	}
	b.nodes = append(b.nodes, n)
}

// f32ToF16 encodes normal float32 values that are exactly representable.
func f32ToF16(f float32) uint16 {
	if f == 0 {
		return 0
	}
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16(bits>>13&0x3ff)
}

// constF32 adds a float constant of random values k/64 (k in [-48,48]),
// stored as float32, "float16" or "uint8" (affine) in the shard.
func (b *graphBuilder) constF32(name string, shape []int, quant string) {
	n := numElements(shape)
	w := map[string]any{"name": name, "shape": shape, "dtype": "float32"}
	switch quant {
	case "":
		for i := 0; i < n; i++ {
			b.bin = binary.LittleEndian.AppendUint32(b.bin, math.Float32bits(float32(b.rng.IntN(97)-48)/64))
		}
	case "float16":
		w["quantization"] = map[string]any{"dtype": "float16", "original_dtype": "float32"}
		for i := 0; i < n; i++ {
			b.bin = binary.LittleEndian.AppendUint16(b.bin, f32ToF16(float32(b.rng.IntN(97)-48)/64))
		}
	case "uint8":
		w["quantization"] = map[string]any{"dtype": "uint8", "scale": 1.0 / 64, "min": -0.75, "original_dtype": "float32"}
		for i := 0; i < n; i++ {
			b.bin = append(b.bin, byte(b.rng.IntN(97)))
		}
	}
	b.weights = append(b.weights, w)
	b.node(name, "Const", nil, map[string]any{"dtype": map[string]any{"type": "DT_FLOAT"}})
}

func (b *graphBuilder) constScalar(name string, v float32) {
	b.weights = append(b.weights, map[string]any{"name": name, "shape": []int{}, "dtype": "float32"})
	b.bin = binary.LittleEndian.AppendUint32(b.bin, math.Float32bits(v))
	b.node(name, "Const", nil, nil)
}

func (b *graphBuilder) constI32(name string, shape []int, v ...int32) {
	b.weights = append(b.weights, map[string]any{"name": name, "shape": shape, "dtype": "int32"})
	for _, x := range v {
		b.bin = binary.LittleEndian.AppendUint32(b.bin, uint32(x))
	}
	b.node(name, "Const", nil, nil)
}

func (b *graphBuilder) write(t *testing.T, outputs []string) string {
	t.Helper()
	dir := t.TempDir()
	sigOut := map[string]any{}
	for _, o := range outputs {
		sigOut[o] = map[string]any{"name": o, "dtype": "DT_FLOAT"}
	}
	doc := map[string]any{
		"format":        "graph-model",
		"generatedBy":   "test",
		"modelTopology": map[string]any{"node": b.nodes},
		"weightsManifest": []any{map[string]any{
			"paths":   []string{"group1-shard1of1.bin"},
			"weights": b.weights,
		}},
		"signature": map[string]any{"outputs": sigOut},
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "group1-shard1of1.bin"), b.bin, 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "model.json")
	if err := os.WriteFile(p, js, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const synthH, synthW = 10, 10

// synthModel builds a small graph using every op class the CenterNet graph
// needs: fused conv (float16 weights, BiasAdd+Relu6, stride 2, asymmetric
// SAME padding), fused depthwise (uint8 weights, channel multiplier 2,
// BiasAdd+Relu), hard-swish, per-channel Mul, squeeze-excite Mean,
// ResizeBilinear, dilated depthwise, ConcatV2, Sigmoid, MaxPool, plus a
// TopKV2 post-processing node that must be cut off.
func synthModel(t *testing.T) string {
	b := newGraphBuilder()
	b.node("x", "Placeholder", nil, map[string]any{"shape": aShape(1, synthH, synthW, 3), "dtype": map[string]any{"type": "DT_FLOAT"}})
	conv := func(extra map[string]any) map[string]any {
		a := map[string]any{"data_format": aS("NHWC"), "dilations": aInts(1, 1, 1, 1), "strides": aInts(1, 1, 1, 1), "padding": aS("SAME")}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	b.constF32("w1", []int{3, 3, 3, 4}, "float16")
	b.constF32("b1", []int{4}, "")
	b.node("c1", "_FusedConv2D", []string{"x", "w1", "b1"}, conv(map[string]any{
		"strides": aInts(1, 2, 2, 1), "fused_ops": aStrs("BiasAdd", "Relu6"), "num_args": map[string]any{"i": "1"}}))
	b.constF32("dw", []int{3, 3, 4, 2}, "uint8")
	b.constF32("db", []int{8}, "")
	b.node("d1", "FusedDepthwiseConv2dNative", []string{"c1", "dw", "db"}, conv(map[string]any{"fused_ops": aStrs("BiasAdd", "Relu")}))
	b.constScalar("k3", 3)
	b.constScalar("k6", 1.0/6)
	b.node("hs_add", "Add", []string{"d1", "k3"}, nil)
	b.node("hs_relu6", "Relu6", []string{"hs_add"}, nil)
	b.node("hs_mul", "Mul", []string{"k6", "hs_relu6"}, nil)
	b.node("hs", "Mul", []string{"d1", "hs_mul"}, nil)
	b.constF32("pcs", []int{8}, "")
	b.node("pc", "Mul", []string{"hs", "pcs"}, nil)
	b.constI32("axes", []int{2}, 1, 2)
	b.node("se_mean", "Mean", []string{"pc", "axes"}, map[string]any{"keep_dims": aB(true)})
	b.node("se", "Sigmoid", []string{"se_mean"}, nil)
	b.node("sem", "Mul", []string{"se", "pc"}, nil)
	b.constI32("size", []int{2}, synthH, synthW)
	b.node("up", "ResizeBilinear", []string{"sem", "size"}, map[string]any{"align_corners": aB(false), "half_pixel_centers": aB(false)})
	b.constF32("w0", []int{1, 1, 3, 2}, "")
	b.node("c0", "Conv2D", []string{"x", "w0"}, conv(map[string]any{"padding": aS("VALID")}))
	b.constF32("dw2", []int{3, 3, 2, 1}, "float16")
	b.node("dl", "DepthwiseConv2dNative", []string{"c0", "dw2"}, conv(map[string]any{"dilations": aInts(1, 2, 2, 1)}))
	b.constI32("axis", []int{}, -1)
	b.node("cat", "ConcatV2", []string{"up", "dl", "axis"}, map[string]any{"N": map[string]any{"i": "2"}})
	b.node("out", "Sigmoid", []string{"cat"}, nil)
	b.node("pooled", "MaxPool", []string{"cat"}, map[string]any{"ksize": aInts(1, 3, 3, 1), "strides": aInts(1, 2, 2, 1), "padding": aS("SAME"), "data_format": aS("NHWC")})
	b.constI32("k", []int{}, 5)
	b.node("topk", "TopKV2", []string{"out", "k"}, nil)
	return b.write(t, []string{"out", "pooled", "topk"})
}

func TestConvertSyntheticStructure(t *testing.T) {
	m, err := LoadModel(synthModel(t))
	if err != nil {
		t.Fatal(err)
	}
	// Float16 and uint8 weights are decoded.
	if w := m.Weights["w1"]; w == nil || len(w.F32) != 3*3*3*4 {
		t.Fatalf("w1 = %+v", w)
	}
	for _, v := range m.Weights["dw"].F32 {
		if v < -0.75 || v > 0.75 || math.Mod(float64(v)*64, 1) != 0 {
			t.Fatalf("uint8-dequantised value %v out of range", v)
		}
	}

	// Signature outputs: TopKV2 is unsupported.
	_, err = Convert(m, Options{})
	var ue *UnsupportedOpError
	if !errors.As(err, &ue) || ue.Op != "TopKV2" || ue.Node != "topk" {
		t.Fatalf("want unsupported TopKV2 error, got %v", err)
	}
	if !strings.Contains(err.Error(), "TopKV2") || !strings.Contains(err.Error(), `"topk"`) {
		t.Errorf("error message does not name op and node: %v", err)
	}

	res, err := Convert(m, Options{SkipUnsupportedOutputs: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dropped) != 1 || !strings.HasPrefix(res.Dropped[0], "topk") {
		t.Errorf("dropped = %v", res.Dropped)
	}
	if len(res.Inputs) != 1 || res.Inputs[0].Name != "x" || !slices.Equal(res.Inputs[0].Shape, []int64{-1, synthH, synthW, 3}) || res.Inputs[0].Layout != "NHWC" {
		t.Errorf("inputs = %+v", res.Inputs)
	}
	want := map[string][]int64{"out": {-1, 10, synthH, synthW}, "pooled": {-1, 10, 5, 5}}
	for _, o := range res.Outputs {
		if !slices.Equal(o.Shape, want[o.Name]) || o.Layout != "NCHW" {
			t.Errorf("output %s: shape %v layout %s, want %v NCHW", o.Name, o.Shape, o.Layout, want[o.Name])
		}
	}

	// Unsupported op named explicitly.
	_, err = Convert(m, Options{Outputs: []OutputSpec{{Tensor: "topk"}}})
	if !errors.As(err, &ue) {
		t.Errorf("explicit unsupported output: %v", err)
	}
	_, err = Convert(m, Options{Outputs: []OutputSpec{{Tensor: "nope"}}})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing output node: %v", err)
	}
}

// --- NHWC reference implementation ---

type nhwc struct {
	n, h, w, c int
	d          []float32
}

func (t nhwc) at(n, y, x, c int) float32 { return t.d[((n*t.h+y)*t.w+x)*t.c+c] }

func samePad(in, k, s, d int) (out, before int) {
	out = (in + s - 1) / s
	total := max((out-1)*s+(k-1)*d+1-in, 0)
	return out, total / 2
}

// refConv is a TF conv (depthwise when mult > 0) with SAME or VALID padding.
func refConv(x nhwc, f []float32, kh, kw, co, stride, dil int, same bool, depthwise bool) nhwc {
	var oh, ow, pt, pl int
	if same {
		oh, pt = samePad(x.h, kh, stride, dil)
		ow, pl = samePad(x.w, kw, stride, dil)
	} else {
		oh = (x.h-(kh-1)*dil-1)/stride + 1
		ow = (x.w-(kw-1)*dil-1)/stride + 1
	}
	outC := co
	if depthwise {
		outC = x.c * co
	}
	out := nhwc{x.n, oh, ow, outC, make([]float32, x.n*oh*ow*outC)}
	for n := 0; n < x.n; n++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for o := 0; o < outC; o++ {
					var acc float64
					for ky := 0; ky < kh; ky++ {
						for kx := 0; kx < kw; kx++ {
							iy, ix := oy*stride+ky*dil-pt, ox*stride+kx*dil-pl
							if iy < 0 || ix < 0 || iy >= x.h || ix >= x.w {
								continue
							}
							if depthwise {
								ci, m := o/co, o%co
								acc += float64(x.at(n, iy, ix, ci)) * float64(f[((ky*kw+kx)*x.c+ci)*co+m])
							} else {
								for ci := 0; ci < x.c; ci++ {
									acc += float64(x.at(n, iy, ix, ci)) * float64(f[((ky*kw+kx)*x.c+ci)*co+o])
								}
							}
						}
					}
					out.d[((n*oh+oy)*ow+ox)*outC+o] = float32(acc)
				}
			}
		}
	}
	return out
}

func mapNHWC(x nhwc, f func(i int, v float32) float32) nhwc {
	out := nhwc{x.n, x.h, x.w, x.c, make([]float32, len(x.d))}
	for i, v := range x.d {
		out.d[i] = f(i, v)
	}
	return out
}

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

func refResizeLegacy(x nhwc, oh, ow int) nhwc {
	out := nhwc{x.n, oh, ow, x.c, make([]float32, x.n*oh*ow*x.c)}
	sy, sx := float64(x.h)/float64(oh), float64(x.w)/float64(ow)
	for n := 0; n < x.n; n++ {
		for y := 0; y < oh; y++ {
			fy := float64(y) * sy
			y0 := int(math.Floor(fy))
			y1 := min(y0+1, x.h-1)
			ly := fy - float64(y0)
			for xx := 0; xx < ow; xx++ {
				fx := float64(xx) * sx
				x0 := int(math.Floor(fx))
				x1 := min(x0+1, x.w-1)
				lx := fx - float64(x0)
				for c := 0; c < x.c; c++ {
					top := float64(x.at(n, y0, x0, c))*(1-lx) + float64(x.at(n, y0, x1, c))*lx
					bot := float64(x.at(n, y1, x0, c))*(1-lx) + float64(x.at(n, y1, x1, c))*lx
					out.d[((n*oh+y)*ow+xx)*x.c+c] = float32(top*(1-ly) + bot*ly)
				}
			}
		}
	}
	return out
}

// synthReference evaluates the synthetic graph on x.
func synthReference(m *Model, x nhwc) (out, pooled nhwc) {
	w := func(n string) []float32 { return m.Weights[n].F32 }
	c1 := refConv(x, w("w1"), 3, 3, 4, 2, 1, true, false)
	c1 = mapNHWC(c1, func(i int, v float32) float32 { return min(max(v+w("b1")[i%4], 0), 6) })
	d1 := refConv(c1, w("dw"), 3, 3, 2, 1, 1, true, true)
	d1 = mapNHWC(d1, func(i int, v float32) float32 { return max(v+w("db")[i%8], 0) })
	pc := mapNHWC(d1, func(i int, v float32) float32 {
		return v * (min(max(v+3, 0), 6) * float32(1.0/6)) * w("pcs")[i%8]
	})
	mean := make([]float64, pc.n*pc.c)
	for i, v := range pc.d {
		n := i / (pc.h * pc.w * pc.c)
		mean[n*pc.c+i%pc.c] += float64(v) / float64(pc.h*pc.w)
	}
	sem := mapNHWC(pc, func(i int, v float32) float32 {
		n := i / (pc.h * pc.w * pc.c)
		return sigmoid(float32(mean[n*pc.c+i%pc.c])) * v
	})
	up := refResizeLegacy(sem, synthH, synthW)
	c0 := refConv(x, w("w0"), 1, 1, 2, 1, 1, false, false)
	dl := refConv(c0, w("dw2"), 3, 3, 1, 1, 2, true, true)
	cat := nhwc{x.n, synthH, synthW, up.c + dl.c, nil}
	for p := 0; p < x.n*synthH*synthW; p++ {
		cat.d = append(cat.d, up.d[p*up.c:(p+1)*up.c]...)
		cat.d = append(cat.d, dl.d[p*dl.c:(p+1)*dl.c]...)
	}
	out = mapNHWC(cat, func(_ int, v float32) float32 { return sigmoid(v) })
	oh, pt := samePad(cat.h, 3, 2, 1)
	ow, pl := samePad(cat.w, 3, 2, 1)
	pooled = nhwc{cat.n, oh, ow, cat.c, make([]float32, cat.n*oh*ow*cat.c)}
	for n := 0; n < cat.n; n++ {
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				for c := 0; c < cat.c; c++ {
					best := float32(math.Inf(-1))
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 3; kx++ {
							iy, ix := y*2+ky-pt, xx*2+kx-pl
							if iy >= 0 && ix >= 0 && iy < cat.h && ix < cat.w {
								best = max(best, cat.at(n, iy, ix, c))
							}
						}
					}
					pooled.d[((n*oh+y)*ow+xx)*cat.c+c] = best
				}
			}
		}
	}
	return out, pooled
}

// compareNCHW checks an NCHW ORT output against an NHWC reference.
func compareNCHW(t *testing.T, name string, got []float32, shape []int64, ref nhwc, tol float64) {
	t.Helper()
	want := []int64{int64(ref.n), int64(ref.c), int64(ref.h), int64(ref.w)}
	if !slices.Equal(shape, want) {
		t.Fatalf("%s: shape %v, want %v", name, shape, want)
	}
	var worst float64
	for n := 0; n < ref.n; n++ {
		for c := 0; c < ref.c; c++ {
			for y := 0; y < ref.h; y++ {
				for x := 0; x < ref.w; x++ {
					g := got[((n*ref.c+c)*ref.h+y)*ref.w+x]
					d := math.Abs(float64(g - ref.at(n, y, x, c)))
					worst = max(worst, d)
					if d > tol {
						t.Fatalf("%s[n%d c%d y%d x%d] = %v, want %v", name, n, c, y, x, g, ref.at(n, y, x, c))
					}
				}
			}
		}
	}
	t.Logf("%s: max abs diff %.3g", name, worst)
}

func TestConvertSyntheticRunsInORT(t *testing.T) {
	requireORT(t)
	m, err := LoadModel(synthModel(t))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(m, Options{
		InputNames: map[string]string{"x": "images"},
		Outputs:    []OutputSpec{{Tensor: "out", Name: "heat"}, {Tensor: "pooled"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sess := newORTSession(t, res.ONNX, "images", []string{"heat", "pooled"})
	rng := rand.New(rand.NewPCG(3, 4))
	for _, batch := range []int{1, 2} { // the batch dimension is dynamic
		t.Run(fmt.Sprintf("batch%d", batch), func(t *testing.T) {
			x := nhwc{batch, synthH, synthW, 3, make([]float32, batch*synthH*synthW*3)}
			for i := range x.d {
				x.d[i] = rng.Float32()*4 - 2
			}
			outs, shapes := sess.run(t, []int64{int64(batch), synthH, synthW, 3}, x.d)
			refOut, refPooled := synthReference(m, x)
			compareNCHW(t, "heat", outs[0], shapes[0], refOut, 1e-5)
			compareNCHW(t, "pooled", outs[1], shapes[1], refPooled, 1e-4)
		})
	}
}
