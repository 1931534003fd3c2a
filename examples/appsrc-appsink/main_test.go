package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), 60, &out); err != nil {
		t.Fatal(err)
	}
	// The synthetic source has 3 boxes in every frame.
	if !strings.Contains(out.String(), "done: stream 0 60 frames, stream 1 60 frames, 180 objects labelled") {
		t.Errorf("unexpected output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "stream 0 frame 50: 3 objects") {
		t.Errorf("labels missing:\n%s", out.String())
	}
}
