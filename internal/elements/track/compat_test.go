package track

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/config"
)

// Unknown sections and keys are warnings with the closest known name, as
// DeepStream only warns; errors when strict. DeepStream 8's sections and
// keys are known, and "%YAML:1.0" after a licence comment is read.
func TestConfigUnknownAndDeepStream8(t *testing.T) {
	text := "# SPDX-License-Identifier: Apache-2.0\n\n%YAML:1.0\nTargetManagement:\n  probatonAge: 3\n  maxTrajectoryBufferLength: 32\n" +
		"Tracker:\n  x: 1\nPoseEstimator:\n  poseEstimatorType: 1\nMultiViewAssociator:\n  multiViewAssociatorType: 1\n"
	c, err := ParseConfig("t.yml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`tracker config t.yml: line 5: TargetManagement: unknown key "probatonAge" (did you mean "probationAge"?): ignored`,
		`tracker config t.yml: line 7: unknown section "Tracker" (known: `,
	}
	if len(c.Unknown) != 2 || c.Unknown[0] != want[0] || !strings.HasPrefix(c.Unknown[1], want[1]) {
		t.Errorf("unknown %q, want %q", c.Unknown, want)
	}
	ign := strings.Join(c.Ignored, ",")
	for _, k := range []string{"TargetManagement.maxTrajectoryBufferLength", "PoseEstimator", "MultiViewAssociator"} {
		if !strings.Contains(ign, k) {
			t.Errorf("ignored %v, want %s", c.Ignored, k)
		}
	}
	if c.ProbationAge != 2 {
		t.Errorf("a misspelt key changed probationAge: %d", c.ProbationAge)
	}
	path := filepath.Join(t.TempDir(), "t.yml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStrict(path); err == nil || !strings.Contains(err.Error(), `unknown key "probatonAge"`) {
		t.Errorf("strict: %v", err)
	}
	t.Setenv(config.StrictEnv, "1")
	if _, err := LoadConfig(path); err == nil {
		t.Errorf("%s=1: no error", config.StrictEnv)
	}
}

// deepstream-test2's tracker INI file: the [tracker] group of nvtracker
// properties, typed, ll-config-file resolved and loaded; a key that is no
// nvtracker property is an error naming it.
func TestPropertiesFile(t *testing.T) {
	dir := t.TempDir()
	ini := "[tracker]\ntracker-width=640\ntracker-height=384\ngpu-id=0\n" +
		"ll-lib-file=/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so\n" +
		"ll-config-file=t.yml\nenable-batch-process=1\nenable-past-frame=1\n"
	for name, text := range map[string]string{"t.txt": ini, "t.yml": "%YAML:1.0\nBaseConfig:\n  minDetectorConfidence: 0.5\n",
		"bad.txt": "[tracker]\ntracker-widht=640\n", "absent.txt": "[tracker]\nll-config-file=nope.yml\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	props, err := PropertiesFile(filepath.Join(dir, "t.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if props["tracker-width"] != 640 || props["enable-past-frame"] != true || props["ll-config-file"] != filepath.Join(dir, "t.yml") {
		t.Errorf("props %v", props)
	}
	_, err = PropertiesFile(filepath.Join(dir, "bad.txt"))
	if err == nil || !strings.Contains(err.Error(), `bad.txt:2: [tracker] tracker-widht: not an nvtracker property (did you mean "tracker-width"?)`) {
		t.Errorf("bad key: %v", err)
	}
	_, err = PropertiesFile(filepath.Join(dir, "absent.txt"))
	if err == nil || !strings.Contains(err.Error(), "nope.yml\" does not exist") {
		t.Errorf("absent ll-config-file: %v", err)
	}
}
