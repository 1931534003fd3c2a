package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/examples/internal/sample"
)

func TestRun(t *testing.T) {
	clip := sample.TestClip(t, t.TempDir(), 8)
	var out bytes.Buffer
	if err := run(context.Background(), []string{clip}, sample.Analytics(), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, re := range []string{
		`Frame 0 object in ROI count: map\[RF:\d+\]`,
		`Frame 7 object line crossing cumulative count: map\[Entry:\d+ Exit:\d+\]`,
		`Frame 3 overcrowding status: map\[OC:(true|false)\]`,
		`Object \d+ ROI status: \[`,
		`Object Counter: Pad Idx=0,Frame Number=7,`,
	} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("no %s in the output:\n%s", re, s[:min(len(s), 3000)])
		}
	}
	if n := strings.Count(s, "object count: "); n != 8 {
		t.Errorf("%d frames with analytics, want 8", n)
	}
}
