package modelconv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
)

func toUint8(f []float32) []uint8 {
	out := make([]uint8, len(f))
	for i, v := range f {
		out[i] = uint8(min(max(math.Round(float64(v)), 0), 255))
	}
	return out
}

func toFloat(b []uint8) []float32 {
	out := make([]float32, len(b))
	for i, v := range b {
		out[i] = float32(v)
	}
	return out
}

// sameDetections checks two decodes agree: count, classes, scores within
// 1e-4 and boxes within 0.01 px, in the same order.
func sameDetections(t *testing.T, name string, got, want []bbox.Detection) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d detections, the full decode %d", name, len(got), len(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		box := max(math.Abs(float64(g.X1-w.X1)), math.Abs(float64(g.Y1-w.Y1)), math.Abs(float64(g.X2-w.X2)), math.Abs(float64(g.Y2-w.Y2)))
		if g.ClassID != w.ClassID || math.Abs(float64(g.Score-w.Score)) > 1e-4 || box > 0.01 {
			t.Errorf("%s: detection %d is %+v, the full decode's %+v", name, i, g, w)
		}
	}
}

const synthCNGrid, synthCNClasses = 12, 3

// synthCenterNet builds a small CenterNet-like graph: x [1,12,12,3] scaled
// to 0..1, heat = Sigmoid(3x3 conv) [C=3], wh = 20*Relu(1x1 conv) [4].
func synthCenterNet(t *testing.T) string {
	b := newGraphBuilder()
	b.node("x", "Placeholder", nil, map[string]any{"shape": aShape(1, synthCNGrid, synthCNGrid, 3), "dtype": map[string]any{"type": "DT_FLOAT"}})
	conv := map[string]any{"data_format": aS("NHWC"), "dilations": aInts(1, 1, 1, 1), "strides": aInts(1, 1, 1, 1), "padding": aS("SAME")}
	b.constScalar("s", 1.0/255)
	b.node("xs", "Mul", []string{"x", "s"}, nil)
	b.constF32("hw", []int{3, 3, 3, synthCNClasses}, "")
	b.node("hc", "Conv2D", []string{"xs", "hw"}, conv)
	b.node("heat_t", "Sigmoid", []string{"hc"}, nil)
	b.constF32("ww", []int{1, 1, 3, 4}, "")
	b.node("wc", "Conv2D", []string{"xs", "ww"}, conv)
	b.node("wr", "Relu", []string{"wc"}, nil)
	b.constScalar("k20", 20)
	b.node("wh_t", "Mul", []string{"wr", "k20"}, nil)
	return b.write(t, []string{"heat_t", "wh_t"})
}

func synthCNOptions(dd *DeviceDecode) Options {
	return Options{
		InputNames:   map[string]string{"x": "images"},
		Outputs:      []OutputSpec{{Tensor: "heat_t", Name: "heat"}, {Tensor: "wh_t", Name: "wh"}},
		UInt8Input:   true,
		DeviceDecode: dd,
	}
}

func TestDeviceDecodeBadOptions(t *testing.T) {
	m, err := LoadModel(synthCenterNet(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dd   DeviceDecode
		want string
	}{
		{DeviceDecode{TopK: 0}, "TopK must be at least 1, got 0"},
		{DeviceDecode{TopK: -5}, "TopK must be at least 1, got -5"},
		{DeviceDecode{TopK: synthCNClasses*synthCNGrid*synthCNGrid + 1}, "TopK 433 is more than the 432 cells of heat"},
		{DeviceDecode{TopK: 10, Heat: "wh"}, `heat and wh are both output "wh"`},
		{DeviceDecode{TopK: 10, Heat: "scores_in"}, `device decode needs outputs "scores_in" and "wh"`},
		{DeviceDecode{TopK: 10, Heat: "wh", WH: "heat"}, "device decode needs wh [N,C,H,W] and heat [N,4,H,W]"},
	}
	for _, c := range cases {
		dd := c.dd
		_, err := Convert(m, synthCNOptions(&dd))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.dd, err, c.want)
		}
	}
}

