package service

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// One bad camera never stops the others: a local file that is no video
// and an HTTP URL answering 404 are added next to a running camera (and a
// garbage one is configured); each fails on its own stream — an event
// naming it, the failures metric, its slot freed — while the service and
// the good camera run on.
func TestBadStreamsFailAlone(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(junk, []byte(strings.Repeat("this is not a video\n", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	yml := fmt.Sprintf("max-batch-size: 4\nwidth: 320\nheight: 240\nlive-view: {enable: false}\nrest: {allow-folders: [%q], allow-schemes: [http, testsrc]}\n"+
		"sources:\n  source-list:\n  - {uri: %q, sensor-id: garbage, sensor-name: garbage}\n", dir, junk)
	h := startService(t, yml, Options{})
	good := h.add("good", testsrc(1))
	waitFor(t, 5*time.Second, "the good camera's frames", func() bool { return h.frames.get(good).n >= 10 })
	h.add("junk", junk)
	h.add("missing", web.URL+"/cam.mp4")
	waitFor(t, 10*time.Second, "the bad streams to fail", func() bool { return len(h.svc.Streams()) == 1 })
	before := h.frames.get(good).n
	time.Sleep(500 * time.Millisecond)
	if after := h.frames.get(good).n; after <= before || !h.svc.Ready() {
		t.Fatalf("the good camera stopped (%d → %d frames), ready %v", before, after, h.svc.Ready())
	}
	h.svc.mu.Lock()
	var events []string
	for _, e := range h.svc.events {
		events = append(events, e.Text)
	}
	h.svc.mu.Unlock()
	for _, want := range []string{"stream garbage failed", "stream junk failed", "stream missing failed"} {
		found := false
		for _, e := range events {
			found = found || strings.Contains(e, want)
		}
		if !found {
			t.Errorf("no event %q in %q", want, events)
		}
	}
	code, raw := h.raw("GET", "/metrics", nil, nil)
	for _, want := range []string{`vidflow_stream_failures_total{sensor_id="junk"`, `vidflow_stream_failures_total{sensor_id="missing"`} {
		if code != 200 || !strings.Contains(string(raw), want) {
			t.Errorf("/metrics (%d) has no %s", code, want)
		}
	}
	// The freed slots take new streams.
	h.add("again", testsrc(2))
}
