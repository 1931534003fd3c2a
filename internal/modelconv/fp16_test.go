package modelconv

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
)

func TestFloat32ToFloat16(t *testing.T) {
	// Every float16 value survives the round trip.
	for h := range 1 << 16 {
		f := Float16ToFloat32(uint16(h))
		got := Float32ToFloat16(f)
		if math.IsNaN(float64(f)) {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x became %#04x", h, got)
			}
			continue
		}
		if got != uint16(h) {
			t.Fatalf("%#04x (%g) became %#04x", h, f, got)
		}
	}
	cases := []struct {
		f    float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},        // tie, to even (down)
		{1 + 3.0/2048, 0x3c02},        // tie, to even (up)
		{1 + 1.0/2048 + 1e-7, 0x3c01}, // above the tie
		{65504, 0x7bff},
		{65520, 0x7c00}, // rounds past the largest finite value
		{-1e6, 0xfc00},
		{float32(math.Ldexp(1, -25)), 0},          // tie with zero, to even
		{float32(math.Ldexp(1.5, -25)), 1},        // above: the smallest subnormal
		{float32(math.Ldexp(1023.5, -24)), 0x400}, // carries into the smallest normal
		{float32(math.Copysign(0, -1)), 0x8000},
	}
	for _, c := range cases {
		if got := Float32ToFloat16(c.f); got != c.want {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	// Random values: the nearest float16 (no neighbour is closer).
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		f := math.Float32frombits(rng.Uint32())
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || math.Abs(float64(f)) > 65504 {
			continue
		}
		h := Float32ToFloat16(f)
		d := math.Abs(float64(Float16ToFloat32(h)) - float64(f))
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7c00 == 0x7c00 || (h&0x7fff == 0 && n == h-1) {
				continue
			}
			if dn := math.Abs(float64(Float16ToFloat32(n)) - float64(f)); dn < d {
				t.Fatalf("%g: %#04x (%g), but %#04x (%g) is closer", f, h, Float16ToFloat32(h), n, Float16ToFloat32(n))
			}
		}
	}
}

// onnxSummary is what the float16 checks read back from a model's bytes.
type onnxSummary struct {
	nodes   []summaryNode
	inits   map[string]int32 // name -> data type
	inputs  map[string]int32
	outputs []string
	outType map[string]int32
	vinfo   map[string]int32
}

type summaryNode struct {
	op, name    string
	inputs, out []string
	to          int64 // Cast's "to"
}

func elemType(t *testing.T, typeProto []byte) int32 {
	tt := fieldsNamed(decodeFields(t, typeProto), 1) // tensor_type
	if len(tt) != 1 {
		t.Fatal("value info without tensor_type")
	}
	et := fieldsNamed(decodeFields(t, tt[0].bytes), 1) // elem_type
	if len(et) != 1 {
		t.Fatal("tensor type without elem_type")
	}
	return int32(et[0].varint)
}

func summarise(t *testing.T, model []byte) *onnxSummary {
	t.Helper()
	gs := fieldsNamed(decodeFields(t, model), 7)
	if len(gs) != 1 {
		t.Fatal("model without graph")
	}
	g := decodeFields(t, gs[0].bytes)
	s := &onnxSummary{inits: map[string]int32{}, inputs: map[string]int32{}, outType: map[string]int32{}, vinfo: map[string]int32{}}
	for _, f := range fieldsNamed(g, 1) {
		nf := decodeFields(t, f.bytes)
		n := summaryNode{}
		for _, x := range nf {
			switch x.num {
			case 1:
				n.inputs = append(n.inputs, string(x.bytes))
			case 2:
				n.out = append(n.out, string(x.bytes))
			case 3:
				n.name = string(x.bytes)
			case 4:
				n.op = string(x.bytes)
			case 5:
				af := decodeFields(t, x.bytes)
				if nm := fieldsNamed(af, 1); len(nm) == 1 && string(nm[0].bytes) == "to" {
					n.to = int64(fieldsNamed(af, 3)[0].varint)
				}
			}
		}
		s.nodes = append(s.nodes, n)
	}
	for _, f := range fieldsNamed(g, 5) {
		tf := decodeFields(t, f.bytes)
		s.inits[string(fieldsNamed(tf, 8)[0].bytes)] = int32(fieldsNamed(tf, 2)[0].varint)
	}
	vi := func(b []byte) (string, int32) {
		vf := decodeFields(t, b)
		return string(fieldsNamed(vf, 1)[0].bytes), elemType(t, fieldsNamed(vf, 2)[0].bytes)
	}
	for _, f := range fieldsNamed(g, 11) {
		n, et := vi(f.bytes)
		s.inputs[n] = et
	}
	for _, f := range fieldsNamed(g, 12) {
		n, et := vi(f.bytes)
		s.outputs = append(s.outputs, n)
		s.outType[n] = et
	}
	for _, f := range fieldsNamed(g, 13) {
		n, et := vi(f.bytes)
		s.vinfo[n] = et
	}
	return s
}

