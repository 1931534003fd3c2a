package service

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Streams added and removed 200 times over REST (loopback, two clients at
// once), each after its first frames came through, while other streams
// flow, a viewer watches and metrics are scraped: every request answers 200, the streams that
// stay never pause, and at the end goroutines, pooled frames, buffers and
// GStreamer samples are back where they started.
func TestLoadAddRemove(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	leakCheck(t)
	yml := `
sources:
  source-list:
    - {uri: "testsrc://?is-live=true&framerate=30&width=320&height=240", sensor-id: steady}
  source-config: {properties: {file-loop: true}}
max-batch-size: 4
width: 320
height: 240
live-view: {fps: 15}
` + clipREST("")
	h := startService(t, yml, Options{})
	steady := []int{0}
	if smallClip != "" {
		steady = append(steady, h.add("steady-file", "file://"+smallClip))
	}
	// A viewer of the live view and a metrics scraper all along.
	stopView := make(chan struct{})
	var viewWG sync.WaitGroup
	for _, path := range []string{"/api/v1/stream/steady/snapshot", "/metrics", "/api/v1/metrics"} {
		viewWG.Add(1)
		go func() {
			defer viewWG.Done()
			for {
				select {
				case <-stopView:
					return
				default:
				}
				if code, raw := h.raw("GET", path, nil, nil); code != 200 {
					t.Errorf("GET %s: %d %s", path, code, raw)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	const cycles, clients = 200, 2
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, cycles)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < cycles; i += clients {
				id := fmt.Sprintf("load-%d", i)
				url := testsrc(i)
				if i%25 == 0 && smallClip != "" {
					url = smallClip // a GStreamer source now and then
				}
				code, m := h.do("POST", "/api/v1/stream/add", addBody(id, "", url))
				if code != 200 {
					errs <- fmt.Errorf("add %s: %d %v", id, code, m)
					return
				}
				// Its frames flow before it goes (and those in flight then
				// are flushed).
				src := int(m["stream"].(map[string]any)["source_id"].(float64))
				for deadline := time.Now().Add(10 * time.Second); h.frames.get(src).n == 0; time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						errs <- fmt.Errorf("%s (source %d): no frame in 10 s", id, src)
						return
					}
				}
				if code, m := h.do("POST", "/api/v1/stream/remove", removeBody(id, url)); code != 200 {
					errs <- fmt.Errorf("remove %s: %d %v", id, code, m)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stopView)
	viewWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	took := time.Since(start)
	t.Logf("%d add/remove cycles in %v", cycles, took)
	if took > 90*time.Second {
		t.Errorf("%d cycles took %v", cycles, took)
	}
	if n := len(h.svc.Streams()); n != len(steady) {
		t.Errorf("%d streams left, want %d", n, len(steady))
	}
	for _, id := range steady {
		s := h.frames.get(id)
		if s.n < int64(took.Seconds()*10) || len(s.gaps) > 0 || s.maxPause > 2*time.Second {
			t.Errorf("steady source %d: %d frames, gaps %v, longest pause %v", id, s.n, s.gaps, s.maxPause)
		}
		t.Logf("steady source %d: %d frames, longest pause %v", id, s.n, s.maxPause)
	}
	_, m := h.do("GET", "/api/v1/metrics", nil)
	t.Logf("process: %v; the pipeline has %d elements", m["process"], len(h.svc.Pipeline().Stats()))
}
