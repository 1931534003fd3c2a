package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"-frames", "150", "-write", dir}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| iou | 0 |", "| sort | 2 |", "| bytetrack | 0 |", "150 frames"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	gt := filepath.Join(dir, "gt.txt")
	if err := run([]string{"-gt", gt, "-hyp", filepath.Join(dir, "sort.txt"), "-hyp", gt}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| gt.txt | 100.0% | 100.0% |") || !strings.Contains(out.String(), "| sort.txt |") {
		t.Errorf("evaluation output:\n%s", out.String())
	}
	out.Reset()
	if err := run([]string{"-gt", gt, "-det", filepath.Join(dir, "det.txt"), "-size", "1280x720"}, &out); err != nil || !strings.Contains(out.String(), "| bytetrack | 2 |") {
		t.Errorf("tracking detections: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{{"-hyp", gt}, {"-gt", gt}, {"-gt", filepath.Join(dir, "none.txt"), "-hyp", gt}, {"-frames", "0"}} {
		if err := run(bad, &out); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
