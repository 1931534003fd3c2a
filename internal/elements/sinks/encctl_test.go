package sinks_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/gst"
)

// The sink makes the key frames: one every iframeinterval frames, from
// the first (the encoder's own interval is out of the way, so that the
// REST API's enc/iframe-interval can lengthen it while it runs).
func TestEncodeKeyFrameInterval(t *testing.T) {
	for _, c := range []struct{ ext, codec string }{{"mp4", "h264"}, {"mkv", "h264"}, {"mkv", "h265"}} {
		ext := c.ext
		path := filepath.Join(t.TempDir(), "gop."+ext)
		if err := encodeTestsrc("num-buffers=35&width=160&height=120", path, vidflow.Props{"iframeinterval": 10, "codec": c.codec}); err != nil {
			t.Fatal(err)
		}
		keys, n, err := gst.KeyFrames(path)
		if err != nil {
			t.Fatal(err)
		}
		if n != 35 || fmt.Sprint(keys) != "[0 10 20 30]" {
			t.Errorf("%s %s: %d frames, key frames %v; want 35 and [0 10 20 30]", c.codec, ext, n, keys)
		}
	}
}
