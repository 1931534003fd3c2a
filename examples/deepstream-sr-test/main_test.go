package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
)

// A recording from the 10th frame (1 s) asked for 20 s ends with the
// 20-frame clip: the file starts on the key frame at 0 and plays to 2 s.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	clip := sample.TestClip(t, dir, 20)
	list, err := sourceList(dir, clip)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), list, dir, 10, 1000, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Source recorded at: (\S+)\. Duration ([\d.]+) sec`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no recording reported:\n%s", out.String())
	}
	info, err := vidflow.Discover(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if info.Duration < 1900*time.Millisecond || info.Duration > 2100*time.Millisecond || len(info.Video) != 1 {
		t.Errorf("the recording plays %v: %+v", info.Duration, info)
	}
}
