package service

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// writeStandIn writes a detector whose one box is of class cls, and a
// config for it.
func writeStandIn(t *testing.T, dir, name string, cls int) (config, model string) {
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
	os.WriteFile(config, []byte("[property]\nonnx-file="+name+".onnx\nlabelfile-path=labels.txt\nnum-detected-classes=8\n"+
		"cluster-mode=2\ngie-unique-id=1\nbatch-size=1\nparse-bbox-func-name=yolov8\n"), 0o644)
	return config, model
}

// The running model swapped over REST: frames carry the new model's
// results afterwards; files outside the allowed folders, bad models and
// malformed bodies are refused, and the model goes on.
func TestModelUpdateOverREST(t *testing.T) {
	if _, err := infer.InitORT(""); err != nil {
		t.Skip(err)
	}
	leakCheck(t)
	dir, other := t.TempDir(), t.TempDir()
	cfg, _ := writeStandIn(t, dir, "five", 5)
	_, six := writeStandIn(t, dir, "six", 6)
	_, outside := writeStandIn(t, other, "seven", 7)
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	var class atomic.Int64
	class.Store(-1)
	yml := fmt.Sprintf(`
sources:
  source-list:
    - {uri: "testsrc://?is-live=true&framerate=30", sensor-id: a}
max-batch-size: 1
width: 64
height: 48
live-view: {enable: false}
infer: {config: %q}
rest: {allow-folders: [%q]}
`, cfg, dir)
	h := startService(t, yml, Options{Probe: func(m *media.BatchMeta) {
		for _, f := range m.Frames {
			for _, o := range f.Objects {
				class.Store(int64(o.ClassID))
			}
		}
	}})
	waitFor(t, 10*time.Second, "the first model's results", func() bool { return class.Load() == 5 })
	if code, m := h.do("POST", "/api/v1/infer/model", fmt.Sprintf(`{"model":{"onnx_file":%q}}`, six)); code != 200 || m["reason"] != "MODEL_UPDATE_SUCCESS" {
		t.Fatalf("infer/model: %d %v", code, m)
	}
	waitFor(t, 10*time.Second, "the new model's results", func() bool { return class.Load() == 6 })
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{fmt.Sprintf(`{"model":{"onnx_file":%q}}`, outside), 403, "allowed folders"},
		{fmt.Sprintf(`{"model":{"onnx_file":%q}}`, garbage), 422, "six.onnx goes on running"},
		{fmt.Sprintf(`{"model":{"config_file":%q}}`, filepath.Join(dir, "missing.yml")), 422, "not a readable file"},
		{`{"model":{"onnx_file":"relative.onnx"}}`, 422, "absolute"},
		{fmt.Sprintf(`{"model":{"onnx_file":%q,"config_file":%q}}`, six, cfg), 400, "one of"},
		{`{"stream":{}}`, 400, `missing "model"`},
	} {
		code, m := h.do("POST", "/api/v1/infer/model", c.body)
		if msg := fmt.Sprint(m); code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %v, want %d and %q", c.body, code, m, c.code, c.want)
		}
	}
	time.Sleep(100 * time.Millisecond) // frames after the refusals
	if class.Load() != 6 {
		t.Errorf("class %d after the refusals, want 6 (the model that runs)", class.Load())
	}
}
