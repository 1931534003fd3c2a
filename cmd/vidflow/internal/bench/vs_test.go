package bench

import (
	"path/filepath"
	"strings"
	"testing"
)

// infer -vs: both configs' bare models at each batch size, one row each
// (named by config), and the ratio line after the table.
func TestBenchInferVs(t *testing.T) {
	root := benchSetup(t, true)
	float := filepath.Join(root, "configs/config_infer_primary.yml")
	rep, out := runBench(t, "-config", float, "-vs", float, "-res", "576p", "-repeat", "2",
		"-streams", "1", "-threads", "1", "-sessions", "1", "-infer-seconds", "0.2", "infer")
	rows := rowsOf(rep, "infer", "float 1x1")
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2 (the config and -vs)", len(rows))
	}
	for _, r := range rows {
		if r.FPS <= 0 || r.Batch != 1 || len(r.Runs) != 2 {
			t.Errorf("row %+v", r)
		}
	}
	if !strings.Contains(out, "infer -vs, batch 1, 1x1: float") || !strings.Contains(out, "CPU a frame") {
		t.Errorf("no ratio line:\n%s", out)
	}
}
