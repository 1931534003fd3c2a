package infer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// A classifier's outputs are compared with classifier-threshold as
// DeepStream's default parser does: the most probable class above it, or
// none. A one-output sigmoid model is positive only above the threshold,
// with its own probability (it was always positive with confidence 1:
// the softmax of one value); classifier-softmax turns logits into
// probabilities first.
func TestClassifierThreshold(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	for name, data := range map[string][]float32{"sig3.onnx": {0.3}, "sig7.onnx": {0.7}, "three.onnx": {0.1, 0.6, 0.3}, "logits.onnx": {1, 3, 2}} {
		g := onnxtest.ConstantOutputs(32, onnxtest.Const{Name: "prob", Dims: []int64{int64(len(data))}, Data: data})
		if err := g.Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		class int
		conf  float32
	}
	none := result{-1, 0}
	for _, c := range []struct {
		model, extra string
		want         result
	}{
		{"sig3.onnx", "classifier-threshold=0.5\n", none},
		{"sig7.onnx", "classifier-threshold=0.5\n", result{0, 0.7}},
		{"sig7.onnx", "classifier-threshold=0.7\n", none}, // above, not at
		{"three.onnx", "classifier-threshold=0.5\n", result{1, 0.6}},
		{"three.onnx", "classifier-threshold=0.6\n", none},
		// Taken as they are, the logits 1, 3, 2 are all above 0.5: the
		// largest wins with its value, as in DeepStream.
		{"logits.onnx", "classifier-threshold=0.5\n", result{1, 3}},
		{"logits.onnx", "classifier-threshold=0.5\nclassifier-softmax=1\n", result{1, 0.6652}},
		{"logits.onnx", "classifier-threshold=0.7\nclassifier-softmax=1\n", none},
	} {
		r := startRunner(t, dir, "c.txt", "[property]\nnetwork-type=1\nonnx-file="+c.model+"\n"+c.extra, nil)
		b := batch(1, 32, 32)
		if err := r.process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		got := none
		if cl, _ := b.Meta().Frames[0].User[media.UserClassifications].([]media.Classification); len(cl) == 1 {
			got = result{cl[0].ClassID, cl[0].Confidence}
		} else if len(cl) > 1 {
			t.Errorf("%s %q: %d results", c.model, c.extra, len(cl))
		}
		b.Release()
		if got.class != c.want.class || !approx(got.conf, c.want.conf) {
			t.Errorf("%s %q: class %d confidence %.4f, want %d %.4f", c.model, c.extra, got.class, got.conf, c.want.class, c.want.conf)
		}
	}
}

// A parse-classifier-func-name of a C library is an error saying that
// vidflow cannot load it and how to register a Go parser under that name;
// once registered, the config runs and the parser's attributes reach the
// frame, with the element's unique-id.
func TestClassifierParserRegistered(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	g := onnxtest.ConstantOutputs(32, onnxtest.Const{Name: "chars", Dims: []int64{4}, Data: []float32{7, 7, 1, 3}})
	if err := g.Write(filepath.Join(dir, "plate.onnx")); err != nil {
		t.Fatal(err)
	}
	const name = "NvDsInferParseTestPlate"
	cfg := "[property]\nnetwork-type=1\nonnx-file=plate.onnx\ngie-unique-id=3\nclassifier-threshold=0.4\n" +
		"parse-classifier-func-name=" + name + "\ncustom-lib-path=/opt/libplate.so\n"
	_, err := newElement(t, dir, "c.txt", cfg, nil)
	if !errors.Is(err, ErrCParser) || !strings.Contains(err.Error(), "vidflow.RegisterClassifierParser") || !strings.Contains(err.Error(), "libplate.so") {
		t.Fatalf("unregistered C parser: %v", err)
	}
	var threshold float32
	err = RegisterClassifierParser(name, func(layers []bbox.Layer, info bbox.Info, dst []media.Classification) ([]media.Classification, error) {
		threshold = info.Threshold
		label := ""
		for _, v := range layers[0].Data {
			label += string(rune('A' + int(v)))
		}
		return append(dst, media.Classification{ClassID: 0, Label: label, Confidence: 0.9}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := RegisterClassifierParser(strings.ToLower(name), nil); err == nil {
		t.Error("a nil parser was registered")
	}
	r := startRunner(t, dir, "c.txt", cfg, nil)
	b := batch(1, 32, 32)
	defer b.Release()
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	cl, _ := b.Meta().Frames[0].User[media.UserClassifications].([]media.Classification)
	if len(cl) != 1 || cl[0].Label != "HHBD" || cl[0].ComponentID != 3 || !approx(threshold, 0.4) {
		t.Errorf("attributes %+v (threshold %v), want HHBD from component 3 (0.4)", cl, threshold)
	}
}