func TestDeviceDecodeStructure(t *testing.T) {
	m, err := LoadModel(synthCenterNet(t))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(m, synthCNOptions(&DeviceDecode{TopK: 7, KeepRaw: true}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range res.Outputs {
		names = append(names, fmt.Sprintf("%s%v", o.Name, o.Shape))
	}
	want := []string{"scores[-1 7]", "indices[-1 7]", "boxes[-1 7 4]", "heat[-1 3 12 12]", "wh[-1 4 12 12]"}
	if !slices.Equal(names, want) {
		t.Errorf("outputs %v, want %v", names, want)
	}
	requireORT(t)
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(res.ONNX)
	if err != nil {
		t.Fatalf("ORT rejected the model: %v", err)
	}
	if len(ins) != 1 || ins[0].Name != "images" || ins[0].DataType != ort.TensorElementDataTypeUint8 {
		t.Errorf("inputs %v, want images uint8", ins)
	}
	for _, o := range outs {
		if o.DataType != ort.TensorElementDataTypeFloat {
			t.Errorf("output %v is not float32", o)
		}
	}
}

// The device decode of a small random CenterNet-like model, run in ONNX
// Runtime, gives DecodeCenterNet's detections through DecodeCenterNetTopK.
func TestDeviceDecodeSyntheticRunsInORT(t *testing.T) {
	requireORT(t)
	m, err := LoadModel(synthCenterNet(t))
	if err != nil {
		t.Fatal(err)
	}
	const cells = synthCNClasses * synthCNGrid * synthCNGrid
	rng := rand.New(rand.NewPCG(5, 6))
	const batch = 2
	x := make([]uint8, batch*synthCNGrid*synthCNGrid*3)
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	for _, k := range []int{cells, 40, 5} {
		t.Run(fmt.Sprintf("K%d", k), func(t *testing.T) {
			res, err := Convert(m, synthCNOptions(&DeviceDecode{TopK: k, KeepRaw: true}))
			if err != nil {
				t.Fatal(err)
			}
			sess := newORTSession(t, res.ONNX, "images", []string{"scores", "indices", "boxes", "heat", "wh"})
			outs, shapes := sess.runU8(t, []int64{batch, synthCNGrid, synthCNGrid, 3}, x)
			if !slices.Equal(shapes[0], []int64{batch, int64(k)}) || !slices.Equal(shapes[1], []int64{batch, int64(k)}) || !slices.Equal(shapes[2], []int64{batch, int64(k), 4}) {
				t.Fatalf("output shapes %v", shapes)
			}
			const hs, ws = synthCNClasses * synthCNGrid * synthCNGrid, 4 * synthCNGrid * synthCNGrid
			for img := range batch {
				scores, indices, boxes := outs[0][img*k:(img+1)*k], outs[1][img*k:(img+1)*k], outs[2][img*4*k:(img+1)*4*k]
				heat, wh := outs[3][img*hs:(img+1)*hs], outs[4][img*ws:(img+1)*ws]
				// At the threshold of the k-th score at most k peaks pass.
				thr := float32(0.3)
				if k < cells {
					thr = max(thr, math.Nextafter32(scores[k-1], 2))
				}
				for _, iou := range []float32{0, 0.5} {
					cfg := parsers.CenterNetConfig{Classes: synthCNClasses, Height: synthCNGrid, Width: synthCNGrid, Stride: 4,
						Threshold: thr, IoU: iou, ClipW: 4 * synthCNGrid, ClipH: 4 * synthCNGrid}
					want, err := parsers.DecodeCenterNet(nil, heat, wh, cfg)
					if err != nil {
						t.Fatal(err)
					}
					got, err := parsers.DecodeCenterNetTopK(nil, scores, indices, boxes, cfg)
					if err != nil {
						t.Fatal(err)
					}
					if len(want) == 0 {
						t.Fatalf("image %d: no peak above %v; the test checks nothing", img, thr)
					}
					sameDetections(t, fmt.Sprintf("image %d threshold %.3f IoU %v", img, thr, iou), got, want)
				}
			}
		})
	}
}

// The device-ready CenterNet on real photos: its detections through
// DecodeCenterNetTopK are the float model's through DecodeCenterNet (the
// float model fed the same uint8 pixels).
func TestDeviceDecodeCenterNetMatchesFloatModel(t *testing.T) {
	f, m := cachedCenterNet(t)
	opts := CenterNetPreset.Options
	opts.UInt8Input = true
	opts.DeviceDecode = &DeviceDecode{TopK: DefaultTopK}
	res, err := Convert(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := os.ReadFile(f.onnx)
	if err != nil {
		t.Fatal(err)
	}
	full := newORTSession(t, cached, "images", []string{"heat", "wh"})
	dev := newORTSession(t, res.ONNX, "images", []string{"scores", "indices", "boxes"})
	labels := readLabels(t, f.labels)

	cfg := func(iou float32) parsers.CenterNetConfig {
		return parsers.CenterNetConfig{Classes: cnClasses, Height: cnGrid, Width: cnGrid, Stride: 4,
			Threshold: detectThreshold, IoU: iou, TopK: 100, ClipW: cnSize, ClipH: cnSize}
	}
	const k = DefaultTopK
	var batch []uint8
	var single [][]bbox.Detection
	images := []string{"dog.jpg", "person.jpg", "horses.jpg"}
	for _, name := range images {
		in, _, _ := loadInput(t, filepath.Join(f.images, name))
		u8 := toUint8(in)
		batch = append(batch, u8...)
		a, _ := full.run(t, []int64{1, cnSize, cnSize, 3}, toFloat(u8))
		b, shapes := dev.runU8(t, []int64{1, cnSize, cnSize, 3}, u8)
		if !slices.Equal(shapes[0], []int64{1, k}) || !slices.Equal(shapes[1], []int64{1, k}) || !slices.Equal(shapes[2], []int64{1, k, 4}) {
			t.Fatalf("%s: output shapes %v", name, shapes)
		}
		if b[0][k-1] >= detectThreshold {
			t.Fatalf("%s: %d or more peaks reach %v, more than K", name, k, detectThreshold)
		}
		for _, iou := range []float32{0, 0.5} { // all peaks, then as the pipeline
			want, err := parsers.DecodeCenterNet(nil, a[0], a[1], cfg(iou))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parsers.DecodeCenterNetTopK(nil, b[0], b[1], b[2], cfg(iou))
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatalf("%s: nothing detected", name)
			}
			sameDetections(t, fmt.Sprintf("%s IoU %v", name, iou), got, want)
			if iou > 0 {
				single = append(single, got)
				logDetections(t, name, labels, got)
			}
		}
	}

	// The cached variant (scripts/setup-model.sh) must be the same model.
	t.Run("cache", func(t *testing.T) {
		gpu := filepath.Join(filepath.Dir(f.onnx), "centernet_gpu.onnx")
		data, err := os.ReadFile(gpu)
		if err != nil {
			t.Skipf("%v; run scripts/setup-model.sh", err)
		}
		cs := newORTSession(t, data, "images", []string{"scores", "indices", "boxes"})
		a, _ := cs.runU8(t, []int64{1, cnSize, cnSize, 3}, batch[:cnSize*cnSize*3])
		b, _ := dev.runU8(t, []int64{1, cnSize, cnSize, 3}, batch[:cnSize*cnSize*3])
		for o := range a {
			for i := range a[o] {
				if math.Abs(float64(a[o][i]-b[o][i])) > 1e-5 {
					t.Fatalf("output %d differs from the cached %s: delete it and re-run scripts/setup-model.sh", o, gpu)
				}
			}
		}
	})

	t.Run("batch3", func(t *testing.T) {
		outs, _ := dev.runU8(t, []int64{3, cnSize, cnSize, 3}, batch)
		for i := range images {
			got, err := parsers.DecodeCenterNetTopK(nil, outs[0][i*k:(i+1)*k], outs[1][i*k:(i+1)*k], outs[2][i*4*k:(i+1)*4*k], cfg(0.5))
			if err != nil {
				t.Fatal(err)
			}
			sameDetections(t, images[i]+" in a batch", got, single[i])
		}
	})

	t.Run("timing", func(t *testing.T) {
		in, _, _ := loadInput(t, filepath.Join(f.images, "dog.jpg"))
		u8 := toUint8(in)
		f32 := toFloat(u8)
		shape := []int64{1, cnSize, cnSize, 3}
		median := func(run func()) time.Duration {
			run() // warm-up
			var times []time.Duration
			for range 5 {
				start := time.Now()
				run()
				times = append(times, time.Since(start))
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			return times[2]
		}
		tf := median(func() {
			o, _ := full.run(t, shape, f32)
			if _, err := parsers.DecodeCenterNet(nil, o[0], o[1], cfg(0.5)); err != nil {
				t.Fatal(err)
			}
		})
		td := median(func() {
			o, _ := dev.runU8(t, shape, u8)
			if _, err := parsers.DecodeCenterNetTopK(nil, o[0], o[1], o[2], cfg(0.5)); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("CPU, 1 intra-op thread, run + decode, median of 5: float model %v, device-decode variant %v", tf, td)
	})
}
