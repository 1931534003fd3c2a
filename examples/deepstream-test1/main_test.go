package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/examples/internal/sample"
)

func clip(t *testing.T, frames int) string {
	t.Helper()
	if _, err := os.Stat(sample.Video()); err != nil {
		t.Skip("no sample video: run scripts/setup.sh")
	}
	p := filepath.Join(t.TempDir(), "clip.mp4")
	if err := sample.Clip(p, frames); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every frame's count is printed, and the people walking are counted.
func checkCounts(t *testing.T, out string, frames int) {
	t.Helper()
	lines := strings.Count(out, "Object Counter: Pad Idx=0,Frame Number=")
	if lines != frames {
		t.Errorf("%d counter lines, want %d:\n%s", lines, frames, out)
	}
	m := regexp.MustCompile(`Frame Number=0,Vehicle Count=\d+, Person Count=(\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Errorf("frame 0: no person counted:\n%s", out)
	}
}

func TestFlowAPI(t *testing.T) {
	var out bytes.Buffer
	if err := flowApp(context.Background(), clip(t, 12), "discard", &out); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, out.String(), 12)
}

func TestPipelineAPI(t *testing.T) {
	var out bytes.Buffer
	mp4 := filepath.Join(t.TempDir(), "out.mp4")
	if err := pipelineApp(context.Background(), clip(t, 12), mp4, &out); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, out.String(), 12)
	if st, err := os.Stat(mp4); err != nil || st.Size() == 0 {
		t.Errorf("no video written: %v", err)
	}
}

func TestPipelineAPIYAML(t *testing.T) {
	var out bytes.Buffer
	yml := filepath.Join(sample.Root(), "internal", "dsgraph", "testdata", "dstest1_config_x86.yaml")
	// NVIDIA's graph, its source swapped for a short clip.
	c := clip(t, 8)
	text, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(t.TempDir(), "dstest1.yaml")
	os.WriteFile(own, []byte(strings.Replace(string(text), "/opt/nvidia/deepstream/deepstream/samples/streams/sample_720p.h264", c, 1)), 0o644)
	if err := pipelineApp(context.Background(), own, "discard", &out); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, out.String(), 8)
}
