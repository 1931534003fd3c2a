package service

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
)

// Outputs get the drawn, tiled video beside the live view, and a graceful
// stop completes their files.
func TestOutputsEncode(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	yml := fmt.Sprintf(`
sources:
  source-list:
    - {uri: "testsrc://?is-live=true&framerate=30&truth=true", sensor-id: a}
    - {uri: "testsrc://?is-live=true&framerate=30&truth=true&seed=2", sensor-id: b}
max-batch-size: 2
width: 320
height: 240
outputs:
  - {encode: %q, props: {width: 640, height: 240}}
`, out)
	h := startService(t, yml, Options{})
	waitFor(t, 10*time.Second, "frames", func() bool { return h.frames.get(0).n >= 45 && h.frames.get(1).n >= 45 })
	if code, m := h.do("POST", "/api/v1/app/quit", `{"stream":{"app_quit":1}}`); code != 200 {
		t.Fatalf("quit: %d %v", code, m)
	}
	if err := h.svc.Wait(); err != nil {
		t.Fatal(err)
	}
	info, err := vidflow.Discover(out)
	if err != nil {
		st, _ := os.Stat(out)
		t.Fatalf("the output is not a complete video (%v): %v", st, err)
	}
	if len(info.Video) != 1 || info.Video[0].Width != 640 || info.Video[0].Height != 240 || info.Duration < time.Second {
		t.Errorf("output: %+v", info)
	}
}
