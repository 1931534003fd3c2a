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

// fakeCache makes a cache folder with placeholder model and labels files
// and points VIDFLOW_CACHE at it.
func fakeCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	m := filepath.Join(dir, "models", "centernet")
	if err := os.MkdirAll(m, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"centernet.onnx", "labels.txt"} {
		if err := os.WriteFile(filepath.Join(m, f), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("VIDFLOW_CACHE", dir)
	return dir
}

// The repository's default configs, in both forms, read the same.
func TestDefaultConfigsAgree(t *testing.T) {
	cache := fakeCache(t)
	y, err := LoadConfig("../../../configs/config_infer_primary.yml")
	if err != nil {
		t.Fatal(err)
	}
	i, err := LoadConfig("../../../configs/config_infer_primary.txt")
	if err != nil {
		t.Fatal(err)
	}
	if y.ONNXFile != filepath.Join(cache, "models", "centernet", "centernet.onnx") || y.LabelFile != filepath.Join(cache, "models", "centernet", "labels.txt") {
		t.Errorf("paths: %q %q", y.ONNXFile, y.LabelFile)
	}
	y.File, i.File, y.given, i.given = "", "", nil, nil
	if !equalConfigs(y, i) {
		t.Errorf("YAML %+v\nINI  %+v", y, i)
	}
	if y.InputOrder != 1 || y.UniqueID != 1 || y.ClusterMode != ClusterNMS || y.ClassAttrs.PreClusterThreshold != 0.25 || y.ClassAttrs.TopK != 100 ||
		!slices.Equal(y.OutputBlobNames, []string{"heat", "wh"}) || y.ScalingFilter != 1 || y.NumDetectedClasses != 80 {
		t.Errorf("values: %+v", y)
	}
	if len(y.Ignored) != 0 || len(y.Notes) != 0 {
		t.Errorf("ignored %v notes %v", y.Ignored, y.Notes)
	}
}

func equalConfigs(a, b *Config) bool {
	return a.ONNXFile == b.ONNXFile && a.LabelFile == b.LabelFile && a.NetScaleFactor == b.NetScaleFactor &&
		a.InputOrder == b.InputOrder && a.UniqueID == b.UniqueID && a.ClusterMode == b.ClusterMode &&
		a.ClassAttrs == b.ClassAttrs && slices.Equal(a.OutputBlobNames, b.OutputBlobNames) && a.ScalingFilter == b.ScalingFilter &&
		a.NumDetectedClasses == b.NumDetectedClasses && a.ParseBboxFuncName == b.ParseBboxFuncName && a.BatchSize == b.BatchSize &&
		a.ExecutionProvider == b.ExecutionProvider && a.IntraOpThreads == b.IntraOpThreads
}

func parse(t *testing.T, name, text string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.onnx"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "l.txt"), []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse(filepath.Join(dir, name), []byte(text))
	if err != nil {
		return nil, err
	}
	return FromFile(f)
}

func TestConfigDefaults(t *testing.T) {
	c, err := parse(t, "c.txt", "[property]\nonnx-file=m.onnx\nnetwork-type=1\n")
	if err != nil {
		t.Fatal(err)
	}
	// DeepStream's defaults (spec §9.1).
	if c.NetScaleFactor != 1 || c.BatchSize != 1 || c.ProcessMode != 1 || c.UniqueID != 15 || c.OperateOnGIEID != -1 ||
		c.ModelColorFormat != 0 || c.InputOrder != 0 || c.Interval != 0 || c.ClusterMode != ClusterGroupRectangles ||
		c.ClassifierThreshold != 0 || c.ScalingFilter != 0 || c.ExecutionProvider != "cpu" {
		t.Errorf("defaults %+v", c)
	}
	if a := c.ClassAttrs; a.PreClusterThreshold != 0.2 || a.NMSIoUThreshold != 0.3 || a.TopK != -1 || a.PostClusterThreshold != 0 {
		t.Errorf("class defaults %+v", a)
	}
}

func TestConfigClassAttrs(t *testing.T) {
	// class-attrs-<id> before class-attrs-all still starts from its values.
	c, err := parse(t, "c.yml", `property:
  onnx-file: m.onnx
  cluster-mode: 2
class-attrs-3:
  pre-cluster-threshold: 0.7
class-attrs-all:
  threshold: 0.4
  topk: 20
  nms-iou-threshold: 0.45
  detected-min-w: 8
  border-color: 1;0;0;1
`)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Class(3); a.PreClusterThreshold != 0.7 || a.TopK != 20 || a.NMSIoUThreshold != 0.45 || a.DetectedMinW != 8 {
		t.Errorf("class 3: %+v", a)
	}
	if a := c.Class(1); a.PreClusterThreshold != 0.4 || a.TopK != 20 {
		t.Errorf("class 1: %+v", a)
	}
	if !slices.Equal(c.Ignored, []string{"class-attrs-all/border-color"}) {
		t.Errorf("ignored %v", c.Ignored)
	}
}

// cluster-mode 0 (groupRectangles) becomes NMS with topk 20 and IoU 0.5,
// as DeepStream built without OpenCV does, with a note.
func TestConfigGroupRectanglesIsNMS(t *testing.T) {
	c, err := parse(t, "c.txt", "[property]\nonnx-file=m.onnx\n[class-attrs-2]\ntopk=3\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterMode != ClusterNMS || c.Class(0).TopK != 20 || c.Class(2).TopK != 20 || c.Class(2).NMSIoUThreshold != 0.5 || len(c.Notes) != 1 {
		t.Errorf("%+v %v", c.ClassAttrs, c.Notes)
	}
}

func TestConfigIgnoredAndOldKeys(t *testing.T) {
	c, err := parse(t, "c.txt", `[property]
onnx-file=m.onnx
model-engine-file=m.onnx_b1_gpu0_fp16.engine
network-mode=2
is-classifier=1
gie-id-for-operation=3
uff-input-order=1
`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Ignored, []string{"property/model-engine-file", "property/network-mode"}) {
		t.Errorf("ignored %v", c.Ignored)
	}
	if c.NetworkType != NetworkClassifier || c.OperateOnGIEID != 3 || c.InputOrder != 1 {
		t.Errorf("old keys: %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"c.txt", "[property]\nonnx-file=m.onnx\n[class-attrs-x]\n", "c.txt:3: [class-attrs-x] unknown group"},
		{"c.txt", "[class-attrs-all]\ntopk=1\n", "no [property] group"},
		{"c.txt", "[property]\nonnx-file=m.onnx\nnetwork-type=5\n", "c.txt:3: [property] network-type: 5 is not a valid value (want one of 0, 1, 2, 3, 100)"},
		{"c.txt", "[property]\nonnx-file=m.onnx\nnetwork-type=3\n", "needs parse-bbox-instance-mask-func-name"},
		{"c.txt", "[property]\nonnx-file=m.onnx\nbatch-size=0\n", "out of range (want 1..1024)"},
		{"c.txt", "[property]\nonnx-file=m.onnx\noffsets=1;2\n", "offsets: 2 values for a 3-channel"},
		{"c.txt", "[property]\nonnx-file=m.onnx\ninfer-dims=3;0;4\n", "infer-dims: want three positive numbers"},
		{"c.txt", "[property]\nonnx-file=m.onnx\nmodel-color-format=2\ninfer-dims=3;8;8\n", "infer-dims: 3 channels"},
		{"c.txt", "[property]\nonnx-file=m.onnx\nexecution-provider=tpu\n", "execution-provider: want cpu, cuda or auto"},
		{"c.txt", "[property]\nonnx-file=m.onnx\noperate-on-class-ids=0;-2\n", "class id -2 is negative"},
		{"c.txt", "[property]\nonnx-file=m.onnx\nlabelfile-path=nope.txt\n", `labelfile-path: labels file`},
		{"c.txt", "[property]\nonnx-file=${NOT_SET_VAR_Q}/m.onnx\n", "c.txt:2: [property] onnx-file: environment variable NOT_SET_VAR_Q is not set"},
		{"c.txt", "[property]\ngpu-id=0\n", "onnx-file: missing"},
		{"c.yml", "property:\n  onnx-file: m.onnx\n  output-tensor-meta: maybe\n", "c.yml:3: [property] output-tensor-meta: want a boolean"},
		{"c.yml", "property:\n  onnx-file: m.onnx\nclass-attrs-all:\n  topk: -2\n", "c.yml:4: [class-attrs-all] topk: -2 is out of range"},
	}
	for _, c := range cases {
		_, err := parse(t, c.name, c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
		var ce *config.Error
		if err != nil && !errors.As(err, &ce) {
			t.Errorf("%q: %T is not a config.Error", c.text, err)
		}
	}
}

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	w := func(s string) string {
		p := filepath.Join(dir, "l.txt")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if l, err := ReadLabels(w("person\n\ntraffic light\r\ncar\n")); err != nil || len(l) != 1 || !slices.Equal(l[0], []string{"person", "traffic light", "car"}) {
		t.Errorf("lines: %q %v", l, err)
	}
	if l, err := ReadLabels(w("a;b;c\n")); err != nil || len(l) != 1 || !slices.Equal(l[0], []string{"a", "b", "c"}) {
		t.Errorf("one line: %q %v", l, err)
	}
	if l, err := ReadLabels(w("red;green\nsmall;big;huge\n")); err != nil || len(l) != 2 || len(l[1]) != 3 {
		t.Errorf("per layer: %q %v", l, err)
	}
	if _, err := ReadLabels(w("\n\n")); err == nil {
		t.Error("empty labels accepted")
	}
}

// FromFile never panics, whatever the file holds.
func FuzzConfig(f *testing.F) {
	f.Add("c.yml", "property:\n  onnx-file: m.onnx\n  offsets: 1;2;3\nclass-attrs-2:\n  topk: 3\n")
	f.Add("c.txt", "[property]\nonnx-file=m.onnx\ninfer-dims=3;8;8\nnetwork-type=1\n[class-attrs-all]\neps=0.3\n")
	f.Add("c.txt", "[property]\nmodel-color-format=2\noffsets=3\n")
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.onnx"), []byte("x"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, text string) {
		name = filepath.Join(dir, filepath.Base("x"+name))
		cf, err := config.Parse(name, []byte(text))
		if err != nil {
			return
		}
		c, err := FromFile(cf)
		if err == nil && (c.BatchSize < 1 || c.ONNXFile == "" || c.ClassAttrs.NMSIoUThreshold > 1) {
			t.Fatalf("accepted invalid config %+v", c)
		}
	})
}
