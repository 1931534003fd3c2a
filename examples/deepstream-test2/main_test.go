package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/examples/internal/sample"
)

func TestRun(t *testing.T) {
	clip := sample.TestClip(t, t.TempDir(), 10)
	var out bytes.Buffer
	if err := run(context.Background(), clip, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "Object Counter: Pad Idx=0,Frame Number="); n != 10 {
		t.Errorf("%d counter lines, want 10:\n%s", n, out.String())
	}
	m := regexp.MustCompile(`Tracked ids: (\d+), classified objects: (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary:\n%s", out.String())
	}
	ids, _ := strconv.Atoi(m[1])
	classified, _ := strconv.Atoi(m[2])
	if ids < 3 || classified < 10 {
		t.Errorf("%d tracked ids and %d classified objects: want the walkers tracked and classified", ids, classified)
	}
}
