package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/dsapp"
	"github.com/vidflow/vidflow/media"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// deepstream-app's local smart-record events (smart-record=2): a
// recording starts at one tick and stops at the next, and its file is
// reported.
func TestAppSmartRecordEvents(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	if out, err := exec.Command("gst-launch-1.0", "-q", "videotestsrc", "num-buffers=60", "!", "video/x-raw,width=160,height=120,framerate=30/1", "!",
		"x264enc", "key-int-max=10", "speed-preset=ultrafast", "!", "mp4mux", "!", "filesink", "location="+clip).CombinedOutput(); err != nil {
		t.Skipf("no clip: %v %s", err, out)
	}
	p := vidflow.NewPipeline("app-sr")
	// A live pace: the looping file is held to about real time by a probe.
	err := vidflow.NewFlow(p).BatchCapture([]string{clip}, vidflow.Props{"file-loop": true},
		vidflow.RecordConfig{Dir: dir, Cache: 5 * time.Second}).
		Attach(func(*media.BatchMeta) { time.Sleep(30 * time.Millisecond) }).Render(vidflow.RenderDiscard).Err()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := &dsapp.App{Sources: []dsapp.Source{{Group: "source0", SmartRecord: &dsapp.SmartRecordEvents{
		Interval: 300 * time.Millisecond, StartTime: 0, Duration: 10 * time.Second}}}}
	var out syncBuffer
	done := make(chan struct{})
	wait := recordEvents(p, a, &out, done)
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), ".mp4, "); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	close(done)
	wait()
	p.Stop()
	if s := out.String(); !strings.Contains(s, "smart record [source0]: "+dir) || !strings.Contains(s, ".mp4, ") {
		t.Errorf("no recording reported:\n%s", s)
	}
}
