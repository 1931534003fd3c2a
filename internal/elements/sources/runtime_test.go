package sources

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/media"
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

// dest-crop while the stream runs: each frame is the picture scaled into
// the rectangle, black around it; "0:0:0:0" gives the whole picture back.
func TestDestCropWhileRunning(t *testing.T) {
	white := encodeWhite(t)
	var mu sync.Mutex
	var corner, centre []byte
	r := element.NewRegistry()
	Register(r)
	r.MustRegister(element.KindSpec{Kind: "pixel-sink", Role: element.RoleSink, New: func(*element.Config) (element.Element, error) {
		return &element.Sink{Fn: func(_ context.Context, b *media.Buffer) error {
			f := b.Frame(0)
			mu.Lock()
			corner, centre = append(corner[:0], f.Row(5)[5*3:5*3+3]...), append(centre[:0], f.Row(60)[80*3:80*3+3]...)
			mu.Unlock()
			return nil
		}}, nil
	}})
	g := engine.NewGraph("t", r)
	n, err := g.Add("nvurisrcbin", "src", element.Props{"uri": white, "width": 160, "height": 120, "file-loop": true})
	if err != nil {
		t.Fatal(err)
	}
	g.Add("pixel-sink", "sink", nil)
	if err := g.Link("src", "sink"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run, err := engine.Start(ctx, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); run.Wait() }()
	bright := func(p []byte) bool { return len(p) == 3 && p[0] > 200 && p[1] > 200 && p[2] > 200 }
	dark := func(p []byte) bool { return len(p) == 3 && p[0] < 20 && p[1] < 20 && p[2] < 20 }
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			done := ok()
			mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (corner %v, centre %v)", what, corner, centre)
			}
		}
	}
	wait("white frames", func() bool { return bright(corner) && bright(centre) })
	src := n.Elem.(element.PropertySetter)
	if err := src.SetProperty("dest-crop", "40:30:80:60"); err != nil {
		t.Fatal(err)
	}
	wait("a black border", func() bool { return dark(corner) && bright(centre) })
	if v, _ := n.Elem.(element.PropertyGetter).Property("dest-crop"); v != "40:30:80:60" {
		t.Errorf("dest-crop read back %v", v)
	}
	for v, want := range map[string]string{"0:0:200:100": "outside the stream's 160x120 frame", "1:2:3": "left:top:width:height"} {
		if err := src.SetProperty("dest-crop", v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("dest-crop %s: %v, want %q", v, err, want)
		}
	}
	if err := src.SetProperty("dest-crop", "0:0:0:0"); err != nil {
		t.Fatal(err)
	}
	wait("white frames again", func() bool { return bright(corner) && bright(centre) })
}

// encodeWhite writes a white H.264 clip.
func encodeWhite(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "white.mp4")
	out, err := exec.Command("gst-launch-1.0", "-q", "videotestsrc", "num-buffers=30", "pattern=white", "!",
		"video/x-raw,width=320,height=240,framerate=30/1", "!", "x264enc", "speed-preset=ultrafast", "!", "mp4mux", "!",
		"filesink", "location="+path).CombinedOutput()
	if err != nil {
		t.Skipf("gst-launch-1.0: %v: %s", err, out)
	}
	return path
}
