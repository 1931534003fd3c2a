package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A config of 400k groups parses in well under 5 s in both forms: the
// parsers are linear in the groups (issue 20 asked for this bound).
func TestParseManyGroupsLinear(t *testing.T) {
	const groups = 400_000
	var ini, yml strings.Builder
	for i := 0; i < groups; i++ {
		fmt.Fprintf(&ini, "[g%d]\nk=%d\n", i, i)
		fmt.Fprintf(&yml, "g%d:\n  k: %d\n", i, i)
	}
	for _, c := range []struct{ path, data string }{{"many.txt", ini.String()}, {"many.yml", yml.String()}} {
		start := time.Now()
		f, err := Parse(c.path, []byte(c.data))
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if len(f.Sections) != groups || f.Section("g399999") == nil || f.Section("g0").Values[0].Text != "0" {
			t.Errorf("%s: %d groups", c.path, len(f.Sections))
		}
		if took > 5*time.Second {
			t.Errorf("%s: %d groups took %v; want < 5 s", c.path, groups, took)
		}
	}
	// A duplicate group is still found, with the line of its second use.
	if _, err := Parse("dup.txt", []byte("[a]\nk=1\n[b]\n[a]\n")); err == nil || !strings.Contains(err.Error(), "dup.txt:4: [a] group appears twice") {
		t.Errorf("duplicate group: %v", err)
	}
}

// Reads are bounded: a device such as /dev/zero is refused at once, and a
// file over the limit is refused with its name and the limit.
func TestReadFileBounded(t *testing.T) {
	start := time.Now()
	_, err := Load("/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("/dev/zero took %v", time.Since(start))
	}
	big := filepath.Join(t.TempDir(), "big.txt")
	os.WriteFile(big, []byte(strings.Repeat("#\n", 1000)), 0o644)
	if _, err := ReadFile(big, 100); err == nil || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "100 bytes") {
		t.Errorf("over the limit: %v", err)
	}
	if data, err := ReadFile(big, 2000); err != nil || len(data) != 2000 {
		t.Errorf("under the limit: %d bytes, %v", len(data), err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope.txt")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing: %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("folder: %v", err)
	}
}
