package vidflow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// standIn writes a stand-in detector: a YOLOv8-style model whose only box
// is of class cls whatever the image, and its nvinfer config (the default
// detector's gie-unique-id, so results look alike downstream).
func standIn(t *testing.T, dir, name string, cls int) (config, model string) {
	t.Helper()
	const classes, anchors = 8, 3
	out := make([]float32, (4+classes)*anchors)
	out[0], out[anchors], out[2*anchors], out[3*anchors] = 32, 32, 16, 8
	out[(4+cls)*anchors] = 0.9
	model = filepath.Join(dir, name+".onnx")
	if err := onnxtest.ConstantDetector(64, 4+classes, anchors, out).Write(model); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("a\nb\nc\nd\ne\nf\ng\nh\n"), 0o644)
	config = filepath.Join(dir, name+".txt")
	text := "[property]\nonnx-file=" + name + ".onnx\nlabelfile-path=labels.txt\nnum-detected-classes=8\ncluster-mode=2\n" +
		"gie-unique-id=1\nbatch-size=1\nparse-bbox-func-name=yolov8\n"
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return config, model
}

// The default detector runs on the sample video; from a probe, its
// config is swapped for a stand-in's (config-file-path), then bad models
// are refused while the stand-in goes on, then the stand-in's ONNX file is
// swapped (model-engine-file). Every frame arrives, inferred by exactly
// one model; each model's frames are one run.
func TestModelUpdateOnTheFly(t *testing.T) {
	needModel(t)
	clip := h264Clip(t, 40)
	for _, sessions := range []int{1, 2} {
		t.Run(fmt.Sprintf("sessions=%d", sessions), func(t *testing.T) { modelUpdate(t, clip, sessions) })
	}
}

func modelUpdate(t *testing.T, clip string, sessions int) {
	dir := t.TempDir()
	cfgA, _ := standIn(t, dir, "five", 5)
	_, modelB := standIn(t, dir, "six", 6)
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("not a model"), 0o644)

	p := vidflow.NewPipeline("otf")
	var mu sync.Mutex
	byFrame := map[int64]string{}
	var refusals []error
	var swapErr error
	probe := func(m *media.BatchMeta) {
		for _, f := range m.Frames {
			kind := "centernet"
			for _, o := range f.Objects {
				if o.ClassID == 5 || o.ClassID == 6 {
					kind = []string{"five", "six"}[o.ClassID-5]
				}
			}
			if kind == "centernet" && len(f.Objects) == 0 {
				kind = "none"
			}
			mu.Lock()
			byFrame[f.FrameNumber] = kind
			mu.Unlock()
			switch f.FrameNumber {
			case 8:
				swapErr = p.SetProperty("pgie", "config-file-path", cfgA)
			case 18:
				for _, bad := range []struct{ prop, val string }{
					{"model-engine-file", garbage},
					{"model-engine-file", filepath.Join(dir, "m.engine")},
					{"config-file-path", filepath.Join(dir, "missing.txt")},
				} {
					refusals = append(refusals, p.SetProperty("pgie", bad.prop, bad.val))
				}
			case 26:
				if err := p.SetProperty("pgie", "model-engine-file", modelB); err != nil && swapErr == nil {
					swapErr = err
				}
			}
		}
	}
	var infos []string
	p.OnMessage(func(m element.Message) {
		if i, ok := m.(*element.InfoMessage); ok && strings.Contains(i.Text, "model updated") {
			mu.Lock()
			infos = append(infos, i.Text)
			mu.Unlock()
		}
	})
	err := vidflow.NewFlow(p).BatchCapture([]string{clip}).
		Infer(yamlConfig, vidflow.Name("pgie"), vidflow.Props{"sessions": sessions}).Attach(probe).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil || swapErr != nil {
		t.Fatal(err, swapErr)
	}
	// Every frame, in one run per model: centernet (people walking), five, six.
	var runs []string
	for n := int64(0); n < 40; n++ {
		k, ok := byFrame[n]
		if !ok {
			t.Fatalf("frame %d lost", n)
		}
		if k == "none" {
			k = "centernet" // a frame where the detector saw nobody
		}
		if len(runs) == 0 || runs[len(runs)-1] != k {
			runs = append(runs, k)
		}
	}
	if strings.Join(runs, ",") != "centernet,five,six" {
		t.Errorf("models by frame: %v, want centernet, then five, then six", runs)
	}
	if byFrame[0] == "none" {
		t.Error("the default detector found nobody on the first frame")
	}
	if len(infos) != 2 {
		t.Errorf("update messages %q, want 2", infos)
	}
	want := []string{"garbage.onnx", "TensorRT engine", "missing.txt"}
	for i, err := range refusals {
		if err == nil || !strings.Contains(err.Error(), want[i]) || !strings.Contains(err.Error(), "five.onnx goes on running") {
			t.Errorf("bad update %d: %v, want it refused naming %q and the model that goes on", i, err, want[i])
		}
	}
}

// A watched model file is loaded when it changes (and then stays the
// same for a poll); a bad one is refused and the running model goes on.
func TestWatchModel(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	cfgFive, modelFive := standIn(t, dir, "five", 5)
	_, modelSix := standIn(t, dir, "six", 6)
	watched := filepath.Join(dir, "watched.onnx")
	copyFile := func(from string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(watched, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(modelFive)
	p := vidflow.NewPipeline("watch")
	var mu sync.Mutex
	last := -1
	probe := func(m *media.BatchMeta) {
		for _, f := range m.Frames {
			for _, o := range f.Objects {
				mu.Lock()
				last = o.ClassID
				mu.Unlock()
			}
		}
	}
	lastClass := func() int { mu.Lock(); defer mu.Unlock(); return last }
	f := vidflow.NewFlow(p).BatchCapture([]string{"testsrc://?is-live=true&width=64&height=48"}).
		Infer(cfgFive, vidflow.Name("pgie")).Attach(probe).Render(vidflow.RenderDiscard)
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	outcomes := make(chan error, 4)
	mon, err := p.WatchModel("pgie", watched, 20*time.Millisecond, func(err error) { outcomes <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Stop()
	wait := func(what string) error {
		select {
		case err := <-outcomes:
			return err
		case <-time.After(20 * time.Second):
			t.Fatalf("no update after %s", what)
		}
		return nil
	}
	time.Sleep(50 * time.Millisecond) // a later modification time than the copy's
	copyFile(modelSix)
	if err := wait("six.onnx was copied over"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); lastClass() != 6; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("frames still have class %d after the update", lastClass())
		}
	}
	os.WriteFile(watched, []byte("half a model"), 0o644)
	if err := wait("garbage was written"); err == nil || !strings.Contains(err.Error(), "goes on running") {
		t.Errorf("a bad watched model: %v", err)
	}
	if mon.Updates() != 1 || lastClass() != 6 {
		t.Errorf("%d updates, class %d after the bad one", mon.Updates(), lastClass())
	}
}
