package gst

import (
	"io"
	"path/filepath"
	"testing"
	"time"
)

// TestRewindReplaysFile decodes a 30-frame clip to its end, rewinds and
// decodes it again in the same pipeline: the same frames, PTS from the
// start again — what file-loop relies on instead of a new pipeline.
func TestRewindReplaysFile(t *testing.T) {
	checkLive(t)
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	enc := launch(t, "videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120,framerate=30/1 ! "+
		"x264enc key-int-max=10 ! mp4mux ! filesink location="+clip)
	if err := enc.Play(); err != nil {
		t.Fatal(err)
	}
	for {
		m, ok := enc.PopMessage(10 * time.Second)
		if !ok {
			t.Fatal("encoding the clip did not end")
		}
		if m.Type == MessageEOS {
			break
		}
		if m.Type == MessageError {
			t.Fatal(enc.Err())
		}
	}
	enc.Close()
	p := launch(t, "filesrc location="+clip+" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false")
	s := sink(t, p, "sink")
	if err := p.Play(); err != nil {
		t.Fatal(err)
	}
	var want [2]time.Duration // the first pass's first and last PTS
	for pass := range 2 {
		var first, last time.Duration = -1, -1
		n := 0
		for {
			smp, err := s.Pull(10 * time.Second)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("pass %d, after %d frames: %v", pass, n, err)
			}
			if first < 0 {
				first = smp.PTS
			}
			last = smp.PTS
			smp.Release()
			n++
		}
		if pass == 0 {
			want = [2]time.Duration{first, last}
		}
		if n != 30 || first != want[0] || last != want[1] || (last-first-29*time.Second/30).Abs() > time.Millisecond {
			t.Errorf("pass %d: %d frames, PTS %v..%v; want 30 frames, 29/30 s apart, as the first pass's %v..%v", pass, n, first, last, want[0], want[1])
		}
		if pass == 0 {
			if err := p.Rewind(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
