package service

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/media"
)

// A camera with smart-record set, recorded over REST: the answer carries
// the session id, the finished file is listed and plays; a second
// session stopped by its id is listed too; bad requests are refused with
// what is wrong.
func TestRecordOverREST(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	clip := filepath.Join(dir, "long.mp4") // 20 s at 30 fps, a key frame every 15
	out, err := exec.Command("gst-launch-1.0", "-q", "videotestsrc", "num-buffers=600", "pattern=ball", "!",
		"video/x-raw,width=160,height=120,framerate=30/1", "!", "x264enc", "key-int-max=15", "speed-preset=ultrafast", "!",
		"mp4mux", "!", "filesink", "location="+clip).CombinedOutput()
	if err != nil {
		t.Skipf("no clip: %v %s", err, out)
	}
	yml := fmt.Sprintf(`
sources:
  source-list:
    - {uri: %q, sensor-id: door}
    - {uri: "testsrc://?is-live=true&framerate=30", sensor-id: synthetic}
  source-config:
    properties: {smart-record: 2, smart-rec-dir-path: %q, smart-rec-cache: 5, smart-rec-file-prefix: door}
max-batch-size: 2
width: 160
height: 120
live-view: {enable: false}
`, clip, dir)
	// The probe paces the file (5 ms a batch: about 3 s for the clip), so
	// that it is still playing while the requests come.
	h := startService(t, yml, Options{Probe: func(*media.BatchMeta) { time.Sleep(5 * time.Millisecond) }})
	waitFor(t, 10*time.Second, "frames", func() bool { return h.frames.get(0).n >= 40 })

	code, m := h.do("POST", "/api/v1/record/start", `{"record":{"stream_id":"door","start":1,"duration":1}}`)
	if code != 200 || m["reason"] != "RECORD_START_SUCCESS" {
		t.Fatalf("record/start: %d %v", code, m)
	}
	first := int(m["session_id"].(float64))
	code, m = h.do("POST", "/api/v1/record/start", `{"record":{"stream_id":"door","duration":3600}}`)
	if code != 200 {
		t.Fatalf("record/start: %d %v", code, m)
	}
	second := int(m["session_id"].(float64))
	if code, m := h.do("POST", "/api/v1/record/stop", fmt.Sprintf(`{"record":{"session_id":%d}}`, second)); code != 200 {
		t.Fatalf("record/stop: %d %v", code, m)
	}
	var done []any
	waitFor(t, 10*time.Second, "both recordings listed as finished", func() bool {
		_, m := h.do("GET", "/api/v1/record", nil)
		done, _ = m["finished"].([]any)
		return len(done) == 2
	})
	for _, d := range done {
		rec := d.(map[string]any)
		id := int(rec["session_id"].(float64))
		if rec["error"] != nil || rec["stream_id"] != "door" || rec["width"].(float64) != 160 || !strings.HasPrefix(filepath.Base(rec["file"].(string)), "door_") {
			t.Errorf("recording %v", rec)
			continue
		}
		info, err := vidflow.Discover(rec["file"].(string))
		if err != nil {
			t.Errorf("recording %d does not play: %v", id, err)
			continue
		}
		if id == first && (info.Duration < 2*time.Second-50*time.Millisecond || info.Duration > 2600*time.Millisecond) {
			t.Errorf("recording %d plays %v, want 1 s before the request to 1 s after", id, info.Duration)
		}
	}

	for _, c := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/api/v1/record/start", `{"record":{"stream_id":"synthetic","duration":1}}`, 422, "no compressed video"},
		{"/api/v1/record/start", `{"record":{"stream_id":"nosuch"}}`, 404, `no stream "nosuch"`},
		{"/api/v1/record/start", `{"record":{"stream_id":"door","start":6}}`, 409, "smart-rec-cache"},
		{"/api/v1/record/start", `{"record":{"stream_id":"door","start":301}}`, 422, "0..300"},
		{"/api/v1/record/start", `{"record":{"stream_id":"door","duration":-1}}`, 422, "record.duration"},
		{"/api/v1/record/start", `{"record":{}}`, 400, "stream_id"},
		{"/api/v1/record/start", `{"stream":{}}`, 400, `missing "record"`},
		{"/api/v1/record/start", `{"record":{"stream_id":"` + strings.Repeat("x", 300) + `"}}`, 400, "at most 256"},
		{"/api/v1/record/stop", `{"record":{"session_id":999999}}`, 404, "no recording 999999"},
		{"/api/v1/record/stop", `{"record":{"stream_id":"door","session_id":1}}`, 400, "one of"},
	} {
		code, m := h.do("POST", c.path, c.body)
		if msg := fmt.Sprint(m); code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s %s: %d %v, want %d and %q", c.path, c.body, code, m, c.code, c.want)
		}
	}
}

// record-on: a detected object of the configured class records its
// stream; the recording is listed with the REST API's.
func TestRecordOnConfig(t *testing.T) {
	if _, err := infer.InitORT(""); err != nil {
		t.Skip(err)
	}
	leakCheck(t)
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	if out, err := exec.Command("gst-launch-1.0", "-q", "videotestsrc", "num-buffers=90", "!", "video/x-raw,width=160,height=120,framerate=30/1", "!",
		"x264enc", "key-int-max=15", "speed-preset=ultrafast", "!", "mp4mux", "!", "filesink", "location="+clip).CombinedOutput(); err != nil {
		t.Skipf("no clip: %v %s", err, out)
	}
	cfg, _ := writeStandIn(t, dir, "five", 5) // every frame: one object of class 5
	yml := fmt.Sprintf(`
sources:
  source-list:
    - {uri: %q, sensor-id: door}
  source-config:
    properties: {smart-record: 2, smart-rec-dir-path: %q, smart-rec-cache: 3}
max-batch-size: 1
width: 160
height: 120
live-view: {enable: false}
infer: {config: %q}
record-on: {classes: [5], before: 1, after: 1}
`, clip, dir, cfg)
	h := startService(t, yml, Options{Probe: func(*media.BatchMeta) { time.Sleep(5 * time.Millisecond) }})
	var done []any
	waitFor(t, 20*time.Second, "a recording started by an object of class 5", func() bool {
		_, m := h.do("GET", "/api/v1/record", nil)
		done, _ = m["finished"].([]any)
		return len(done) > 0
	})
	rec := done[0].(map[string]any)
	if rec["stream_id"] != "door" || rec["error"] != nil {
		t.Fatalf("recording %v", rec)
	}
	// The first event is on the first frame: nothing before it, 1 s after.
	if info, err := vidflow.Discover(rec["file"].(string)); err != nil || info.Duration < 950*time.Millisecond || info.Duration > 1600*time.Millisecond {
		t.Errorf("the recording plays %v (%v), want the second after its event", info.Duration, err)
	}
	if _, err := Parse([]byte("record-on: {before: 1}\n"), dir); err == nil || !strings.Contains(err.Error(), "record-on") {
		t.Errorf("record-on without events: %v", err)
	}
}
