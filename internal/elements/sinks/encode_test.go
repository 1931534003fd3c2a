package sinks_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// childEnv names the file a re-executed test binary records into until it
// is killed (TestEncodeSurvivesKill).
const childEnv = "VIDFLOW_TEST_ENCODE_UNTIL_KILLED"

type countFrames int

func (c *countFrames) Consume(b *media.Buffer) error { *c += countFrames(b.BatchSize()); return nil }

// readBack decodes a file with GStreamer and counts its frames.
func readBack(t *testing.T, path string) int {
	t.Helper()
	var n countFrames
	if err := vidflow.NewFlow(vidflow.NewPipeline("read-back")).Capture([]string{path}).Retrieve(&n).
		Run(context.Background()); err != nil {
		t.Fatalf("reading %s back: %v", path, err)
	}
	return int(n)
}

func encodeTestsrc(query, path string, props vidflow.Props) error {
	return vidflow.NewFlow(vidflow.NewPipeline("encode")).Capture([]string{"testsrc://?" + query}).
		Encode(path, props).Run(context.Background())
}

// An MP4 being written when the process is killed (kill -9, power loss)
// plays up to its last complete fragment.
func TestEncodeSurvivesKill(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		err := encodeTestsrc("is-live=true&framerate=30&width=320&height=240", path, nil)
		fmt.Fprintln(os.Stderr, "child ended:", err) // only killed is expected
		os.Exit(2)
	}
	path := filepath.Join(t.TempDir(), "crash.mp4")
	cmd := exec.Command(os.Args[0], "-test.run=^TestEncodeSurvivesKill$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child did not start writing %s: %s", path, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // over two fragments of 1 s
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child: %v, want killed; %s", err, stderr.String())
	}
	st, _ := os.Stat(path)
	info, err := vidflow.Discover(path)
	if err != nil {
		t.Fatalf("the killed recording (%d bytes) is not playable: %v", st.Size(), err)
	}
	frames := readBack(t, path)
	t.Logf("killed recording: %d bytes, duration %v, %d frames", st.Size(), info.Duration, frames)
	if info.Duration <= 0 || frames < 30 {
		t.Errorf("killed recording: duration %v, %d frames; want > 0 and at least the first second's 30", info.Duration, frames)
	}
}

// An existing output is kept, and the error names it, unless overwrite is
// set.
func TestEncodeKeepsExistingOutput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old.mp4")
	if err := os.WriteFile(path, []byte("yesterday's recording"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := encodeTestsrc("num-buffers=5", path, nil)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("encoding to an existing file: %v, want an error naming it and the overwrite option", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "yesterday's recording" {
		t.Errorf("the existing file was changed: %d bytes", len(b))
	}
	// The first file of an image sequence counts as the output.
	os.WriteFile(filepath.Join(dir, "frame00000.jpg"), []byte("old"), 0o644)
	if err := encodeTestsrc("num-buffers=2", filepath.Join(dir, "frame.jpg"), nil); err == nil ||
		!strings.Contains(err.Error(), "frame00000.jpg") {
		t.Errorf("encoding over an image sequence: %v, want an error naming frame00000.jpg", err)
	}
	if err := encodeTestsrc("num-buffers=5", path, vidflow.Props{"overwrite": true}); err != nil {
		t.Fatal(err)
	}
	if n := readBack(t, path); n != 5 {
		t.Errorf("overwritten: %d frames, want 5", n)
	}
}

// H.264 in 4:2:0 needs even sizes: an odd frame loses its last column and
// row instead of failing in x264.
func TestEncodeOddSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd.mp4")
	if err := encodeTestsrc("num-buffers=10&width=641&height=359", path, nil); err != nil {
		t.Fatal(err)
	}
	info, err := vidflow.Discover(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := info.Video[0]; v.Width != 640 || v.Height != 358 || info.Frames() != 10 {
		t.Errorf("odd.mp4: %dx%d, %d frames; want 640x358, 10", v.Width, v.Height, info.Frames())
	}
	if n := readBack(t, path); n != 10 {
		t.Errorf("odd.mp4 read back: %d frames, want 10", n)
	}
	// A normal end leaves a plain MP4: one index, no fragments.
	if boxes := topBoxes(t, path); !strings.Contains(boxes, "moov") || strings.Contains(boxes, "moof") {
		t.Errorf("odd.mp4 boxes %s, want a plain MP4 (moov, no moof)", boxes)
	}
}

// topBoxes lists the top-level boxes of an MP4 file.
func topBoxes(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for len(b) >= 8 {
		size := int(binary.BigEndian.Uint32(b))
		names = append(names, string(b[4:8]))
		if size < 8 || size > len(b) {
			break // 0 (to the end) or 1 (64-bit size): the last box for these files
		}
		b = b[size:]
	}
	return strings.Join(names, " ")
}
