package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
)

// vidflow app runs NVIDIA's TrafficCamNet deepstream-app config with the
// default detector and a short clip, two streams (type=3, num-sources=2),
// the display swapped for a file sink: it prints deepstream-app's **PERF
// lines, one column per stream, and writes a file that plays.
func TestAppRunsNVIDIAConfig(t *testing.T) {
	model := filepath.Join(cli.CacheDir(), "models", "centernet", "centernet.onnx")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("%s missing: run scripts/setup.sh", model)
	}
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	err := vidflow.NewFlow(vidflow.NewPipeline("clip")).Capture([]string{"testsrc://?width=320&height=240&num-buffers=6"}).
		Encode(clip).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	var buf bytes.Buffer
	err = run([]string{"app", "-c", "../../internal/dsapp/testdata/deepstream_app_source1_trafficcamnet.txt",
		"-set", "source0.uri=" + clip, "-set", "source0.num-sources=2",
		"-set", "primary-gie.config-file=../../configs/config_infer_primary.yml",
		"-set", "tracker.ll-config-file=", "-set", "sink0.type=3", "-set", "sink0.output-file=" + out}, &buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	s := buf.String()
	if !strings.Contains(s, "**PERF:  FPS 0 (Avg)\tFPS 1 (Avg)\t\n") || !regexp.MustCompile(`\*\*PERF:  [0-9.]+ \([0-9.]+\)\t[0-9.]+ \([0-9.]+\)\t\n`).MatchString(s) {
		t.Errorf("no **PERF lines for two streams:\n%s", s)
	}
	if !strings.Contains(s, "App run successful") {
		t.Errorf("no success line:\n%s", s)
	}
	info, err := vidflow.Discover(out)
	if err != nil || len(info.Video) != 1 || info.Video[0].Width != 1280 || info.Video[0].Height != 720 {
		t.Errorf("output %+v, %v: want one 1280x720 video (the tiled display's size)", info, err)
	}
}

func TestAppErrors(t *testing.T) {
	var buf bytes.Buffer
	err := run([]string{"app", "-c", "../../internal/dsapp/testdata/deepstream_app_source1_trafficcamnet.txt"}, &buf)
	if err == nil || !strings.Contains(err.Error(), "deepstream_app_source1_trafficcamnet.txt:35: [source0] uri:") {
		t.Errorf("got %v", err)
	}
	if err := run([]string{"app"}, &buf); err == nil {
		t.Error("app without -c: no error")
	}
}
