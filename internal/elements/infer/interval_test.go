package infer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
)

// The interval changes while the element runs (the service's
// /api/v1/infer/set-interval): from the next batch on, with one session
// and with several.
func TestSetIntervalWhileRunning(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	if err := onnxtest.ConstantDetector(64, 12, 3, yoloV8Output(8, 3)).Write(filepath.Join(dir, "v8.onnx")); err != nil {
		t.Fatal(err)
	}
	text := "[property]\nonnx-file=v8.onnx\nnum-detected-classes=8\ncluster-mode=4\n"
	r := startRunner(t, dir, "c.txt", text, nil)
	// inferred runs n batches and says which got objects.
	inferred := func(n int) string {
		var out strings.Builder
		for range n {
			b := batch(1, 64, 64)
			if err := r.process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if len(b.Meta().Frames[0].Objects) > 0 {
				out.WriteByte('x')
			} else {
				out.WriteByte('.')
			}
			b.Release()
		}
		return out.String()
	}
	if got := inferred(3); got != "xxx" {
		t.Fatalf("interval 0: %s", got)
	}
	if err := r.nvinfer.SetProperty("interval", 2); err != nil {
		t.Fatal(err)
	}
	r.batches = 0
	if got := inferred(6); got != "x..x.." {
		t.Errorf("interval 2: %s, want x..x..", got)
	}
	if err := r.nvinfer.SetProperty("interval", float64(0)); err != nil {
		t.Fatal(err)
	}
	if got := inferred(2); got != "xx" {
		t.Errorf("back to interval 0: %s", got)
	}
	for _, c := range []struct {
		name  string
		value any
		want  string
	}{
		{"interval", -1, "must not be negative"},
		{"interval", 1.5, "not a whole number"},
		{"interval", "2", "want an integer"},
		{"batch-size", 4, `property "batch-size" cannot change while running`},
	} {
		if err := r.nvinfer.SetProperty(c.name, c.value); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetProperty(%s, %v): %v, want %q", c.name, c.value, err, c.want)
		}
	}
	var _ element.PropertySetter = r.nvinfer
}
