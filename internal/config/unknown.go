package config

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// StrictEnv names the environment variable that makes unknown keys of
// config files errors ("1", "true"). By default they are warnings, as in
// DeepStream, which only warns on keys it does not know: a file written
// for a newer DeepStream still loads.
const StrictEnv = "VIDFLOW_STRICT_CONFIG"

// StrictFromEnv reports whether StrictEnv asks for errors.
func StrictFromEnv() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(StrictEnv))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Unknown is what a loader does with a key it does not know: in strict
// mode, an error naming the file, line and key (with the closest known
// name); otherwise the same text as a warning, added to Warnings.
type Unknown struct {
	Strict   bool
	Warnings []string
}

// Key handles an unknown key of v's group; known are the group's keys,
// for the "did you mean". The error is nil unless strict.
func (u *Unknown) Key(v Value, known []string) error {
	err := v.Errorf("unknown key%s", Suggest(v.Key, known))
	if u.Strict {
		return err
	}
	u.Warnings = append(u.Warnings, err.Error()+": ignored")
	return nil
}

// Group handles an unknown group, as Key does.
func (u *Unknown) Group(file string, s *Section, known string) error {
	err := s.Errorf(file, "unknown group (known: %s)", known)
	if u.Strict {
		return err
	}
	u.Warnings = append(u.Warnings, err.Error()+": ignored")
	return nil
}

// Suggest names the closest of known to k, for typos: ` (did you mean
// "x"?)`, or "" when nothing is close.
func Suggest(k string, known []string) string {
	best, bestD := "", 4
	sorted := append([]string(nil), known...)
	sort.Strings(sorted) // the same answer on every run when two are as close
	lk := strings.ToLower(k)
	for _, name := range sorted {
		d := editDistance(lk, strings.ToLower(name))
		if d < bestD {
			best, bestD = name, d
		}
	}
	if best != "" && best != k {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Keys lists a map's keys, for Suggest.
func Keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// StripYAMLDirective turns OpenCV's "%YAML:1.0" directive (DeepStream's
// tracker files start with it, often after a licence comment) into a
// comment: it is not valid YAML 1.2, and a YAML parser refuses it. Only
// a directive before the first line of content is touched.
func StripYAMLDirective(data []byte) []byte {
	s := string(data)
	off := 0
scan:
	for off < len(s) {
		end := strings.IndexByte(s[off:], '\n')
		if end < 0 {
			end = len(s) - off
		}
		line := strings.TrimSpace(s[off : off+end])
		switch {
		case line == "" || line[0] == '#':
			off += end + 1
			continue
		case strings.HasPrefix(line, "%YAML:"):
			out := make([]byte, 0, len(data)+1)
			out = append(out, s[:off]...)
			out = append(out, '#')
			return append(out, s[off:]...)
		}
		break scan
	}
	return data
}
