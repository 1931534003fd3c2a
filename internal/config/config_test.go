package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const sampleINI = `# DeepStream sample
[property]
gpu-id=0
net-scale-factor=0.00392156862745098
offsets=123.675;116.28;103.53;
onnx-file = model.onnx
  # indented comment
operate-on-class-ids=0;2

[class-attrs-all]
pre-cluster-threshold=0.2
topk=20

[class-attrs-2]
pre-cluster-threshold=0.6
`

const sampleYAML = `# DeepStream sample
property:
  gpu-id: 0
  net-scale-factor: 0.00392156862745098
  offsets: 123.675;116.28;103.53;
  onnx-file: model.onnx
  operate-on-class-ids: [0, 2]

class-attrs-all:
  pre-cluster-threshold: 0.2
  topk: 20

class-attrs-2:
  pre-cluster-threshold: 0.6
`

// Both forms read into the same groups, keys and values.
func TestINIAndYAMLAgree(t *testing.T) {
	fi, err := ParseINI("a.txt", []byte(sampleINI))
	if err != nil {
		t.Fatal(err)
	}
	fy, err := ParseYAML("a.yml", []byte(sampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(fi.Sections) != 3 || len(fy.Sections) != 3 {
		t.Fatalf("sections: ini %d, yaml %d", len(fi.Sections), len(fy.Sections))
	}
	for i := range fi.Sections {
		si, sy := fi.Sections[i], fy.Sections[i]
		if si.Name != sy.Name || len(si.Values) != len(sy.Values) {
			t.Fatalf("section %d: ini %s/%d yaml %s/%d", i, si.Name, len(si.Values), sy.Name, len(sy.Values))
		}
		for j := range si.Values {
			vi, vy := si.Values[j], sy.Values[j]
			if vi.Key != vy.Key {
				t.Errorf("key %s vs %s", vi.Key, vy.Key)
			}
			a, b := vi.Strings(), vy.Strings()
			if !slices.Equal(a, b) {
				t.Errorf("%s: ini %q yaml %q", vi.Key, a, b)
			}
		}
	}
	p := fi.Section("property")
	if p.Line != 2 || p.Values[3].Line != 6 || p.Values[3].String() != "model.onnx" {
		t.Errorf("positions/values: %+v", p.Values[3])
	}
	if fy.Section("property").Values[1].Line != 4 {
		t.Errorf("yaml line %d", fy.Section("property").Values[1].Line)
	}
	ids, err := fy.Section("property").Values[4].Ints()
	if err != nil || !slices.Equal(ids, []int{0, 2}) {
		t.Errorf("Ints = %v, %v", ids, err)
	}
	offs, err := fi.Section("property").Values[2].Floats()
	if err != nil || len(offs) != 3 || offs[2] != 103.53 {
		t.Errorf("Floats = %v, %v", offs, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, data string
		want       []string
	}{
		{"x.txt", "gpu-id=0\n", []string{"x.txt:1", "gpu-id", "outside any group"}},
		{"x.txt", "[property]\njunk line\n", []string{"x.txt:2", "key=value"}},
		{"x.txt", "[property\n", []string{"x.txt:1", "[name]"}},
		{"x.txt", "[property]\n=3\n", []string{"x.txt:2", "empty key"}},
		{"x.txt", "[a]\n[a]\n", []string{"x.txt:2", "twice"}},
		{"x.txt", "\xff\xfe", []string{"x.txt", "UTF-8"}},
		{"x.yml", "property: [1, 2]\n", []string{"x.yml:1", "[property]", "mapping"}},
		{"x.yml", "property:\n  a:\n    b: 1\n", []string{"x.yml:3", "[property] a:", "not a mapping"}},
		{"x.yml", "- a\n- b\n", []string{"x.yml:1", "mapping of groups"}},
		{"x.yml", "property:\n  a: [1\n", []string{"x.yml", "invalid YAML"}},
	}
	for _, c := range cases {
		_, err := Parse(c.name, []byte(c.data))
		if err == nil {
			t.Errorf("%q: no error", c.data)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not contain %q", c.data, err, w)
			}
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%q: %T is not a *config.Error", c.data, err)
		}
	}
}

func TestEmptyFiles(t *testing.T) {
	for _, c := range []struct{ name, data string }{{"e.yml", ""}, {"e.yml", "# only a comment\n"}, {"e.txt", ""}, {"e.yml", "property:\n"}} {
		f, err := Parse(c.name, []byte(c.data))
		if err != nil {
			t.Errorf("%q: %v", c.data, err)
			continue
		}
		for _, s := range f.Sections {
			if len(s.Values) != 0 {
				t.Errorf("%q: values in %s", c.data, s.Name)
			}
		}
	}
}

func TestTypedValues(t *testing.T) {
	v := func(s string) Value { return Value{File: "c.txt", Section: "property", Key: "k", Text: s, Line: 7} }
	if i, err := v(" 42 ").Int(); err != nil || i != 42 {
		t.Errorf("Int = %d, %v", i, err)
	}
	if _, err := v("4.2").Int(); err == nil || !strings.Contains(err.Error(), `c.txt:7: [property] k: want an integer, got "4.2"`) {
		t.Errorf("Int error = %v", err)
	}
	if _, err := v("9").IntIn(0, 4); err == nil || !strings.Contains(err.Error(), "out of range (want 0..4)") {
		t.Errorf("IntIn error = %v", err)
	}
	if _, err := v("5").OneOf(0, 1, 100); err == nil || !strings.Contains(err.Error(), "0, 1, 100") {
		t.Errorf("OneOf error = %v", err)
	}
	for s, want := range map[string]bool{"1": true, "true": true, "TRUE": true, "0": false, "false": false} {
		if b, err := v(s).Bool(); err != nil || b != want {
			t.Errorf("Bool(%q) = %v, %v", s, b, err)
		}
	}
	if _, err := v("2").Bool(); err == nil {
		t.Error("Bool(2) accepted")
	}
	for _, s := range []string{"NaN", "inf", "x", ""} {
		if _, err := v(s).Float(); err == nil {
			t.Errorf("Float(%q) accepted", s)
		}
	}
	if _, err := v("1.5").FloatIn(0, 1); err == nil {
		t.Error("FloatIn out of range accepted")
	}
	if _, err := v("1;x").Ints(); err == nil {
		t.Error("Ints(1;x) accepted")
	}
	if _, err := v("1;NaN").Floats(); err == nil {
		t.Error("Floats(1;NaN) accepted")
	}
	if got := v(" a ; b;;c; ").Strings(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Strings = %q", got)
	}
}

func TestPaths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VIDFLOW_CACHE", "/cache")
	t.Setenv("HOME", "/home/u")
	t.Setenv("MODELS", "/models")
	v := func(s string) Value {
		return Value{File: filepath.Join(dir, "c.yml"), Key: "onnx-file", Text: s, Line: 3}
	}
	cases := map[string]string{
		"${VIDFLOW_CACHE}/models/m.onnx": "/cache/models/m.onnx",
		"$MODELS/m.onnx":                 "/models/m.onnx",
		"~/m.onnx":                       "/home/u/m.onnx",
		"m.onnx":                         filepath.Join(dir, "m.onnx"),
		"../x/m.onnx":                    filepath.Join(filepath.Dir(dir), "x", "m.onnx"),
		"/abs/m.onnx":                    "/abs/m.onnx",
	}
	for in, want := range cases {
		got, err := v(in).Path()
		if err != nil || got != want {
			t.Errorf("Path(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := v("${NOT_SET_ANYWHERE_X}/m.onnx").Path(); err == nil || !strings.Contains(err.Error(), "NOT_SET_ANYWHERE_X is not set") {
		t.Errorf("unset variable: %v", err)
	}
	t.Setenv("VIDFLOW_CACHE", "")
	got, _ := v("${VIDFLOW_CACHE}/m.onnx").Path()
	if got != "/home/u/.cache/vidflow/m.onnx" {
		t.Errorf("default cache: %q", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yml")); err == nil || !strings.Contains(err.Error(), "missing.yml") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte(sampleYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(p)
	if err != nil || f.Format != "yaml" || f.Section("class-attrs-2") == nil {
		t.Errorf("Load: %v %+v", err, f)
	}
}

// The parsers never panic and errors are always *Error.
func FuzzParseINI(f *testing.F) {
	f.Add([]byte(sampleINI))
	f.Add([]byte("[a]\nb=c\n#x\n[d]\n"))
	f.Add([]byte("="))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := ParseINI("f.txt", data)
		checkParsed(t, fl, err)
	})
}

func FuzzParseYAML(f *testing.F) {
	f.Add([]byte(sampleYAML))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"))
	f.Add([]byte("a:\n  b: [1, [2]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := ParseYAML("f.yml", data)
		checkParsed(t, fl, err)
	})
}

func checkParsed(t *testing.T, f *File, err error) {
	if err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("error %T %v is not a *config.Error", err, err)
		}
		return
	}
	for _, s := range f.Sections {
		if s.Name == "" {
			t.Fatal("empty section name")
		}
		for _, v := range s.Values {
			if v.Key == "" || v.Section != s.Name {
				t.Fatalf("bad value %+v", v)
			}
			_, _ = v.Int()
			_, _ = v.Floats()
			_, _ = v.Bool()
		}
	}
}
