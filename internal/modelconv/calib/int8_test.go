package calib

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/elements/infer"
)

// floors are docs/infer.md's thresholds: the INT8 detector's precision
// and recall against the float one on the test's frames of the sample
// video, by class — a few points under what the set-up model measures
// there (person 0.94/0.93, car 0.78/0.87, all 0.91/0.73 on the whole
// video), so that a converter or calibration change that loses accuracy
// fails. They are below the 0.95 of issue 21's target: docs/infer.md says
// why.
var floors = map[int]struct {
	name              string
	precision, recall float64
}{
	0:  {"person", 0.88, 0.90},
	2:  {"car", 0.65, 0.85},
	-1: {"all classes", 0.82, 0.68},
}

// needINT8 returns the float and INT8 models and the sample video, or
// skips the test when set-up has not made them.
func needINT8(t *testing.T) (floatModel, int8Model []byte, video, photos string) {
	t.Helper()
	dir := config.CacheDir()
	video = filepath.Join(dir, "media", "vtest.mp4")
	photos = filepath.Join(dir, "media", "images")
	for _, p := range []string{"models/centernet/centernet.onnx", "models/centernet/centernet_int8.onnx", "media/vtest.mp4", "media/images/dog.jpg"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Skipf("%s is not in the cache; run scripts/setup-model.sh to enable this test", p)
		}
	}
	if err := InitORT(""); err != nil {
		t.Skip(err)
	}
	var err error
	if floatModel, err = os.ReadFile(filepath.Join(dir, "models/centernet/centernet.onnx")); err != nil {
		t.Fatal(err)
	}
	if int8Model, err = os.ReadFile(filepath.Join(dir, "models/centernet/centernet_int8.onnx")); err != nil {
		t.Fatal(err)
	}
	return floatModel, int8Model, video, photos
}

// The INT8 detector agrees with the float one on one frame in 16 of the
// sample video (50 frames, about 10 s on 2 cores; `go run
// ./internal/modelconv/cmd/int8 -check` does every frame).
func TestInt8AgreesWithFloatOnVideo(t *testing.T) {
	fm, qm, video, _ := needINT8(t)
	onVideo, _, err := Check(context.Background(), fm, qm, video, nil, 16, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", onVideo.Report(map[int]string{0: "person", 2: "car"}))
	for id, f := range floors {
		c := onVideo.Class(id)
		if c.Ref < 10 {
			t.Errorf("%s: only %d float detections: the test's frames say nothing", f.name, c.Ref)
		}
		if c.Precision() < f.precision || c.Recall() < f.recall {
			t.Errorf("%s: INT8 precision %.4f, recall %.4f against float: want >= %.2f and %.2f", f.name, c.Precision(), c.Recall(), f.precision, f.recall)
		}
	}
}

type wantBox struct {
	class          int     // COCO id
	x1, y1, x2, y2 float32 // in the photo's pixels
}

// The photo check of the infer tests (darknet's dog.jpg and person.jpg,
// each reference object found at IoU > 0.5) on the INT8 detector, and its
// config opened as the nvinfer element opens it.
func TestInt8FindsThePhotosObjects(t *testing.T) {
	_, qm, _, photos := needINT8(t)
	d, err := NewDetector(qm, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct {
		photo string
		w, h  float32
		want  []wantBox
	}{
		{"dog.jpg", 768, 576, []wantBox{{16, 124, 207, 312, 543}, {1, 111, 125, 564, 446}, {2, 473, 81, 684, 165}}},
		{"person.jpg", 640, 424, []wantBox{{0, 187, 110, 276, 375}, {16, 67, 264, 201, 348}, {17, 398, 136, 603, 342}}},
	} {
		frames, err := Photos(context.Background(), []string{filepath.Join(photos, c.photo)})
		if err != nil {
			t.Fatal(err)
		}
		dets, err := d.Detect(frames[0])
		if err != nil {
			t.Fatal(err)
		}
		sx, sy := Size/c.w, Size/c.h
		for _, w := range c.want {
			ref := detection(w.class, w.x1*sx, w.y1*sy, w.x2*sx, w.y2*sy)
			best := float32(0)
			for _, g := range dets {
				if g.ClassID == w.class {
					best = max(best, iou(ref, g))
				}
			}
			if best <= 0.5 {
				t.Errorf("%s: no class %d with IoU > 0.5 near (%.0f,%.0f)-(%.0f,%.0f) (best %.2f); detections %v", c.photo, w.class, w.x1, w.y1, w.x2, w.y2, best, dets)
			}
		}
	}
	cfg := filepath.Join("..", "..", "..", "configs", "config_infer_primary_int8.yml")
	m, err := infer.OpenBareModel(cfg, 1, 1)
	if err != nil {
		t.Fatalf("%s: %v", cfg, err)
	}
	defer m.Close()
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
}

func detection(class int, x1, y1, x2, y2 float32) bbox.Detection {
	return bbox.Detection{ClassID: class, Score: 1, X1: x1, Y1: y1, X2: x2, Y2: y2}
}
