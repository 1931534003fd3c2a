// Package config reads the two file formats DeepStream's configuration
// files come in, for the elements that take them (nvinfer first; the
// tracker and analytics later):
//
//   - the INI form (GLib key files): "[group]" lines, "key=value" lines,
//     "#" comment lines, lists written "a;b;c";
//   - the YAML form: a mapping of groups, each a mapping of keys to
//     scalars or lists ("property:", "class-attrs-all:", "class-attrs-0:").
//
// Both read into the same File: groups (Sections) of key/value pairs
// (Values) that remember the file and line they came from, so that the
// errors of the typed getters name file, line, group and key. Which keys
// exist and what they mean is the caller's business.
package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File is a parsed configuration file.
type File struct {
	Path     string // as given to Load or Parse
	Format   string // "ini" or "yaml"
	Sections []*Section

	// byName indexes Sections, so that the parsers' duplicate check and
	// Section are not a scan each (quadratic in the groups otherwise).
	byName map[string]*Section
}

// Section is one group of a file: "[property]" in INI, "property:" in YAML.
type Section struct {
	Name   string
	Line   int
	Values []Value
}

// Value is one key's value as written. YAML lists are joined with ";", the
// way the INI form writes them.
type Value struct {
	File    string
	Section string
	Key     string
	Text    string
	Line    int
}

