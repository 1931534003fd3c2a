package infer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// placeSample copies a sample config into a tree of folders deep enough
// for its relative paths, writes the stand-in model where its onnx-file
// points and labels where labelfile-path points, and returns the
// config's folder and name.
func placeSample(t *testing.T, rel string, deep int, model *onnxtest.Graph, labels []string) (string, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 0; i < deep; i++ {
		dir = filepath.Join(dir, "d")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(rel)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(key string, content []byte) {
		sep := "="
		if strings.HasSuffix(rel, ".yml") || strings.HasSuffix(rel, ".yaml") {
			sep = ":"
		}
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), sep); ok && strings.TrimSpace(k) == key {
				p := filepath.Join(dir, strings.TrimSpace(v))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, content, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatalf("%s names no %s", rel, key)
	}
	write("onnx-file", model.Marshal())
	if labels != nil {
		write("labelfile-path", []byte(strings.Join(labels, "\n")+"\n"))
	}
	return dir, name
}

func runSample(t *testing.T, dir, name string, w, h int) []*media.ObjectMeta {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	r := startRunner(t, dir, name, string(text), nil)
	b := batch(1, w, h)
	defer b.Release()
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b.Meta().Frames[0].Objects
}

// deepstream_parallel_inference_app's YOLOv4 config runs unchanged with
// its NvDsInferParseCustomYoloV4 built in, on a stand-in of its batched-NMS
// export (nmsed_boxes [K,4] normalised x1,y1,x2,y2, nmsed_scores [K],
// nmsed_classes [K]; the int32 num_detections of the real export is left
// out, as vidflow reads float outputs, and the parser then reads all K
// rows as the C parser does without it).
func TestYoloV4SampleConfigRuns(t *testing.T) {
	needORT(t)
	labels := make([]string, 80)
	for i := range labels {
		labels[i] = "c" + string(rune('a'+i%26))
	}
	labels[2] = "car"
	model := onnxtest.ConstantOutputsNamed("input", 416, 416,
		onnxtest.Const{Name: "nmsed_boxes", Dims: []int64{3, 4}, Data: []float32{0.25, 0.25, 0.75, 0.5, 0.1, 0.1, 0.2, 0.2, 0, 0, 0, 0}},
		onnxtest.Const{Name: "nmsed_scores", Dims: []int64{3}, Data: []float32{0.9, 0.3, 0}},
		onnxtest.Const{Name: "nmsed_classes", Dims: []int64{3}, Data: []float32{2, 0, 0}})
	dir, name := placeSample(t, "deepstream_reference_apps/deepstream_parallel_inference_app/tritonclient/sample/configs/yolov4/config_yolov4_infer.txt", 4, model, labels)
	// 832x416 letterboxed (maintain-aspect-ratio, padding right and
	// below) into 416x416 at scale 1/2: network (104,104)-(312,208) is
	// frame (208,208)-(624,416).
	objs := runSample(t, dir, name, 832, 416)
	if len(objs) != 1 {
		t.Fatalf("%d objects, want the car only (0.3 is under pre-cluster-threshold 0.4): %+v", len(objs), objs)
	}
	want := media.Rect{Left: 208, Top: 208, Width: 416, Height: 208}
	if o := objs[0]; o.Label != "car" || !approx(o.Confidence, 0.9) || !rectNear(o.Rect, want) {
		t.Errorf("object %q %.2f %+v, want car 0.9 %+v", o.Label, o.Confidence, o.Rect, want)
	}
}

