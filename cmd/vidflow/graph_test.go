package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// vidflow run -pipeline runs NVIDIA's deepstream-test1 graph with -set
// swapping its DeepStream paths and its display (the detector is not
// needed to check the graph runs: the inference node becomes a queue).
func TestRunPipelineGraph(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"run", "-pipeline", "../../internal/dsgraph/testdata/dstest1_config_x86.yaml", "-v",
		"-set", "filesrc.type=testsrc", "-set", "filesrc.num-buffers=6",
		"-set", "infer.type=queue", "-set", "sink.type=fakesink"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	if !regexp.MustCompile(`(?m)^sink +fakesink +6 `).MatchString(s) {
		t.Errorf("the sink did not get 6 frames:\n%s", s)
	}
	if !strings.Contains(s, `note: ../../internal/dsgraph/testdata/dstest1_config_x86.yaml:22: node "h264parse"`) {
		t.Errorf("-v did not print the absorbed nodes:\n%s", s)
	}
}

func TestRunPipelineGraphErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-pipeline", "../../internal/dsgraph/testdata/dstest1_config_x86.yaml"},
			`dstest1_config_x86.yaml:18: node "filesrc": nvurisrcbin: file "/opt/nvidia/deepstream/deepstream/samples/streams/sample_720p.h264" doesn't exist`},
		{[]string{"-pipeline", "../../internal/dsgraph/testdata/dstest1_config_x86.yaml", "-set", "nosuch.x=1"}, `no element "nosuch"`},
		{[]string{"-pipeline", "../../internal/dsgraph/testdata/dstest1_config_x86.yaml", "-set", "oops"}, `want node.property=value`},
		{[]string{"-pipeline", "missing.yaml"}, `missing.yaml`},
	} {
		var out bytes.Buffer
		err := run(append([]string{"run"}, c.args...), &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want …%s…", c.args, err, c.want)
		}
	}
}
