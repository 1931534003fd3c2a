package infer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/config"
)

// Unknown groups and keys are warnings naming file, line and key with the
// closest known name, as DeepStream only warns; in strict mode (the
// environment variable or LoadStrict) the same text is the error.
func TestConfigUnknownKeysWarnOrFail(t *testing.T) {
	text := "[property]\nonnx-file=m.onnx\nbatchsize=2\n[tracker]\nx=1\n[class-attrs-all]\ntopkk=3\n"
	c, err := parse(t, "c.txt", text)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`c.txt:4: [tracker] unknown group (known: property, class-attrs-all, class-attrs-<class id>): ignored`,
		`c.txt:3: [property] batchsize: unknown key (did you mean "batch-size"?): ignored`,
		`c.txt:7: [class-attrs-all] topkk: unknown key (did you mean "topk"?): ignored`,
	}
	if len(c.Unknown) != len(want) {
		t.Fatalf("warnings %q, want %q", c.Unknown, want)
	}
	for i, w := range want {
		if !strings.HasSuffix(c.Unknown[i], w) {
			t.Errorf("warning %d: %q, want it to end %q", i, c.Unknown[i], w)
		}
	}
	if c.BatchSize != 1 {
		t.Errorf("an unknown key changed batch-size: %d", c.BatchSize)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "c.txt")
	writeFiles(t, dir, map[string]string{"c.txt": text, "m.onnx": "x"})
	if _, err := LoadStrict(path); err == nil || !strings.Contains(err.Error(), "c.txt:4: [tracker] unknown group") {
		t.Errorf("LoadStrict: %v, want the unknown group as an error", err)
	}
	t.Setenv(config.StrictEnv, "1")
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "unknown group") {
		t.Errorf("LoadConfig with %s=1: %v, want an error", config.StrictEnv, err)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// input-dims and uff-input-dims, the older forms of infer-dims, carry the
// input order as a fourth value; disable-output-host-copy is accepted.
func TestConfigOldDimsKeys(t *testing.T) {
	for _, k := range []string{"input-dims", "uff-input-dims"} {
		c, err := parse(t, "c.txt", "[property]\nonnx-file=m.onnx\n"+k+"=3;544;960;1\ndisable-output-host-copy=0\n")
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !slices.Equal(c.InferDims, []int{3, 544, 960}) || c.InputOrder != 1 || len(c.Unknown) != 0 {
			t.Errorf("%s: dims %v order %d unknown %q", k, c.InferDims, c.InputOrder, c.Unknown)
		}
		_, err = parse(t, "c.txt", "[property]\nonnx-file=m.onnx\n"+k+"=3;544;960;2\n")
		if err == nil || !strings.Contains(err.Error(), k+": want C;H;W;order") {
			t.Errorf("%s with order 2: %v", k, err)
		}
	}
}

// The refusals say why (errors.Is) and what to do.
func TestConfigRefusalReasons(t *testing.T) {
	cases := []struct {
		name, text string
		is         error
		want       string
	}{
		{"c.txt", "[property]\nmodel-engine-file=m.engine\n", ErrTensorRTOnly, "onnx-file: missing: vidflow runs ONNX models with ONNX Runtime, and model-engine-file is a TensorRT engine; give the ONNX file the engine was built from as onnx-file"},
		{"c.txt", "[property]\ntlt-encoded-model=m.etlt\ntlt-model-key=k\n", ErrTensorRTOnly, "tlt-encoded-model is a TAO .etlt model (encrypted, for TensorRT); give the model's ONNX export"},
		{"c.txt", "[property]\nonnx-file=absent.onnx\n", ErrModelMissing, "absent.onnx\" does not exist"},
		{"c.txt", "# Triton\ninfer_config {\n  unique_id: 1\n}\n", ErrTriton, "nvinferserver (Triton Inference Server) config"},
		{"c.txt", "[property]\nonnx-file=m.onnx\ncustom-lib-path=libx.so\nparse-bbox-func-name=NvDsInferParseCustomX\n", ErrCParser,
			`parse-bbox-func-name: "NvDsInferParseCustomX" is a function of the C library libx.so (custom-lib-path), which vidflow cannot load`},
		{"c.txt", "[property]\nonnx-file=m.onnx\nnetwork-type=1\ncustom-lib-path=libp.so\nparse-classifier-func-name=NvDsParseCustomPoseClassification\n", ErrCParser,
			"read the outputs in a probe"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"m.onnx": "x"})
		_, err := ParseConfig(filepath.Join(dir, c.name), []byte(c.text))
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %v saying %q", c.text, err, c.is, c.want)
		}
	}
	// A parser of a C library that vidflow has built in loads.
	if _, err := parse(t, "c.txt", "[property]\nonnx-file=m.onnx\ncustom-lib-path=libnvdsinfer_custom_impl_Yolo.so\nparse-bbox-func-name=NvDsInferParseYoloV8\n"); err != nil {
		t.Errorf("built-in parser with custom-lib-path: %v", err)
	}
}
