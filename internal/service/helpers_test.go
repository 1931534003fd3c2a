package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// smallClip is a 3 s 320×240 H.264 MP4 made once by TestMain ("" when
// GStreamer's tools are missing).
var smallClip string

// clipDir is smallClip's folder; clipREST allows it for stream/add (file
// streams over the API are refused unless a folder is allowed).
var clipDir string

func clipREST(more string) string {
	return fmt.Sprintf("rest: {allow-folders: [%q]%s}\n", clipDir, more)
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vidflow-service-test")
	clipDir = dir
	if err == nil {
		clip := filepath.Join(dir, "clip.mp4")
		cmd := exec.Command("gst-launch-1.0", "-q", "videotestsrc", "num-buffers=90", "pattern=ball", "!",
			"video/x-raw,width=320,height=240,framerate=30/1", "!", "x264enc", "speed-preset=ultrafast", "!", "mp4mux", "!",
			"filesink", "location="+clip)
		if out, err := cmd.CombinedOutput(); err == nil {
			smallClip = clip
		} else {
			fmt.Fprintf(os.Stderr, "service tests: no small clip (gst-launch-1.0: %v: %s); file streams are skipped\n", err, out)
		}
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// leakCheck records the process's goroutines, frames, buffers and
// GStreamer samples, and checks at the end of the test that they are back.
func leakCheck(t *testing.T) {
	t.Helper()
	g0, f0, b0, s0 := runtime.NumGoroutine(), media.LiveFrames(), media.LiveBuffers(), gst.LiveSamples()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		var g int
		for deadline := time.Now().Add(10 * time.Second); ; {
			g = runtime.NumGoroutine()
			if g <= g0 && media.LiveFrames() == f0 && media.LiveBuffers() == b0 && gst.LiveSamples() == s0 {
				return
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("leak: goroutines %d → %d, frames %d → %d, buffers %d → %d, GStreamer samples %d → %d\n%s",
			g0, g, f0, media.LiveFrames(), b0, media.LiveBuffers(), s0, gst.LiveSamples(), buf[:n])
	})
}

// harness is a running service and an HTTP client of its own.
type harness struct {
	t      *testing.T
	svc    *Service
	base   string
	client *http.Client
	token  string
	frames *frameLog
}

// startService starts a service from YAML (rest.port 0 is added), with
// a frame log on its probe; it is stopped at the end of the test.
func startService(t *testing.T, yml string, opts Options) *harness {
	t.Helper()
	cfg, err := Parse([]byte(yml), t.TempDir())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	port := 0
	cfg.REST.Port = &port
	fl := &frameLog{streams: map[int]*streamFrames{}}
	user := opts.Probe
	opts.Probe = func(m *media.BatchMeta) {
		fl.record(m)
		if user != nil {
			user(m)
		}
	}
	svc, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	h := &harness{t: t, svc: svc, base: "http://" + svc.Addr(), frames: fl,
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}}, token: cfg.REST.AuthToken}
	t.Cleanup(func() {
		cancel()
		if err := svc.Wait(); err != nil {
			t.Errorf("Wait: %v", err)
		}
		h.client.CloseIdleConnections()
	})
	return h
}

// do sends a request with a JSON body (a string as is, else marshalled)
// and returns the status and the decoded JSON answer.
func (h *harness) do(method, path string, body any) (int, map[string]any) {
	h.t.Helper()
	code, raw := h.raw(method, path, body, nil)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		h.t.Fatalf("%s %s: %d, not JSON: %v: %q", method, path, code, err, raw)
	}
	return code, m
}

func (h *harness) raw(method, path string, body any, hdr map[string]string) (int, []byte) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.base+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json") // the API's POSTs take JSON only
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return res.StatusCode, data
}

// addBody is DeepStream's stream/add body (spec §4.2, the
// deepstream-server sample's curl) for a camera.
func addBody(id, name, url string) map[string]any {
	return map[string]any{
		"key": "sensor",
		"value": map[string]any{
			"camera_id": id, "camera_name": name, "camera_url": url, "change": "camera_add",
			"metadata": map[string]any{"resolution": "1920 x1080", "codec": "h264", "framerate": 30},
		},
		"headers": map[string]any{"source": "vst", "created_at": "2021-06-01T14:34:13.417Z"},
	}
}

func removeBody(id, url string) map[string]any {
	b := addBody(id, "", url)
	b["value"].(map[string]any)["change"] = "camera_remove"
	return b
}

// add adds a stream and returns its source id.
func (h *harness) add(id, url string) int {
	h.t.Helper()
	code, m := h.do("POST", "/api/v1/stream/add", addBody(id, "cam "+id, url))
	if code != 200 {
		h.t.Fatalf("add %s: %d %v", id, code, m)
	}
	return int(m["stream"].(map[string]any)["source_id"].(float64))
}

func (h *harness) remove(id string) {
	h.t.Helper()
	code, m := h.do("POST", "/api/v1/stream/remove", removeBody(id, ""))
	if code != 200 {
		h.t.Fatalf("remove %s: %d %v", id, code, m)
	}
}

// frameLog records, per source id, the frame numbers reaching the
// service's probe, and their gaps.
type frameLog struct {
	mu      sync.Mutex
	streams map[int]*streamFrames
}

type streamFrames struct {
	first, last int64
	n           int64
	gaps        []string
	firstAt     time.Time
	lastAt      time.Time
	maxPause    time.Duration // the longest time between two frames
}

func (l *frameLog) record(m *media.BatchMeta) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, fm := range m.Frames {
		s := l.streams[fm.SourceID]
		if s == nil {
			s = &streamFrames{first: fm.FrameNumber, last: fm.FrameNumber - 1, firstAt: now}
			l.streams[fm.SourceID] = s
		}
		if fm.FrameNumber != s.last+1 && len(s.gaps) < 10 {
			s.gaps = append(s.gaps, fmt.Sprintf("%d→%d", s.last, fm.FrameNumber))
		}
		s.last = fm.FrameNumber
		if s.n > 0 {
			s.maxPause = max(s.maxPause, now.Sub(s.lastAt))
		}
		s.n++
		s.lastAt = now
	}
}

func (l *frameLog) get(id int) streamFrames {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.streams[id]; s != nil {
		return *s
	}
	return streamFrames{last: -1}
}

// waitFor polls cond every 20 ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testsrc is a cheap live synthetic stream.
func testsrc(seed int) string {
	return fmt.Sprintf("testsrc://?is-live=true&framerate=30&width=320&height=240&seed=%d", seed)
}