// checkFloat16Graph infers every tensor's type through the graph and
// checks the float16 variant's layout: uint8 input cast to float16, all
// network initializers and ops float16 (but Resize's roi/scales), float32
// only after the casts of the network's outputs, ops of several float
// inputs fed one type, outputs float32 as declared. It returns the number
// of float16 initializers and of nodes computing in float16.
func checkFloat16Graph(t *testing.T, model []byte, outputs []string) (halfInits, halfNodes int) {
	t.Helper()
	s := summarise(t, model)
	types := map[string]int32{"": 0}
	for n, et := range s.inits {
		types[n] = et
	}
	for n, et := range s.inputs {
		if et != onnxUint8 {
			t.Errorf("input %s has type %d, want uint8", n, et)
		}
		types[n] = et
	}
	decode := false // past the casts back to float32
	for _, n := range s.nodes {
		var in []int32
		for _, x := range n.inputs {
			et, ok := types[x]
			if !ok {
				t.Fatalf("node %s (%s) reads %q before it is computed", n.name, n.op, x)
			}
			in = append(in, et)
		}
		var floats []int32
		for i, et := range in {
			if (et == onnxFloat || et == onnxFloat16) && !float16Keep(n.op, i) {
				floats = append(floats, et)
			}
		}
		for _, et := range floats[min(1, len(floats)):] {
			if et != floats[0] {
				t.Errorf("node %s (%s) mixes float types %v", n.name, n.op, in)
			}
		}
		if n.op == "Resize" {
			for i, x := range n.inputs[1:] {
				if x != "" && i < 2 && types[x] != onnxFloat {
					t.Errorf("Resize %s: input %d (%s) has type %d, want float32", n.name, i+1, x, types[x])
				}
			}
		}
		out := int32(0)
		switch n.op {
		case "Cast":
			out = int32(n.to)
		case "Shape":
			out = onnxInt64
		case "Equal":
			out = onnxBool
		default:
			out = in[0]
		}
		for i, o := range n.out {
			types[o] = out
			if n.op == "TopK" && i == 1 {
				types[o] = onnxInt64
			}
		}
		if n.op == "Cast" && n.to == onnxFloat && in[0] == onnxFloat16 {
			decode = true
		}
		switch {
		case len(floats) > 0 && floats[0] == onnxFloat16:
			halfNodes++
			if decode && n.op != "Cast" {
				t.Errorf("node %s (%s) computes in float16 after the casts back to float32", n.name, n.op)
			}
		case len(floats) > 0 && floats[0] == onnxFloat && !decode:
			t.Errorf("node %s (%s) computes in float32 inside the network", n.name, n.op)
		}
	}
	for n, et := range s.inits {
		switch et {
		case onnxFloat16:
			halfInits++
		case onnxFloat:
			// Only Resize's roi/scales.
			for _, nd := range s.nodes {
				for i, x := range nd.inputs {
					if x == n && !float16Keep(nd.op, i) {
						t.Errorf("float32 initializer %s is read by %s (%s)", n, nd.name, nd.op)
					}
				}
			}
		}
	}
	if strings.Join(s.outputs, ",") != strings.Join(outputs, ",") {
		t.Errorf("outputs %v, want %v", s.outputs, outputs)
	}
	for _, o := range s.outputs {
		if s.outType[o] != onnxFloat || types[o] != onnxFloat {
			t.Errorf("output %s declared %d, computed %d; want float32", o, s.outType[o], types[o])
		}
	}
	for n, et := range s.vinfo {
		if types[n] != et {
			t.Errorf("value info %s declares %d, computed %d", n, et, types[n])
		}
	}
	return halfInits, halfNodes
}

