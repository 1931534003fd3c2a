package modelconv

import (
	"bufio"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
)

// End-to-end tests of the converted CenterNet-MobileNetV3 model on real
// photos. They need the files scripts/setup-model.sh puts in the cache and
// skip otherwise.

const (
	cnSize    = 512
	cnGrid    = 128
	cnClasses = 80
)

type cnFiles struct {
	onnx, tfjs, labels, images string
}

// cachedCenterNet loads the set-up cache's TF.js CenterNet, or skips.
func cachedCenterNet(t *testing.T) (cnFiles, *Model) {
	t.Helper()
	f := centerNetFiles(t)
	if _, err := os.Stat(f.tfjs); err != nil {
		t.Skipf("%s not in the cache; run scripts/setup-model.sh", f.tfjs)
	}
	m, err := LoadModel(f.tfjs)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

func centerNetFiles(t *testing.T) cnFiles {
	t.Helper()
	dir := cacheDir()
	f := cnFiles{
		onnx:   filepath.Join(dir, "models", "centernet", "centernet.onnx"),
		tfjs:   filepath.Join(dir, "models", "centernet", "tfjs", "centernet.json"),
		labels: filepath.Join(dir, "models", "centernet", "labels.txt"),
		images: filepath.Join(dir, "media", "images"),
	}
	for _, p := range []string{f.onnx, f.labels, filepath.Join(f.images, "dog.jpg"), filepath.Join(f.images, "person.jpg")} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not in the cache; run scripts/setup-model.sh to enable this test", p)
		}
	}
	requireORT(t)
	return f
}

func readLabels(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if len(out) != cnClasses {
		t.Fatalf("%s has %d labels, want %d", path, len(out), cnClasses)
	}
	return out
}

// loadInput decodes a JPEG and stretches it to 512x512 RGB float32 0..255
// (NHWC) with a half-pixel-centred bilinear filter.
func loadInput(t *testing.T, path string) (data []float32, w, h int) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := jpeg.Decode(fh)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	src := make([]float32, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := (y*w + x) * 3
			src[i], src[i+1], src[i+2] = float32(r>>8), float32(g>>8), float32(bl>>8)
		}
	}
	return resizeBilinear(src, w, h, cnSize, cnSize), w, h
}

func resizeBilinear(src []float32, w, h, ow, oh int) []float32 {
	dst := make([]float32, ow*oh*3)
	sx, sy := float64(w)/float64(ow), float64(h)/float64(oh)
	for y := 0; y < oh; y++ {
		fy := max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), h-1)
		y1 := min(y0+1, h-1)
		ly := float32(fy - float64(y0))
		for x := 0; x < ow; x++ {
			fx := max((float64(x)+0.5)*sx-0.5, 0)
			x0 := min(int(fx), w-1)
			x1 := min(x0+1, w-1)
			lx := float32(fx - float64(x0))
			for c := 0; c < 3; c++ {
				a := src[(y0*w+x0)*3+c]*(1-lx) + src[(y0*w+x1)*3+c]*lx
				bb := src[(y1*w+x0)*3+c]*(1-lx) + src[(y1*w+x1)*3+c]*lx
				dst[(y*ow+x)*3+c] = a*(1-ly) + bb*ly
			}
		}
	}
	return dst
}

// detectThreshold is the heat threshold of the end-to-end test. It is a
// little low because the model, like its TF.js original (checked to 7e-7),
// scores person.jpg's horse 0.28 as "horse" and 0.30 as "sheep".
const detectThreshold = 0.2

