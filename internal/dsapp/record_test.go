package dsapp_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vidflow/vidflow/internal/dsapp"
)

// deepstream-app's smart-record keys of a [source%d] become the source's
// smart-rec-* properties, the folder relative to the config file.
func TestLoadSmartRecord(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rec"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.mp4"), nil, 0o644)
	cfg := filepath.Join(dir, "app.txt")
	os.WriteFile(cfg, []byte("[source0]\nenable=1\ntype=3\nuri=file://a.mp4\nnum-sources=2\nsmart-record=2\nsmart-rec-dir-path=rec\n"+
		"smart-rec-file-prefix=cam\nsmart-rec-cache=10\nsmart-rec-container=1\nsmart-rec-default-duration=5\nsmart-rec-mode=1\nsmart-rec-interval=7\n"+
		"[sink0]\nenable=1\ntype=1\n"), 0o644)
	a, err := dsapp.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"smart-record": 2, "smart-rec-dir-path": filepath.Join(dir, "rec"), "smart-rec-file-prefix": "cam",
		"smart-rec-cache": 10, "smart-rec-container": 1, "smart-rec-default-duration": 5, "smart-rec-mode": 1}
	for _, s := range a.Sources {
		for k, v := range want {
			if s.Props[k] != v {
				t.Errorf("%s: %s = %v, want %v", s.Group, k, s.Props[k], v)
			}
		}
	}
	if ev := a.Sources[0].SmartRecord; ev == nil || *ev != (dsapp.SmartRecordEvents{Interval: 7 * time.Second, StartTime: 7 * time.Second, Duration: 8 * time.Second}) {
		t.Errorf("local events %+v: want every 7 s (smart-rec-interval), 7 s back and 8 s on (deepstream-app's defaults)", ev)
	}
	os.WriteFile(cfg, []byte("[source0]\nenable=1\ntype=2\nuri=file://a.mp4\nsmart-record=2\nsmart-rec-dir-path=missing\n[sink0]\nenable=1\ntype=1\n"), 0o644)
	if _, err := dsapp.Load(cfg); err == nil {
		t.Error("a missing smart-rec-dir-path loaded")
	}
}
