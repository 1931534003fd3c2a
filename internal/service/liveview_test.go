package service

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/vidflow/vidflow/media"
)

const liveConfig = `
sources:
  source-list:
    - {uri: "testsrc://?is-live=true&framerate=30&width=320&height=240", sensor-id: cam0}
max-batch-size: 2
width: 320
height: 240
live-view: {fps: 10, width: 640}
`

// openMJPEG starts reading a stream's MJPEG.
func openMJPEG(t *testing.T, h *harness, ctx context.Context, id string) (*http.Response, *multipart.Reader) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.base+"/api/v1/stream/"+id+"/mjpeg", nil)
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.StatusCode != 200 || err != nil || mt != "multipart/x-mixed-replace" {
		t.Fatalf("mjpeg: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return res, multipart.NewReader(res.Body, params["boundary"])
}

func nextJPEG(t *testing.T, mr *multipart.Reader) image.Image {
	t.Helper()
	part, err := mr.NextPart()
	if err != nil {
		t.Fatalf("next part: %v", err)
	}
	if ct := part.Header.Get("Content-Type"); ct != "image/jpeg" {
		t.Fatalf("part type %q", ct)
	}
	data, err := io.ReadAll(part)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	return img
}

// The live view streams JPEGs with the overlays at a bounded rate, ends
// when the stream is removed, and ends at shutdown.
func TestLiveViewMJPEG(t *testing.T) {
	leakCheck(t)
	// A probe marks every frame with a magenta square the OSD draws.
	mark := func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			fm.Display = append(fm.Display, &media.DisplayMeta{Rects: []media.DisplayRect{{Left: 8, Top: 8, Width: 40, Height: 40,
				HasBg: true, BgColor: media.Color{R: 1, G: 0, B: 1, A: 1}}}})
		}
	}
	h := startService(t, liveConfig, Options{Probe: mark})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, mr := openMJPEG(t, h, ctx, "cam0")
	first := nextJPEG(t, mr)
	if b := first.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Errorf("JPEG %v, want 320×240 (never larger than the batch)", b)
	}
	start := time.Now()
	var last image.Image
	const n = 10
	for i := 0; i < n; i++ {
		last = nextJPEG(t, mr)
	}
	rate := n / time.Since(start).Seconds()
	if rate > 13 {
		t.Errorf("%.1f JPEGs/s, live-view.fps is 10", rate)
	}
	if sameImage(first, last) {
		t.Error("the live view does not change")
	}
	// The OSD drew the probe's square.
	if r, g, b, _ := last.At(28, 28).RGBA(); r < 0xd000 || g > 0x3000 || b < 0xd000 {
		t.Errorf("no overlay in the live view: (28,28) is %x %x %x, want magenta", r>>8, g>>8, b>>8)
	}
	// A snapshot too.
	code, raw := h.raw("GET", "/api/v1/stream/0/snapshot", nil, nil) // by source id
	if _, err := jpeg.Decode(bytes.NewReader(raw)); code != 200 || err != nil {
		t.Errorf("snapshot: %d %v", code, err)
	}
	// Removing the stream ends its MJPEG.
	h.remove("cam0")
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, res.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("MJPEG after removal: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the MJPEG did not end with its stream")
	}
	res.Body.Close()
	if code, _ := h.raw("GET", "/api/v1/stream/cam0/mjpeg", nil, nil); code != 404 {
		t.Errorf("MJPEG of a removed stream: %d", code)
	}

	// A viewer at shutdown: its MJPEG ends and the service stops promptly.
	h.add("cam1", testsrc(3))
	res2, mr2 := openMJPEG(t, h, ctx, "cam1")
	nextJPEG(t, mr2)
	t0 := time.Now()
	h.svc.Quit()
	if err := h.svc.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("shutdown with a viewer took %v", d)
	}
	io.Copy(io.Discard, res2.Body)
	res2.Body.Close()
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y += 4 {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x += 4 {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if absDiff(r1, r2) > 0x2000 || absDiff(g1, g2) > 0x2000 || absDiff(b1, b2) > 0x2000 {
				return false
			}
		}
	}
	return true
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
