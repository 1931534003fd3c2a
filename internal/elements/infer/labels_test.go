package infer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labelfile-path is read bounded: a device is refused at once and the
// error names the file.
func TestReadLabelsBounded(t *testing.T) {
	start := time.Now()
	if _, err := ReadLabels("/dev/zero"); err == nil || !strings.Contains(err.Error(), "/dev/zero") {
		t.Errorf("/dev/zero: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("/dev/zero took %v", time.Since(start))
	}
	p := filepath.Join(t.TempDir(), "labels.txt")
	os.WriteFile(p, []byte("car\nperson\n"), 0o644)
	if l, err := ReadLabels(p); err != nil || len(l) != 1 || len(l[0]) != 2 {
		t.Errorf("labels: %v %v", l, err)
	}
}
