package infer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// With input-tensor-meta a primary nvinfer infers on the regions an
// nvdspreprocess for its gie-unique-id gave the frame, each mapped back to
// the frame; a frame without them, or with regions for another element,
// is not inferred on (as DeepStream's nvinfer reads only the prepared
// tensors).
func TestInputTensorMetaRegions(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	// One box at (8,8)-(24,24) of the 64x64 network input.
	g := onnxtest.ConstantOutputsNamed("input", 64, 64, onnxtest.Const{Name: "output", Dims: []int64{1, 6}, Data: []float32{8, 8, 24, 24, 0.9, 0}})
	if err := g.Write(filepath.Join(dir, "m.onnx")); err != nil {
		t.Fatal(err)
	}
	r := startRunner(t, dir, "p.txt", "[property]\nonnx-file=m.onnx\ngie-unique-id=1\ninput-tensor-meta=1\nparse-bbox-func-name=NvDsInferParseYolo\ncluster-mode=4\n", nil)
	b := batch(3, 320, 240)
	defer b.Release()
	frames := b.Meta().Frames
	// Frame 0: two regions, one the network's size, one twice it.
	frames[0].User = map[string]any{media.PreprocessKey: &media.PreprocessMeta{TargetIDs: []int{1},
		ROIs: []media.Rect{{Left: 100, Top: 50, Width: 64, Height: 64}, {Left: 0, Top: 100, Width: 128, Height: 128}}}}
	// Frame 1: regions for another element; frame 2: none.
	frames[1].User = map[string]any{media.PreprocessKey: &media.PreprocessMeta{TargetIDs: []int{2}, ROIs: []media.Rect{{Width: 64, Height: 64}}}}
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	objs := frames[0].Objects
	if len(objs) != 2 || !rectNear(objs[0].Rect, media.Rect{Left: 108, Top: 58, Width: 16, Height: 16}) ||
		!rectNear(objs[1].Rect, media.Rect{Left: 16, Top: 116, Width: 32, Height: 32}) {
		t.Errorf("frame 0 objects %+v %+v", objs[0], objs)
	}
	if len(frames[1].Objects)+len(frames[2].Objects) != 0 {
		t.Errorf("frames without this element's regions got %d and %d objects", len(frames[1].Objects), len(frames[2].Objects))
	}
}

// A secondary nvinfer with input-tensor-meta works on the objects an
// nvdspreprocess in object mode chose for it, not on its own selection.
func TestInputTensorMetaObjects(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	if err := onnxtest.ConstantOutputs(32, onnxtest.Const{Name: "prob", Dims: []int64{2}, Data: []float32{0.2, 0.8}}).Write(filepath.Join(dir, "c.onnx")); err != nil {
		t.Fatal(err)
	}
	r := startRunner(t, dir, "s.txt", "[property]\nonnx-file=c.onnx\nnetwork-type=1\nprocess-mode=2\ngie-unique-id=3\ninput-tensor-meta=1\nclassifier-threshold=0.5\n", nil)
	b := batch(1, 64, 64)
	defer b.Release()
	fm := b.Meta().Frames[0]
	chosen := media.NewObject(0, "", 1, media.Rect{Left: 4, Top: 4, Width: 20, Height: 20})
	other := media.NewObject(0, "", 1, media.Rect{Left: 30, Top: 30, Width: 20, Height: 20})
	fm.Objects = []*media.ObjectMeta{chosen, other}
	fm.User = map[string]any{media.PreprocessKey: &media.PreprocessMeta{TargetIDs: []int{3}, Objects: []*media.ObjectMeta{chosen}}}
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(chosen.Classifications) != 1 || chosen.Classifications[0].ClassID != 1 || len(other.Classifications) != 0 {
		t.Errorf("chosen %+v, other %+v", chosen.Classifications, other.Classifications)
	}
}

// The element property (deepstream-preprocess-test sets it on pgie) does
// what the config key does.
func TestInputTensorMetaProperty(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	g := onnxtest.ConstantOutputsNamed("input", 64, 64, onnxtest.Const{Name: "output", Dims: []int64{1, 6}, Data: []float32{8, 8, 24, 24, 0.9, 0}})
	if err := g.Write(filepath.Join(dir, "m.onnx")); err != nil {
		t.Fatal(err)
	}
	r := startRunner(t, dir, "p.txt", "[property]\nonnx-file=m.onnx\ngie-unique-id=1\nparse-bbox-func-name=NvDsInferParseYolo\n", element.Props{"input-tensor-meta": true})
	b := batch(2, 64, 64)
	defer b.Release()
	b.Meta().Frames[1].User = map[string]any{media.PreprocessKey: &media.PreprocessMeta{ROIs: []media.Rect{{Width: 64, Height: 64}}}}
	if err := r.process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n0, n1 := len(b.Meta().Frames[0].Objects), len(b.Meta().Frames[1].Objects); n0 != 0 || n1 != 1 {
		t.Errorf("objects %d and %d, want 0 (no regions) and 1", n0, n1)
	}
}
