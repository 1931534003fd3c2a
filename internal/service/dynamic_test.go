package service

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Four streams added one by one to the running pipeline over REST, two
// removed, one added back: per stream, frames flowed only while it was
// there, and the others never paused (no gap in their frame numbers).
func TestDynamicStreams(t *testing.T) {
	leakCheck(t)
	h := startService(t, "max-batch-size: 4\nwidth: 320\nheight: 240\nlive-view: {enable: false}\n", Options{})
	type life struct {
		id            string
		src           int
		added, gone   time.Time
		removedFrames int64
	}
	var streams []*life
	for i := 1; i <= 4; i++ {
		l := &life{id: fmt.Sprintf("cam%d", i), added: time.Now()}
		l.src = h.add(l.id, testsrc(i))
		streams = append(streams, l)
		waitFor(t, 5*time.Second, l.id+"'s frames", func() bool { return h.frames.get(l.src).n >= 10 })
	}
	for _, l := range streams[1:3] {
		h.remove(l.id)
		l.gone = time.Now()
	}
	time.Sleep(400 * time.Millisecond) // frames in flight are delivered
	for _, l := range streams[1:3] {
		l.removedFrames = h.frames.get(l.src).n
	}
	back := &life{id: "cam2", added: time.Now()} // the same camera id again
	back.src = h.add(back.id, testsrc(2))
	streams = append(streams, back)
	waitFor(t, 5*time.Second, "cam2's frames again", func() bool { return h.frames.get(back.src).n >= 10 })
	time.Sleep(300 * time.Millisecond)
	if back.src == streams[1].src {
		t.Errorf("cam2 came back with its old source id %d", back.src)
	}
	for _, l := range streams {
		s := h.frames.get(l.src)
		switch {
		case s.n == 0:
			t.Errorf("%s (source %d): no frames", l.id, l.src)
		case s.firstAt.Before(l.added):
			t.Errorf("%s (source %d): a frame before it was added", l.id, l.src)
		case len(s.gaps) > 0:
			t.Errorf("%s (source %d): gaps in its frame numbers: %v", l.id, l.src, s.gaps)
		case s.first != 0:
			t.Errorf("%s (source %d): first frame number %d", l.id, l.src, s.first)
		}
		if !l.gone.IsZero() {
			if s.n != l.removedFrames {
				t.Errorf("%s (source %d): %d frames after its removal", l.id, l.src, s.n-l.removedFrames)
			}
			continue
		}
		if time.Since(s.lastAt) > 500*time.Millisecond {
			t.Errorf("%s (source %d): no frame for %v", l.id, l.src, time.Since(s.lastAt))
		}
		if s.maxPause > time.Second {
			t.Errorf("%s (source %d) paused for %v", l.id, l.src, s.maxPause)
		}
		t.Logf("%s (source %d): %d frames, longest pause %v", l.id, l.src, s.n, s.maxPause)
	}
	if n := len(h.svc.Streams()); n != 3 {
		t.Errorf("%d streams, want 3", n)
	}
}

// A file without file-loop ends by itself: it leaves the stream list, the
// metrics and the live view, and the others go on.
func TestStreamEndsByItself(t *testing.T) {
	if smallClip == "" {
		t.Skip("no small clip (GStreamer's tools are missing)")
	}
	leakCheck(t)
	h := startService(t, apiConfig+clipREST(""), Options{})
	src := h.add("short", smallClip)
	waitFor(t, 20*time.Second, "the clip to end", func() bool {
		_, m := h.do("GET", "/api/v1/stream/get-stream-info", nil)
		return m["stream-info"].(map[string]any)["stream-count"] == 1.0
	})
	if s := h.frames.get(src); s.n != 90 || len(s.gaps) > 0 {
		t.Errorf("the clip gave %d frames (gaps %v), want 90", s.n, s.gaps)
	}
	_, m := h.do("GET", "/api/v1/metrics", nil)
	events := fmt.Sprint(m["events"])
	if !strings.Contains(events, fmt.Sprintf("stream of source %d ended", src)) {
		t.Errorf("events: %s", events)
	}
	if _, raw := h.raw("GET", "/metrics", nil, nil); strings.Contains(string(raw), `sensor_id="short"`) {
		t.Error("the ended stream is still in /metrics")
	}
	if code, m := h.do("POST", "/api/v1/stream/remove", removeBody("short", "")); code != 404 {
		t.Errorf("removing the ended stream: %d %v", code, m)
	}
	h.add("short", smallClip) // its camera id is free again
	before := h.frames.get(0).n
	time.Sleep(200 * time.Millisecond)
	if s := h.frames.get(0); s.n <= before || len(s.gaps) > 0 {
		t.Errorf("the other stream: %d → %d frames, gaps %v", before, s.n, s.gaps)
	}
}