// deepstream_tao_apps' PeopleNet Transformer config runs unchanged with
// its NvDsInferParseCustomDDETRTAO built in, on a stand-in with the
// model's input (3x544x960) and outputs pred_boxes [Q,4] (normalised
// centre, size) and pred_logits [Q,4] (sigmoid logits; class 0 is
// dropped as the TAO parser drops it).
func TestDDETRSampleConfigRuns(t *testing.T) {
	needORT(t)
	model := onnxtest.ConstantOutputsNamed("inputs", 544, 960,
		onnxtest.Const{Name: "pred_boxes", Dims: []int64{3, 4}, Data: []float32{0.5, 0.5, 0.25, 0.5, 0.2, 0.2, 0.1, 0.1, 0.8, 0.8, 0.1, 0.1}},
		onnxtest.Const{Name: "pred_logits", Dims: []int64{3, 4}, Data: []float32{-5, 3, -5, -5, 4, -5, -5, -5, -5, -5, -1, -5}})
	dir, name := placeSample(t, "deepstream_tao_apps/configs/nvinfer/peoplenet_transformer_tao/pgie_peoplenet_transformer_tao_config.txt", 3, model,
		[]string{"BG", "Person", "Face", "Bag"})
	objs := runSample(t, dir, name, 960, 544)
	// Query 0: Person (sigmoid 3 = 0.95); query 1 is class 0 (dropped);
	// query 2 scores sigmoid(-1) = 0.27, under 0.5.
	if len(objs) != 1 {
		t.Fatalf("%d objects, want one person: %+v", len(objs), objs)
	}
	want := media.Rect{Left: 360, Top: 136, Width: 240, Height: 272}
	if o := objs[0]; o.Label != "Person" || !approx(o.Confidence, 0.9526) || !rectNear(o.Rect, want) {
		t.Errorf("object %q %.4f %+v, want Person 0.9526 %+v", o.Label, o.Confidence, o.Rect, want)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// deepstream_tao_apps' US licence plate recogniser config runs unchanged
// with its NvDsInferParseCustomNVPlate built in (dict.txt in the working
// directory, as the C parser reads it), on a stand-in of LPRNet: input
// 3x48x96, outputs tf_op_layer_ArgMax (int, 24 steps) and tf_op_layer_Max;
// repeats collapse, the blank separates, the confidence is the product of
// the characters' probabilities.
func TestLPRSampleConfigRuns(t *testing.T) {
	needORT(t)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "dict.txt"), []byte("A\nB\nC\nD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := make([]float32, 24)
	probs := make([]float32, 24)
	for i := range ids {
		ids[i], probs[i] = 4, 0.99 // the blank
	}
	copy(ids, []float32{0, 0, 4, 1, 1, 2, 4, 3})
	copy(probs, []float32{0.9, 0.9, 0.99, 0.8, 0.7, 0.9, 0.99, 0.5})
	model := onnxtest.ConstantOutputsNamed("image_input", 48, 96,
		onnxtest.Const{Name: "tf_op_layer_ArgMax", Dims: []int64{24}, Data: ids, Int64: true},
		onnxtest.Const{Name: "tf_op_layer_Max", Dims: []int64{24}, Data: probs})
	dir, name := placeSample(t, "deepstream_tao_apps/configs/nvinfer/lpr_us_tao/sgie_lpr_us_config.txt", 3, model, []string{"a", "b", "c"})
	t.Chdir(work)
	r := startRunner(t, dir, name, mustRead(t, filepath.Join(dir, name)), nil)
	b := batch(1, 320, 240)
	defer b.Release()
	plate := media.NewObject(0, "lpd", 0.9, media.Rect{Left: 10, Top: 10, Width: 96, Height: 48})
	plate.ComponentID = 2 // operate-on-gie-id
	b.Meta().Frames[0].Objects = []*media.ObjectMeta{plate}
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if cl := plate.Classifications; len(cl) != 1 || cl[0].Label != "ABCD" || !approx(cl[0].Confidence, 0.9*0.8*0.9*0.5) || cl[0].ComponentID != 3 {
		t.Errorf("plate %+v, want ABCD %.3f from component 3", cl, 0.9*0.8*0.9*0.5)
	}
}

// deepstream_tao_apps' Mask2Former config (YAML) runs unchanged with its
// NvDsInferParseCustomMask2Former built in, on a stand-in with the model's
// input (3x800x800) and outputs pred_masks [Q,H,W], pred_scores [Q] and
// int pred_classes [Q]: an object per query above pre-cluster-threshold
// (0.6), boxed by its mask and keeping it (output-instance-mask).
func TestMask2FormerSampleConfigRuns(t *testing.T) {
	needORT(t)
	const q, mh, mw = 2, 100, 100
	masks := make([]float32, q*mh*mw)
	for y := 20; y < 40; y++ { // query 0: rows 20-39, columns 10-59
		for x := 10; x < 60; x++ {
			masks[y*mw+x] = 1
		}
	}
	masks[mh*mw+5] = 1 // query 1 scores under the threshold
	model := onnxtest.ConstantOutputsNamed("inputs", 800, 800,
		onnxtest.Const{Name: "pred_masks", Dims: []int64{q, mh, mw}, Data: masks},
		onnxtest.Const{Name: "pred_scores", Dims: []int64{q}, Data: []float32{0.9, 0.3}},
		onnxtest.Const{Name: "pred_classes", Dims: []int64{q}, Data: []float32{1, 0}, Int64: true})
	dir, name := placeSample(t, "deepstream_tao_apps/configs/nvinfer/mask2former_tao/pgie_mask2former_tao_config.yml", 3, model, nil)
	r := startRunner(t, dir, name, mustRead(t, filepath.Join(dir, name)), nil)
	b := batch(1, 800, 800)
	defer b.Release()
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	objs := b.Meta().Frames[0].Objects
	if len(objs) != 1 {
		t.Fatalf("%d objects, want 1: %+v", len(objs), objs)
	}
	o, m := objs[0], objs[0].InstanceMask()
	if o.ClassID != 1 || !approx(o.Confidence, 0.9) || !rectNear(o.Rect, media.Rect{Left: 80, Top: 160, Width: 400, Height: 160}) {
		t.Errorf("object %d %.2f %+v", o.ClassID, o.Confidence, o.Rect)
	}
	if m == nil || m.Width != 50 || m.Height != 20 || m.Data[0] != 1 {
		t.Errorf("mask %+v", m)
	}
}
