package vidflow_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// startXvfb starts an X server for the test and sets DISPLAY; it skips
// the test when Xvfb is not installed (scripts/setup.sh installs it).
func startXvfb(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb is not installed: run scripts/setup.sh")
	}
	display := ":97"
	cmd := exec.Command("Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if exec.Command("xdpyinfo", "-display", display).Run() == nil {
			t.Setenv("DISPLAY", display)
			return display
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("Xvfb did not start")
	return ""
}

// screenshot takes the root window with xwd and returns RGB rows.
func screenshot(t *testing.T, display string) (w, h int, px func(x, y int) [3]byte) {
	t.Helper()
	out, err := exec.Command("xwd", "-root", "-silent", "-display", display).Output()
	if err != nil {
		t.Fatalf("xwd: %v", err)
	}
	be := binary.BigEndian
	hdr := be.Uint32(out[0:])
	w, h = int(be.Uint32(out[16:])), int(be.Uint32(out[20:]))
	bpp, bpl, ncolors := int(be.Uint32(out[44:])), int(be.Uint32(out[48:])), int(be.Uint32(out[76:]))
	if bpp != 32 {
		t.Fatalf("xwd: %d bits per pixel, want 32", bpp)
	}
	data := out[int(hdr)+12*ncolors:]
	return w, h, func(x, y int) [3]byte {
		p := data[y*bpl+4*x:]
		return [3]byte{p[2], p[1], p[0]} // BGRX, little-endian server
	}
}

func TestRenderDisplayUnderXvfb(t *testing.T) {
	display := startXvfb(t)
	p := vidflow.NewPipeline("display")
	seen := make(chan struct{})
	n := 0
	f := vidflow.NewFlow(p).Capture([]string{"testsrc://?width=320&height=240&num-buffers=150&framerate=30&objects=0"}).
		Attach(func(m *media.BatchMeta) {
			if n++; n == 60 {
				close(seen)
			}
		}).Render(vidflow.RenderDisplay, vidflow.Sync(true))
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- p.Wait() }()
	select {
	case <-seen:
	case err := <-ended:
		t.Fatalf("pipeline ended before 60 frames: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	tree, _ := exec.Command("xwininfo", "-root", "-tree", "-display", display).Output()
	if !bytes.Contains(tree, []byte("320x240")) {
		t.Errorf("no 320x240 window on the display:\n%s", tree)
	}
	// The testsrc background is a vertical gray gradient: the window shows
	// a gray that grows darker to lighter; the root window is black.
	w, h, px := screenshot(t, display)
	lit := 0
	for y := 0; y < h; y += 8 {
		for x := 0; x < w; x += 8 {
			if c := px(x, y); c[0] > 15 && c[0] == c[1] && c[1] == c[2] {
				lit++
			}
		}
	}
	if lit < (320*240)/64/2 {
		t.Errorf("screenshot shows %d gray samples, want the 320x240 frame's (~%d)", lit, 320*240/64)
	}
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	if os.Getenv("VIDFLOW_KEEP_SCREENSHOT") != "" {
		raw, _ := exec.Command("xwd", "-root", "-silent", "-display", display).Output()
		os.WriteFile(fmt.Sprintf("/tmp/display-%d.xwd", time.Now().Unix()), raw, 0o644)
	}
}
