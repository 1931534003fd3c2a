package main

import (
	"os"
	"path/filepath"
	"testing"
)

// vidflow run's default detector: INT8 when set-up made its model and the
// config is there, float otherwise, with -float, or with -config.
func TestChooseDetector(t *testing.T) {
	cache, work := t.TempDir(), t.TempDir()
	t.Setenv("VIDFLOW_CACHE", cache)
	t.Chdir(work)
	if got := chooseDetector(floatConfig, false, false); got != floatConfig {
		t.Fatalf("without the INT8 model: %s", got)
	}
	model := filepath.Join(cache, "models", "centernet", "centernet_int8.onnx")
	for _, p := range []string{model, int8Config} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		cfg             string
		explicit, float bool
		want            string
	}{
		{floatConfig, false, false, int8Config},
		{floatConfig, false, true, floatConfig},
		{floatConfig, true, false, floatConfig}, // -config configs/config_infer_primary.yml
		{"mine.yml", true, false, "mine.yml"},
	} {
		if got := chooseDetector(c.cfg, c.explicit, c.float); got != c.want {
			t.Errorf("chooseDetector(%q, explicit %v, float %v) = %q, want %q", c.cfg, c.explicit, c.float, got, c.want)
		}
	}
}
