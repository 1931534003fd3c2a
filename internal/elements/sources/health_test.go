package sources

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// runMsgs runs nvurisrcbin with props into the test sink, at most limit,
// and returns the run's error and its warnings.
func runMsgs(t *testing.T, props element.Props, limit time.Duration) (error, []string) {
	t.Helper()
	err, warnings, addErr := runCollecting(t, props, limit, func(m element.Message) (string, bool) {
		w, ok := m.(*element.WarningMessage)
		if !ok {
			return "", false
		}
		return w.Text, true
	})
	if addErr != nil {
		t.Fatal(addErr)
	}
	return err, warnings
}

// truncate writes the first n bytes of src to a new file.
func truncate(t *testing.T, src, name string, n int) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data[:min(n, len(data))], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkLeaks(t *testing.T) {
	t.Helper()
	b0, f0 := media.LiveBuffers(), media.LiveFrames()
	t.Cleanup(func() {
		if media.LiveBuffers() != b0 || media.LiveFrames() != f0 {
			t.Errorf("leak: buffers %d → %d, frames %d → %d", b0, media.LiveBuffers(), f0, media.LiveFrames())
		}
	})
}

// An MP4 whose moov atom (at the end, mp4mux's default) is cut off ends
// with an error naming it, every time and in bounded time, although
// decodebin now and then swallows qtdemux's error (no-data-timeout).
func TestNoMoovFileFailsInBoundedTime(t *testing.T) {
	checkLeaks(t)
	bad := truncate(t, h264Clip(t), "nomoov.mp4", 3000)
	const runs = 200
	var wg sync.WaitGroup
	var slowest atomic.Int64
	sem := make(chan struct{}, 8)
	for i := 0; i < runs; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			err, _ := runMsgs(t, element.Props{"uri": bad, "no-data-timeout": 250}, 10*time.Second)
			if d := int64(time.Since(t0)); d > slowest.Load() {
				slowest.Store(d)
			}
			if err == nil || !strings.Contains(err.Error(), bad) {
				t.Errorf("run %d: %v, want an error naming %s", i, err, bad)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d runs, slowest %v", runs, time.Duration(slowest.Load()))
}

// A file cut in the middle (its index, at the start, announces more)
// ends cleanly but with a warning naming it and the frames it lacked.
func TestTruncatedFileWarns(t *testing.T) {
	checkLeaks(t)
	full := encode(t, "fast.mp4", "x264enc speed-preset=ultrafast tune=zerolatency ! mp4mux faststart=true", 90)
	st, _ := os.Stat(full)
	cut := truncate(t, full, "cut.mp4", int(st.Size()/3))
	err, warnings := runMsgs(t, element.Props{"uri": cut, "sensor-id": "cam7"}, 20*time.Second)
	if err != nil {
		t.Fatalf("truncated file: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], cut) || !strings.Contains(warnings[0], "cam7") || !strings.Contains(warnings[0], "truncated") {
		t.Errorf("warnings %q, want one naming %s (cam7) as truncated", warnings, cut)
	}
	// The complete file: no warning.
	if err, warnings := runMsgs(t, element.Props{"uri": full}, 20*time.Second); err != nil || len(warnings) != 0 {
		t.Errorf("complete file: %v, warnings %q", err, warnings)
	}
}

// An HTTP source reconnects after a failure (503 the first time) and then
// delivers the stream; a 404 fails at once, naming the URL.
func TestHTTPReconnects(t *testing.T) {
	checkLeaks(t)
	clip := encode(t, "web.mp4", "x264enc speed-preset=ultrafast tune=zerolatency ! mp4mux faststart=true", 30)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/cam.mp4":
			http.NotFound(w, r)
		case hits.Add(1) == 1:
			http.Error(w, "warming up", http.StatusServiceUnavailable)
		default:
			http.ServeFile(w, r, clip)
		}
	}))
	defer srv.Close()
	frames.Store(0)
	err, warnings := runMsgs(t, element.Props{"uri": srv.URL + "/cam.mp4", "init-rtsp-reconnect-interval": 0}, 30*time.Second)
	if err != nil {
		t.Fatalf("after a 503: %v (warnings %q)", err, warnings)
	}
	if n := frames.Load(); n != 30 || len(warnings) == 0 || !strings.Contains(warnings[0], "reconnection") {
		t.Errorf("%d frames (want 30), warnings %q (want a reconnection)", n, warnings)
	}
	missing := srv.URL + "/none.mp4"
	t0 := time.Now()
	err, _ = runMsgs(t, element.Props{"uri": missing}, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), missing) || time.Since(t0) > 3*time.Second {
		t.Errorf("404: %v after %v, want an error naming %s at once", err, time.Since(t0), missing)
	}
}
