package samples

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestCorpus loads every file of a folder of checked-out sample
// repositories (VIDFLOW_DS_CORPUS; skipped without it, as CI cannot reach
// them) and prints what became of each. It fails on any Failed file not
// listed in VIDFLOW_DS_CORPUS_EXPECT_FAILED (a file of paths, one a line;
// by default corpus_known_gaps.txt, the known gaps), so that a new
// refusal is seen.
func TestCorpus(t *testing.T) {
	root := os.Getenv("VIDFLOW_DS_CORPUS")
	if root == "" {
		t.Skip("VIDFLOW_DS_CORPUS is not set (a folder of checked-out sample repositories)")
	}
	expected := map[string]bool{}
	p := os.Getenv("VIDFLOW_DS_CORPUS_EXPECT_FAILED")
	if p == "" {
		p = "corpus_known_gaps.txt"
	}
	{
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
				expected[l] = true
			}
		}
	}
	counts := map[string]int{}
	kinds := map[string]int{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".txt", ".yml", ".yaml", ".ini", ".cfg":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		r := Load(path, data)
		r.Path = Rel(root, path)
		counts[r.Outcome]++
		if r.Outcome != Skipped {
			kinds[r.Kind]++
		}
		switch {
		case r.Outcome == Failed && !expected[r.Path]:
			t.Errorf("%s", r)
		default:
			t.Log(r.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for k, n := range counts {
		lines = append(lines, fmt.Sprintf("%s: %d", k, n))
	}
	for k, n := range kinds {
		lines = append(lines, "kind "+fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(lines)
	t.Log("summary:\n  " + strings.Join(lines, "\n  "))
}
