package deepstream

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Source lists are read bounded, and a file that lists no stream is an
// error naming it (not a silent empty batch).
func TestReadSourceListBounded(t *testing.T) {
	start := time.Now()
	if _, err := ReadSourceList("/dev/zero"); err == nil || !strings.Contains(err.Error(), "/dev/zero") {
		t.Errorf("/dev/zero: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("/dev/zero took %v", time.Since(start))
	}
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"), 0o644)
	empty := filepath.Join(dir, "empty.yml")
	os.WriteFile(empty, []byte("source-config:\n  properties: {file-loop: true}\n"), 0o644)
	comments := filepath.Join(dir, "comments.yml")
	os.WriteFile(comments, []byte("# nothing here\n"), 0o644)
	for _, c := range []struct{ path, want string }{{passwd, "cannot unmarshal"}, {empty, "no streams"}, {comments, "no streams"}} {
		if _, err := ReadSourceList(c.path); err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming it and %q", c.path, err, c.want)
		}
	}
	big := filepath.Join(dir, "big.yml")
	os.WriteFile(big, []byte("source-list:\n"+strings.Repeat("  - {uri: testsrc://}\n", MaxSourceListSize/20)), 0o644)
	if _, err := ReadSourceList(big); err == nil || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("over the limit: %v", err)
	}
}

// file-loop is a property of file streams: a batch-wide file-loop (as the
// shipped serve config has) does not reach RTSP, HTTP or synthetic streams.
func TestFileLoopOnlyForFiles(t *testing.T) {
	props := map[string]any{"file-loop": true, "latency": 100}
	if got := SourceProps("/videos/a.mp4", props); got["file-loop"] != true {
		t.Errorf("file: %v", got)
	}
	for _, u := range []string{"rtsp://127.0.0.1:8554/cam", "https://example.org/a.mp4"} {
		got := SourceProps(u, props)
		if _, ok := got["file-loop"]; ok || got["latency"] != 100 {
			t.Errorf("%s: %v", u, got)
		}
	}
}
