package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/examples/internal/sample"
)

func clips(t *testing.T, frames ...int) []string {
	t.Helper()
	if _, err := os.Stat(sample.Video()); err != nil {
		t.Skip("no sample video: run scripts/setup.sh")
	}
	var out []string
	for i, n := range frames {
		p := filepath.Join(t.TempDir(), "clip"+strconv.Itoa(i)+".mp4")
		if err := sample.Clip(p, n); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestStatic(t *testing.T) {
	var out bytes.Buffer
	if err := static(context.Background(), clips(t, 4, 4), &out); err != nil {
		t.Fatal(err)
	}
	for _, pad := range []string{"0", "1"} {
		if n := strings.Count(out.String(), "Object Counter: Pad Idx="+pad+",Frame Number="); n != 4 {
			t.Errorf("stream %s: %d counter lines, want 4:\n%s", pad, n, out.String())
		}
	}
}

// Three streams added one by one; the first removed once the third is
// in: the others play to their end.
func TestDynamic(t *testing.T) {
	var out bytes.Buffer
	if err := dynamicStreams(context.Background(), clips(t, 24, 10, 10), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"Stream added: source 0", "Stream added: source 1", "Stream added: source 2",
		"Stream removed: source 0", "Stream ended: source 1", "Stream ended: source 2", "source 1: 10 frames", "source 2: 10 frames"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in:\n%s", want, s)
		}
	}
	m := regexp.MustCompile(`source 0: (\d+) frames`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no count of source 0:\n%s", s)
	}
	if n, _ := strconv.Atoi(m[1]); n < 5 || n >= 24 {
		t.Errorf("the removed stream gave %d frames: want some, not all 24", n)
	}
}
