package modelconv

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestQuantizeWeightsPerChannel(t *testing.T) {
	w := []float32{0.5, -1, 0.25, 0 /* channel 1 */, 10, -20, 5, 2.5 /* channel 2: zeros */, 0, 0, 0, 0}
	q, s := quantizeWeightsPerChannel(w, 3, nil)
	if s[0] != 1.0/127 || s[1] != 20.0/127 || s[2] != 1 {
		t.Fatalf("scales %v", s)
	}
	if q[1] != -127 || q[5] != -127 || q[8] != 0 {
		t.Fatalf("quantized %v", q)
	}
	for i, v := range w {
		if d := math.Abs(float64(float32(q[i])*s[i/4] - v)); d > float64(s[i/4])/2+1e-7 {
			t.Errorf("w[%d] = %g comes back as %g", i, v, float32(q[i])*s[i/4])
		}
	}
}

// A bias that int32 cannot hold at input scale × weight scale raises the
// weight scale instead of overflowing (squeeze-excite's tiny 1×1 convs).
func TestQuantizeBiasFitsInt32(t *testing.T) {
	w := []float32{1e-6, -2e-6}
	b := []float32{2}
	sx := float32(1e-4)
	_, ws := quantizeWeightsPerChannel(w, 1, []float32{b[0] / (sx * (1 << 30))})
	bq, bs := quantizeBias(b, sx, ws)
	if got := float32(bq[0]) * bs[0]; math.Abs(float64(got-b[0])) > 1e-4 {
		t.Fatalf("bias 2 comes back as %g (int32 %d, scale %g)", got, bq[0], bs[0])
	}
}

func TestQuantParamsKeepZeroExact(t *testing.T) {
	for _, r := range [][2]float32{{0, 6}, {-1, 3}, {2, 5}, {-4, -1}, {0, 0}} {
		s, zp := quantParams(r)
		if s <= 0 {
			t.Fatalf("%v: scale %g", r, s)
		}
		lo, hi := min(r[0], 0), max(r[1], 0)
		if got := s * (0 - float32(zp)); math.Abs(float64(got-lo)) > float64(s)/2+1e-6 {
			t.Errorf("%v: level 0 is %g, want about %g", r, got, lo)
		}
		if got := s * (255 - float32(zp)); hi > lo && math.Abs(float64(got-hi)) > float64(s)/2+1e-6 {
			t.Errorf("%v: level 255 is %g, want about %g", r, got, hi)
		}
	}
}

// The synthetic model (every op the converter writes for CenterNet)
// calibrated on random inputs, then quantized: ONNX Runtime loads the QDQ
// graph, its output stays near the float model's, weights are int8 and
// the nodes kept in float keep float weights.
func TestInt8SyntheticRunsInORT(t *testing.T) {
	requireORT(t)
	m, err := LoadModel(synthModel(t))
	if err != nil {
		t.Fatal(err)
	}
	base := Options{InputNames: map[string]string{"x": "images"}, Outputs: []OutputSpec{{Tensor: "out", Name: "heat"}}}
	calOpts := base
	calOpts.Calibration = true
	cal, err := Convert(m, calOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(cal.Calibration) == 0 || len(cal.Quantizable) == 0 {
		t.Fatalf("calibration lists %d tensors and %d nodes", len(cal.Calibration), len(cal.Quantizable))
	}
	fl, err := Convert(m, base)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	shape := []int64{1, synthH, synthW, 3}
	inputs := make([][]float32, 4)
	for i := range inputs {
		inputs[i] = make([]float32, synthH*synthW*3)
		for k := range inputs[i] {
			inputs[i][k] = rng.Float32()*4 - 2
		}
	}
	cs := newORTSession(t, cal.ONNX, "images", append([]string{"heat"}, cal.Calibration...))
	ranges := map[string][2]float32{}
	for _, x := range inputs {
		outs, _ := cs.run(t, shape, x)
		for i, name := range cal.Calibration {
			r, ok := ranges[name]
			if !ok {
				r = [2]float32{float32(math.Inf(1)), float32(math.Inf(-1))}
			}
			for _, v := range outs[i+1] {
				r = [2]float32{min(r[0], v), max(r[1], v)}
			}
			ranges[name] = r
		}
	}
	keep := cal.Quantizable[len(cal.Quantizable)-1].Name
	qOpts := base
	qOpts.Int8 = &Int8{Ranges: ranges, KeepFloat: []string{keep}}
	q, err := Convert(m, qOpts)
	if err != nil {
		t.Fatal(err)
	}
	ops, int8Inits := graphSummary(t, q.ONNX)
	if ops["QuantizeLinear"] == 0 || ops["DequantizeLinear"] <= ops["QuantizeLinear"] || int8Inits == 0 {
		t.Fatalf("ops %v, %d int8 initializers: want QDQ pairs and int8 weights", ops, int8Inits)
	}
	fs := newORTSession(t, fl.ONNX, "images", []string{"heat"})
	qs := newORTSession(t, q.ONNX, "images", []string{"heat"})
	for _, x := range inputs {
		want, _ := fs.run(t, shape, x)
		got, _ := qs.run(t, shape, x)
		var worst float64
		for i := range want[0] {
			worst = max(worst, math.Abs(float64(got[0][i]-want[0][i])))
		}
		// heat is a sigmoid in 0..1; 8 bits along a short chain of ops
		// keep it within a few levels.
		if worst > 0.05 {
			t.Errorf("INT8 heat differs from float by up to %.4f", worst)
		}
	}
	// Missing ranges are an error naming a tensor, not a silent float.
	qOpts.Int8 = &Int8{Ranges: map[string][2]float32{}}
	if _, err := Convert(m, qOpts); err == nil || !strings.Contains(err.Error(), "no calibrated range") {
		t.Errorf("no ranges: %v", err)
	}
}

// graphSummary counts the model's node op types and its int8 initializers.
func graphSummary(t *testing.T, model []byte) (map[string]int, int) {
	t.Helper()
	ops := map[string]int{}
	int8s := 0
	err := eachField(model, func(num protowire.Number, _ protowire.Type, _, g []byte) error {
		if num != 7 {
			return nil
		}
		return eachField(g, func(num protowire.Number, _ protowire.Type, _, v []byte) error {
			switch num {
			case 1: // node
				return eachField(v, func(num protowire.Number, _ protowire.Type, _, f []byte) error {
					if num == 4 {
						ops[string(f)]++
					}
					return nil
				})
			case 5: // initializer
				return eachField(v, func(num protowire.Number, _ protowire.Type, raw, _ []byte) error {
					if num == 2 && varintOf(raw) == onnxInt8Type {
						int8s++
					}
					return nil
				})
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return ops, int8s
}
