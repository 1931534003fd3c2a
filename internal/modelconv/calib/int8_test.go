package calib

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/elements/infer"
)

// floors are docs/infer.md's thresholds: the INT8 detector's precision
// and recall against the float one on the test's frames of the sample
// video, by class. Persons: issue 21's 0.95 (the set-up model measures
// 0.951/0.958 on the whole video, 0.961/0.968 on these 50 frames). Cars
// and all classes: a few points under what the model measures on these
// frames (car 0.81/0.92, all 0.94/0.82), so that a converter or
// calibration change that loses accuracy fails; they are below 0.95
// because the clip's cars are four parked ones whose float scores sit at
// the threshold (docs/infer.md: a score noise of 0.005 alone would cost
// car precision 0.05).
var floors = map[int]struct {
	name              string
	precision, recall float64
}{
	0:  {"person", 0.95, 0.95},
	2:  {"car", 0.75, 0.88},
	-1: {"all classes", 0.90, 0.78},
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
	classes        []int   // COCO ids, any of them (the infer tests' label sets)
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
		// The objects and labels of infer_test.go's dogObjects and
		// personObjects: car or truck, horse or sheep (the float model
		// itself scores that animal sheep 0.34, horse 0.25).
		{"dog.jpg", 768, 576, []wantBox{{[]int{16}, 124, 207, 312, 543}, {[]int{1}, 111, 125, 564, 446}, {[]int{2, 7}, 473, 81, 684, 165}}},
		{"person.jpg", 640, 424, []wantBox{{[]int{0}, 187, 110, 276, 375}, {[]int{16}, 67, 264, 201, 348}, {[]int{17, 18}, 398, 136, 603, 342}}},
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
			ref := detection(w.classes[0], w.x1*sx, w.y1*sy, w.x2*sx, w.y2*sy)
			best := float32(0)
			for _, g := range dets {
				if slices.Contains(w.classes, g.ClassID) {
					best = max(best, iou(ref, g))
				}
			}
			if best <= 0.5 {
				t.Errorf("%s: no class of %v with IoU > 0.5 near (%.0f,%.0f)-(%.0f,%.0f) (best %.2f); detections %v", c.photo, w.classes, w.x1, w.y1, w.x2, w.y2, best, dets)
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