func decode(t *testing.T, heat, wh []float32, imgW, imgH int) []bbox.Detection {
	t.Helper()
	dets, err := parsers.DecodeCenterNet(nil, heat, wh, parsers.CenterNetConfig{
		Classes: cnClasses, Height: cnGrid, Width: cnGrid, Stride: 4,
		Threshold: detectThreshold, IoU: 0.5, TopK: 100, ClipW: cnSize, ClipH: cnSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	parsers.ScaleDetections(dets, float32(imgW)/cnSize, float32(imgH)/cnSize)
	return dets
}

type expected struct {
	classes        []string // any of these
	x1, y1, x2, y2 float32  // reference box in image pixels
}

func checkFound(t *testing.T, labels []string, dets []bbox.Detection, want []expected) {
	t.Helper()
	for _, e := range want {
		best, bestIoU := -1, float32(0)
		for i, d := range dets {
			if !slices.Contains(e.classes, labels[d.ClassID]) {
				continue
			}
			if iou := parsers.IoU(d, bbox.Detection{X1: e.x1, Y1: e.y1, X2: e.x2, Y2: e.y2}); iou > bestIoU {
				best, bestIoU = i, iou
			}
		}
		if best < 0 || bestIoU < 0.5 {
			t.Errorf("no %v near (%.0f,%.0f)-(%.0f,%.0f) (best IoU %.2f)", e.classes, e.x1, e.y1, e.x2, e.y2, bestIoU)
			continue
		}
		d := dets[best]
		t.Logf("found %-8s score %.3f box (%.0f,%.0f)-(%.0f,%.0f) IoU %.2f", labels[d.ClassID], d.Score, d.X1, d.Y1, d.X2, d.Y2, bestIoU)
	}
}

func logDetections(t *testing.T, name string, labels []string, dets []bbox.Detection) {
	t.Helper()
	var b strings.Builder
	for _, d := range dets {
		fmt.Fprintf(&b, "\n  %-10s %.3f (%.0f,%.0f)-(%.0f,%.0f)", labels[d.ClassID], d.Score, d.X1, d.Y1, d.X2, d.Y2)
	}
	t.Logf("%s: %d detections%s", name, len(dets), b.String())
}

func TestCenterNetDetectsKnownObjects(t *testing.T) {
	f := centerNetFiles(t)
	labels := readLabels(t, f.labels)
	onnx, err := os.ReadFile(f.onnx)
	if err != nil {
		t.Fatal(err)
	}
	sess := newORTSession(t, onnx, "images", []string{"heat", "wh"})

	cases := []struct {
		image string
		want  []expected
	}{
		// Reference boxes: the well-known objects of darknet's sample photos.
		{"dog.jpg", []expected{
			{[]string{"dog"}, 130, 220, 310, 540},
			{[]string{"bicycle"}, 130, 125, 570, 445},
			{[]string{"truck", "car"}, 470, 75, 690, 170},
		}},
		{"person.jpg", []expected{
			{[]string{"person"}, 190, 95, 275, 380},
			{[]string{"horse"}, 400, 130, 600, 345},
			{[]string{"dog"}, 60, 265, 205, 345},
		}},
	}
	var batch []float32
	var single [][]bbox.Detection
	for _, c := range cases {
		t.Run(c.image, func(t *testing.T) {
			in, w, h := loadInput(t, filepath.Join(f.images, c.image))
			batch = append(batch, in...)
			outs, shapes := sess.run(t, []int64{1, cnSize, cnSize, 3}, in)
			if !slices.Equal(shapes[0], []int64{1, cnClasses, cnGrid, cnGrid}) || !slices.Equal(shapes[1], []int64{1, 4, cnGrid, cnGrid}) {
				t.Fatalf("output shapes %v %v", shapes[0], shapes[1])
			}
			dets := decode(t, outs[0], outs[1], w, h)
			single = append(single, dets)
			logDetections(t, c.image, labels, dets)
			checkFound(t, labels, dets, c.want)
		})
	}

	t.Run("batch2", func(t *testing.T) {
		if len(single) != 2 {
			t.Skip("single-image runs failed")
		}
		outs, shapes := sess.run(t, []int64{2, cnSize, cnSize, 3}, batch)
		if shapes[0][0] != 2 || shapes[1][0] != 2 {
			t.Fatalf("batch output shapes %v %v", shapes[0], shapes[1])
		}
		hs, ws := cnClasses*cnGrid*cnGrid, 4*cnGrid*cnGrid
		for i := range 2 {
			_, w, h := loadInput(t, filepath.Join(f.images, cases[i].image))
			dets := decode(t, outs[0][i*hs:(i+1)*hs], outs[1][i*ws:(i+1)*ws], w, h)
			if len(dets) != len(single[i]) {
				t.Errorf("image %d: batch run found %d objects, single run %d", i, len(dets), len(single[i]))
				continue
			}
			for j := range dets {
				if dets[j].ClassID != single[i][j].ClassID || math.Abs(float64(dets[j].Score-single[i][j].Score)) > 1e-4 {
					t.Errorf("image %d det %d: batch %+v vs single %+v", i, j, dets[j], single[i][j])
				}
			}
		}
	})

	t.Run("timing", func(t *testing.T) {
		in, _, _ := loadInput(t, filepath.Join(f.images, "dog.jpg"))
		sess.run(t, []int64{1, cnSize, cnSize, 3}, in) // warm-up
		var times []time.Duration
		for range 5 {
			start := time.Now()
			sess.run(t, []int64{1, cnSize, cnSize, 3}, in)
			times = append(times, time.Since(start))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		t.Logf("CenterNet 512x512 inference, 1 intra-op thread: median %v (min %v, max %v)", times[2], times[0], times[4])
	})
}

// The in-memory conversion of the cached TF.js model must give the same
// results as the cached ONNX file (catches a stale cache after converter
// changes) and the documented input/output layout.
func TestCenterNetConversionMatchesCache(t *testing.T) {
	f, m := cachedCenterNet(t)
	p, ok := DetectPreset(m)
	if !ok || p.Name != "centernet" {
		t.Fatalf("preset not detected")
	}
	res, err := Convert(m, p.Options)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Inputs) != 1 || res.Inputs[0].Name != "images" || !slices.Equal(res.Inputs[0].Shape, []int64{-1, cnSize, cnSize, 3}) {
		t.Errorf("inputs %+v", res.Inputs)
	}
	if len(res.Outputs) != 2 || !slices.Equal(res.Outputs[0].Shape, []int64{-1, cnClasses, cnGrid, cnGrid}) || !slices.Equal(res.Outputs[1].Shape, []int64{-1, 4, cnGrid, cnGrid}) {
		t.Errorf("outputs %+v", res.Outputs)
	}
	cached, err := os.ReadFile(f.onnx)
	if err != nil {
		t.Fatal(err)
	}
	in, _, _ := loadInput(t, filepath.Join(f.images, "person.jpg"))
	a, _ := newORTSession(t, res.ONNX, "images", []string{"heat", "wh"}).run(t, []int64{1, cnSize, cnSize, 3}, in)
	b, _ := newORTSession(t, cached, "images", []string{"heat", "wh"}).run(t, []int64{1, cnSize, cnSize, 3}, in)
	for o := range a {
		var worst float64
		for i := range a[o] {
			worst = max(worst, math.Abs(float64(a[o][i]-b[o][i])))
		}
		if worst > 1e-5 {
			t.Errorf("output %d differs from the cached model by %g: delete %s and re-run scripts/setup-model.sh", o, worst, f.onnx)
		}
	}
}