// Error is an error about a file, naming where it is: file, line (0 when
// unknown), group and key (empty when not about one).
type Error struct {
	File    string
	Line    int
	Section string
	Key     string
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Section != "" {
		fmt.Fprintf(&b, "[%s] ", e.Section)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "%s: ", e.Key)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads and parses a file: YAML when its name ends in ".yml" or
// ".yaml" (as DeepStream decides), the INI form otherwise.
func Load(path string) (*File, error) {
	data, err := ReadFile(path, MaxFileSize)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("config file %q does not exist", path)
	case err != nil:
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses data as the format path's extension says (see Load).
func Parse(path string, data []byte) (*File, error) {
	if IsYAML(path) {
		return ParseYAML(path, data)
	}
	return ParseINI(path, data)
}

// IsYAML reports whether a file name is of the YAML form.
func IsYAML(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yml" || ext == ".yaml"
}

// Section returns the named group, or nil.
func (f *File) Section(name string) *Section {
	if f.byName == nil || len(f.byName) != len(f.Sections) { // built by hand, or changed since
		f.byName = make(map[string]*Section, len(f.Sections))
		for i := len(f.Sections) - 1; i >= 0; i-- { // the first of a name wins, as a scan would
			f.byName[f.Sections[i].Name] = f.Sections[i]
		}
	}
	return f.byName[name]
}

// add appends a group the parsers read, keeping the index; false when the
// name is taken.
func (f *File) add(s *Section) bool {
	if f.Section(s.Name) != nil {
		return false
	}
	f.Sections = append(f.Sections, s)
	f.byName[s.Name] = s
	return true
}

// Errorf makes an Error about the file as a whole.
func (f *File) Errorf(format string, args ...any) error {
	return &Error{File: f.Path, Err: fmt.Errorf(format, args...)}
}

// Errorf makes an Error about the section.
func (s *Section) Errorf(file, format string, args ...any) error {
	return &Error{File: file, Line: s.Line, Section: s.Name, Err: fmt.Errorf(format, args...)}
}

// Errorf makes an Error naming the value's file, line, group and key.
func (v Value) Errorf(format string, args ...any) error {
	return &Error{File: v.File, Line: v.Line, Section: v.Section, Key: v.Key, Err: fmt.Errorf(format, args...)}
}

func (v Value) want(what string) error {
	return v.Errorf("want %s, got %q", what, v.Text)
}

// String returns the text, trimmed.
func (v Value) String() string { return strings.TrimSpace(v.Text) }

// number is the number at the start of s: GLib, which reads
// DeepStream's INI files, takes a number followed by white space and
// anything ("3;224;224 # c;h;w" is 3, 224, 224), and so does vidflow.
func number(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i > 0 {
		return s[:i]
	}
	return s
}

// Int reads an integer.
func (v Value) Int() (int, error) {
	i, err := strconv.Atoi(number(v.Text))
	if err != nil {
		return 0, v.want("an integer")
	}
	return i, nil
}

// IntIn reads an integer in [lo, hi].
func (v Value) IntIn(lo, hi int) (int, error) {
	i, err := v.Int()
	if err == nil && (i < lo || i > hi) {
		return 0, v.Errorf("%d is out of range (want %d..%d)", i, lo, hi)
	}
	return i, err
}

// OneOf reads an integer that must be one of allowed.
func (v Value) OneOf(allowed ...int) (int, error) {
	i, err := v.Int()
	if err != nil {
		return 0, err
	}
	for _, a := range allowed {
		if i == a {
			return i, nil
		}
	}
	s := make([]string, len(allowed))
	for k, a := range allowed {
		s[k] = strconv.Itoa(a)
	}
	return 0, v.Errorf("%d is not a valid value (want one of %s)", i, strings.Join(s, ", "))
}

// Float reads a finite number.
func (v Value) Float() (float64, error) {
	f, err := strconv.ParseFloat(number(v.Text), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, v.want("a number")
	}
	return f, nil
}

// FloatIn reads a number in [lo, hi].
func (v Value) FloatIn(lo, hi float64) (float64, error) {
	f, err := v.Float()
	if err == nil && (f < lo || f > hi) {
		return 0, v.Errorf("%g is out of range (want %g..%g)", f, lo, hi)
	}
	return f, err
}

// Bool reads a boolean: 1, 0, true, false (and yes, no, on, off).
func (v Value) Bool() (bool, error) {
	switch strings.ToLower(v.String()) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, v.want("a boolean (0, 1, true or false)")
}

// Strings splits a list written "a;b;c" (a trailing ";" is allowed; empty
// items are dropped).
func (v Value) Strings() []string {
	return SplitList(v.Text)
}

// SplitList splits "a;b;c" into its trimmed, non-empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Ints reads a list of integers ("0;2;5").
func (v Value) Ints() ([]int, error) {
	items := v.Strings()
	out := make([]int, len(items))
	for i, s := range items {
		n, err := strconv.Atoi(number(s))
		if err != nil {
			return nil, v.want("a list of integers separated by ';'")
		}
		out[i] = n
	}
	return out, nil
}

// Floats reads a list of finite numbers ("123.7;116.3;103.5").
func (v Value) Floats() ([]float64, error) {
	items := v.Strings()
	out := make([]float64, len(items))
	for i, s := range items {
		f, err := strconv.ParseFloat(number(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, v.want("a list of numbers separated by ';'")
		}
		out[i] = f
	}
	return out, nil
}

// Path reads a file path as DeepStream resolves them, plus variables:
// "${NAME}" (or "$NAME") is replaced by the environment variable NAME,
// VIDFLOW_CACHE defaulting to CacheDir(); a leading "~/" is the home
// folder; a relative path is relative to the config file's folder.
func (v Value) Path() (string, error) {
	p, err := ExpandPath(v.String(), filepath.Dir(v.File))
	if err != nil {
		return "", v.Errorf("%v", err)
	}
	return p, nil
}

// ExpandPath resolves a path as Value.Path does, relative to dir.
func ExpandPath(p, dir string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	var missing string
	p = os.Expand(p, func(name string) string {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			return v
		}
		if name == "VIDFLOW_CACHE" {
			return CacheDir()
		}
		if missing == "" {
			missing = name
		}
		return ""
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s is not set", missing)
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot expand ~: %v", err)
		}
		p = filepath.Join(home, p[1:])
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return filepath.Clean(p), nil
}

// CacheDir is where vidflow's set-up puts models, media and the ONNX
// Runtime library: $VIDFLOW_CACHE, else $HOME/.cache/vidflow.
func CacheDir() string {
	if d := os.Getenv("VIDFLOW_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), "vidflow-cache")
	}
	return filepath.Join(home, ".cache", "vidflow")
}