func TestFP16SyntheticStructure(t *testing.T) {
	m, err := LoadModel(synthCenterNet(t))
	if err != nil {
		t.Fatal(err)
	}
	opts := synthCNOptions(&DeviceDecode{TopK: 7, KeepRaw: true})
	opts.FP16 = true
	res, err := Convert(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	hi, hn := checkFloat16Graph(t, res.ONNX, []string{"scores", "indices", "boxes", "heat", "wh"})
	if hi < 4 || hn < 5 {
		t.Errorf("%d float16 initializers and %d float16 nodes; the network is not float16", hi, hn)
	}

	opts.UInt8Input = false
	if _, err := Convert(m, opts); err == nil || !strings.Contains(err.Error(), "FP16 needs UInt8Input") {
		t.Errorf("FP16 without UInt8Input: error %v", err)
	}
}

// The float16 network of the small CenterNet-like model, run in ONNX
// Runtime on the CPU, decodes as the float32 one does within float16's
// precision.
func TestFP16SyntheticRunsInORT(t *testing.T) {
	requireORT(t)
	m, err := LoadModel(synthCenterNet(t))
	if err != nil {
		t.Fatal(err)
	}
	const k = 40
	outs := map[bool][][]float32{}
	x := make([]uint8, synthCNGrid*synthCNGrid*3)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	for _, half := range []bool{false, true} {
		opts := synthCNOptions(&DeviceDecode{TopK: k, KeepRaw: true})
		opts.FP16 = half
		res, err := Convert(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		sess := newFP16Session(t, res.ONNX, []string{"scores", "indices", "boxes", "heat", "wh"})
		outs[half], _ = sess.runU8(t, []int64{1, synthCNGrid, synthCNGrid, 3}, x)
	}
	for i, name := range []string{"heat", "wh"} {
		a, b := outs[false][3+i], outs[true][3+i]
		worst := 0.0
		for j := range a {
			worst = max(worst, math.Abs(float64(a[j]-b[j]))/max(1, math.Abs(float64(a[j]))))
		}
		if worst > 5e-3 {
			t.Errorf("%s: float16 differs from float32 by %g (relative)", name, worst)
		}
		t.Logf("%s: largest difference %g", name, worst)
	}
}

// newFP16Session opens a model on ONNX Runtime's CPU provider, skipping
// the test when the provider cannot run it (ONNX Runtime builds without
// float16 kernels or casts for them: the GPU test, infer's
// TestFP16ModelOnGPU, still runs it).
func newFP16Session(t *testing.T, onnx []byte, outputs []string) *ortSession {
	t.Helper()
	s, err := openORTSession(t, onnx, "images", outputs)
	if err != nil {
		t.Skipf("ONNX Runtime's CPU provider cannot run the float16 model (%v); run infer's TestFP16ModelOnGPU on a GPU", err)
	}
	return s
}

func TestFP16CenterNetStructure(t *testing.T) {
	f, m := cachedCenterNet(t)
	opts := CenterNetPreset.Options
	opts.UInt8Input = true
	opts.DeviceDecode = &DeviceDecode{TopK: DefaultTopK}
	opts.FP16 = true
	res, err := Convert(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	hi, hn := checkFloat16Graph(t, res.ONNX, []string{DecodedScores, DecodedIndices, DecodedBoxes})
	t.Logf("%d float16 initializers, %d nodes computing in float16, %d bytes", hi, hn, len(res.ONNX))
	if hi < 50 || hn < 50 {
		t.Errorf("only %d float16 initializers and %d float16 nodes", hi, hn)
	}

	// The cached variant (scripts/setup-model.sh) must be this model.
	gpu := filepath.Join(filepath.Dir(f.onnx), "centernet_gpu_fp16.onnx")
	if data, err := os.ReadFile(gpu); err == nil && string(data) != string(res.ONNX) {
		t.Errorf("%s differs from this conversion: delete it and re-run scripts/setup-model.sh", gpu)
	}
}

// fp16Objects compares two decodes in image pixels: every detection of
// one is in the other (same class, score within scoreTol, box within
// boxTol), in any order, except those within scoreTol of the threshold.
func fp16Objects(t *testing.T, what string, labels []string, got, want []bbox.Detection, thr float32, scoreTol, boxTol float64) {
	t.Helper()
	match := func(a, b []bbox.Detection, dir string) {
		used := make([]bool, len(b))
		for _, w := range a {
			found := false
			for i, g := range b {
				d := max(math.Abs(float64(g.X1-w.X1)), math.Abs(float64(g.Y1-w.Y1)), math.Abs(float64(g.X2-w.X2)), math.Abs(float64(g.Y2-w.Y2)))
				if !used[i] && g.ClassID == w.ClassID && math.Abs(float64(g.Score-w.Score)) <= scoreTol && d <= boxTol {
					used[i], found = true, true
					break
				}
			}
			if !found && float64(w.Score) >= float64(thr)+scoreTol {
				t.Errorf("%s: %s %s %.3f (%.1f,%.1f)-(%.1f,%.1f) has no match", what, dir, labels[w.ClassID], w.Score, w.X1, w.Y1, w.X2, w.Y2)
			}
		}
	}
	match(want, got, "float32")
	match(got, want, "float16")
}

// The float16 CenterNet finds what the float32 GPU variant finds on real
// photos (same classes, scores within 0.02, boxes within 2 px), when
// ONNX Runtime's CPU provider can run it.
func TestFP16CenterNetMatchesFloat(t *testing.T) {
	f, m := cachedCenterNet(t)
	sess := map[bool]*ortSession{}
	for _, half := range []bool{false, true} {
		opts := CenterNetPreset.Options
		opts.UInt8Input = true
		opts.DeviceDecode = &DeviceDecode{TopK: DefaultTopK}
		opts.FP16 = half
		res, err := Convert(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		sess[half] = newFP16Session(t, res.ONNX, []string{DecodedScores, DecodedIndices, DecodedBoxes})
	}
	labels := readLabels(t, f.labels)
	cfg := parsers.CenterNetConfig{Classes: cnClasses, Height: cnGrid, Width: cnGrid, Stride: 4,
		Threshold: detectThreshold, IoU: 0.5, TopK: 100, ClipW: cnSize, ClipH: cnSize}
	for _, name := range []string{"dog.jpg", "person.jpg", "horses.jpg"} {
		in, w, h := loadInput(t, filepath.Join(f.images, name))
		u8 := toUint8(in)
		var dets [2][]bbox.Detection
		for i, half := range []bool{false, true} {
			o, _ := sess[half].runU8(t, []int64{1, cnSize, cnSize, 3}, u8)
			d, err := parsers.DecodeCenterNetTopK(nil, o[0], o[1], o[2], cfg)
			if err != nil {
				t.Fatal(err)
			}
			parsers.ScaleDetections(d, float32(w)/cnSize, float32(h)/cnSize)
			dets[i] = d
		}
		if len(dets[0]) == 0 {
			t.Fatalf("%s: nothing detected", name)
		}
		logDetections(t, name+" float16", labels, dets[1])
		fp16Objects(t, name, labels, dets[1], dets[0], detectThreshold, 0.02, 2)
	}
}
