package infer

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// network-type 2 is DeepStream's semantic segmentation: each pixel's most
// probable class above segmentation-threshold (-1 where none is), in
// [C,H,W] or, with segmentation-output-order 1, [H,W,C]; the map goes into
// the frame's metadata.
func TestSemanticSegmentation(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	// 3 classes over a 2x2 map: pixel 0 class 0, 1 class 1, 2 class 2, 3
	// none above 0.5.
	chw := []float32{
		0.9, 0.1, 0.0, 0.4, // class 0
		0.05, 0.8, 0.2, 0.3, // class 1
		0.05, 0.1, 0.8, 0.3, // class 2
	}
	hwc := make([]float32, 12)
	for c := 0; c < 3; c++ {
		for p := 0; p < 4; p++ {
			hwc[p*3+c] = chw[c*4+p]
		}
	}
	for name, c := range map[string]onnxtest.Const{
		"chw.onnx": {Name: "probs", Dims: []int64{3, 2, 2}, Data: chw},
		"hwc.onnx": {Name: "probs", Dims: []int64{2, 2, 3}, Data: hwc},
	} {
		if err := onnxtest.ConstantOutputs(32, c).Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ model, extra string }{
		{"chw.onnx", ""},
		{"hwc.onnx", "segmentation-output-order=1\n"},
	} {
		r := startRunner(t, dir, "s.txt", "[property]\nnetwork-type=2\ngie-unique-id=4\nsegmentation-threshold=0.5\nonnx-file="+c.model+"\n"+c.extra, nil)
		b := batch(1, 32, 32)
		if err := r.process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		m := b.Meta().Frames[0].Segmentation()
		if m == nil {
			t.Fatalf("%s: no segmentation meta", c.model)
		}
		if m.Classes != 3 || m.Width != 2 || m.Height != 2 || m.ComponentID != 4 || !slices.Equal(m.ClassMap, []int32{0, 1, 2, -1}) {
			t.Errorf("%s: %+v, want 3 classes 2x2 [0 1 2 -1] from component 4", c.model, m)
		}
		b.Release()
	}
	// A parser of a C library is refused with what to do; a 2-D output is
	// an error naming the shape.
	_, err := newElement(t, dir, "x.txt", "[property]\nnetwork-type=2\nonnx-file=chw.onnx\nparse-segmentation-func-name=NvDsInferParseCustomChangeNet\ncustom-lib-path=libtao.so\n", nil)
	if !errors.Is(err, ErrCParser) || !strings.Contains(err.Error(), "NvDsInferParseCustomSegformerTAO (class ids)") {
		t.Errorf("C segmentation parser: %v", err)
	}
}

// network-type 3 takes a registered instance mask parser (DeepStream has
// no default one); its objects pass the detector's filters, and with
// output-instance-mask each has its mask.
func TestInstanceSegmentation(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	if err := onnxtest.ConstantOutputs(32, onnxtest.Const{Name: "out", Dims: []int64{1}, Data: []float32{1}}).Write(filepath.Join(dir, "m.onnx")); err != nil {
		t.Fatal(err)
	}
	base := "[property]\nnetwork-type=3\nonnx-file=m.onnx\ncluster-mode=4\nsegmentation-threshold=0.5\n"
	if _, err := newElement(t, dir, "i.txt", base, nil); err == nil || !strings.Contains(err.Error(), "RegisterInstanceMaskParser") {
		t.Errorf("no parser named: %v", err)
	}
	if _, err := newElement(t, dir, "i.txt", base+"parse-bbox-instance-mask-func-name=NvDsInferParseYoloFace\ncustom-lib-path=libface.so\n", nil); !errors.Is(err, ErrCParser) {
		t.Errorf("C parser: %v", err)
	}
	err := RegisterInstanceMaskParser("TestMasks", func(_ []bbox.Layer, info bbox.Info, dst []bbox.InstanceDetection) ([]bbox.InstanceDetection, error) {
		return append(dst,
			bbox.InstanceDetection{Detection: bbox.Detection{ClassID: 0, Score: 0.9, X1: 8, Y1: 8, X2: 24, Y2: 16}, MaskWidth: 2, MaskHeight: 1, Mask: []float32{0.9, 0.1}},
			bbox.InstanceDetection{Detection: bbox.Detection{ClassID: 0, Score: 0.3, X1: 0, Y1: 0, X2: 4, Y2: 4}}, // under pre-cluster-threshold
		), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, masks := range []bool{true, false} {
		extra := "parse-bbox-instance-mask-func-name=TestMasks\n[class-attrs-all]\npre-cluster-threshold=0.5\n"
		if masks {
			extra = "output-instance-mask=1\n" + extra
		}
		r := startRunner(t, dir, "i.txt", base+extra, nil)
		b := batch(1, 64, 64) // twice the network's size
		if err := r.process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		objs := b.Meta().Frames[0].Objects
		if len(objs) != 1 || !rectNear(objs[0].Rect, media.Rect{Left: 16, Top: 16, Width: 32, Height: 16}) {
			t.Fatalf("objects %+v, want one at (16,16) 32x16", objs)
		}
		m := objs[0].InstanceMask()
		if masks && (m == nil || m.Width != 2 || m.Height != 1 || !slices.Equal(m.Data, []float32{0.9, 0.1}) || m.Threshold != 0.5) {
			t.Errorf("mask %+v", m)
		}
		if !masks && m != nil {
			t.Errorf("a mask without output-instance-mask: %+v", m)
		}
		b.Release()
	}
}

// deepstream_tao_apps' CitySemSegformer config runs unchanged with its
// NvDsInferParseCustomSegformerTAO built in, on a stand-in whose output
// "output" is, as the real model's, int64 class ids [1,H,W]; ids outside
// num-detected-classes (19) are -1.
func TestSegformerSampleConfigRuns(t *testing.T) {
	needORT(t)
	ids := make([]float32, 8*8)
	for i := range ids {
		ids[i] = float32(i % 20) // 19 is out of range
	}
	model := onnxtest.ConstantOutputsNamed("input", 8, 8, onnxtest.Const{Name: "output", Dims: []int64{1, 8, 8}, Data: ids, Int64: true})
	labels := make([]string, 19)
	for i := range labels {
		labels[i] = "c"
	}
	dir, name := placeSample(t, "deepstream_tao_apps/configs/nvinfer/citysemsegformer_tao/pgie_citysemsegformer_tao_config.txt", 3, model, labels)
	b := batch(1, 16, 16)
	defer b.Release()
	text := mustRead(t, filepath.Join(dir, name))
	r := startRunner(t, dir, name, text, nil)
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	m := b.Meta().Frames[0].Segmentation()
	if m == nil || m.Width != 8 || m.Height != 8 || m.Classes != 19 || m.ClassMap[5] != 5 || m.ClassMap[19] != -1 || m.ClassMap[20] != 0 {
		t.Fatalf("segmentation %+v", m)
	}
}
