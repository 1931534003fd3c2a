package sources

import (
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
)

// dec-skip-frames 2 in the source's properties decodes key frames only
// from the stream's first frame on: a 60-frame clip with a key frame every
// 10 gives its 6 key frames and the few the decoder had taken before the
// first came out (the probe goes on the decoder decodebin made then); 1
// decodes everything, with a warning.
func TestSkipFramesFromStart(t *testing.T) {
	clip := encode(t, "gop10.mp4", "x264enc speed-preset=ultrafast key-int-max=10 ! mp4mux", 60)
	frames.Store(0)
	if err, _ := runSource(t, element.Props{"uri": clip, "dec-skip-frames": 2}); err != nil {
		t.Fatal(err)
	}
	n := frames.Load()
	t.Logf("dec-skip-frames 2: %d of 60 frames", n)
	if n < 6 || n > 16 { // the few: the appsink's 4 and the decoder's threads
		t.Errorf("key frames only: %d frames, want 6 (and a few before the first)", n)
	}
	frames.Store(0)
	err, warnings, _ := runCollecting(t, element.Props{"uri": clip, "dec-skip-frames": 1}, time.Minute, func(m element.Message) (string, bool) {
		w, ok := m.(*element.WarningMessage)
		if !ok {
			return "", false
		}
		return w.Text, true
	})
	if err != nil || frames.Load() != 60 || !strings.Contains(strings.Join(warnings, " "), "non-reference") {
		t.Errorf("dec-skip-frames 1: %v, %d frames, warnings %q; want all 60 and a warning", err, frames.Load(), warnings)
	}
	if err, _ := runSource(t, element.Props{"uri": clip, "dec-skip-frames": 3}); err == nil {
		t.Error("dec-skip-frames 3 taken")
	}
}
