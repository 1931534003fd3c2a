package config

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"
)

// ParseINI parses the INI form of DeepStream's config files (GLib key
// files): "[group]" lines start groups, "key=value" lines set keys of the
// current group, lines starting with "#" are comments, blank lines are
// skipped. Keys and values are trimmed. A key set twice keeps both values
// in order (the later wins for callers that apply them in order). A key
// before any group, a line that is neither, or an empty group or key name
// is an error naming the line.
func ParseINI(path string, data []byte) (*File, error) {
	f := &File{Path: path, Format: "ini"}
	if !utf8.Valid(data) {
		return nil, f.Errorf("not a text file (invalid UTF-8)")
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var cur *Section
	for n, line := range strings.Split(string(data), "\n") {
		ln := n + 1
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, &Error{File: path, Line: ln, Err: errors.New("group line must be \"[name]\"")}
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			if name == "" || strings.ContainsAny(name, "[]") {
				return nil, &Error{File: path, Line: ln, Err: errors.New("invalid group name " + line)}
			}
			cur = &Section{Name: name, Line: ln}
			if !f.add(cur) {
				return nil, &Error{File: path, Line: ln, Section: name, Err: errors.New("group appears twice")}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &Error{File: path, Line: ln, Err: errors.New("want \"key=value\", \"[group]\" or a \"#\" comment, got " + quote(line))}
		}
		k = strings.TrimSpace(k)
		if k == "" {
			return nil, &Error{File: path, Line: ln, Err: errors.New("empty key name")}
		}
		if cur == nil {
			return nil, &Error{File: path, Line: ln, Key: k, Err: errors.New("key outside any group (start the file with a group such as [property])")}
		}
		cur.Values = append(cur.Values, Value{File: path, Section: cur.Name, Key: k, Text: strings.TrimSpace(v), Line: ln})
	}
	return f, nil
}

func quote(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "..."
	}
	return "\"" + s + "\""
}
