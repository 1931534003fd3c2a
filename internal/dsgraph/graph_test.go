package dsgraph_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/dsgraph"
)

func plan(t *testing.T, file string) *dsgraph.Plan {
	t.Helper()
	g, err := dsgraph.Load("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.Plan(vidflow.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func links(p *dsgraph.Plan) string {
	var s []string
	for _, l := range p.Links {
		s = append(s, l.From+">"+l.To)
	}
	return strings.Join(s, " ")
}

// NVIDIA's own graphs (testdata/README.md) plan into vidflow elements:
// filesrc → h264parse → nvv4l2decoder becomes one nvurisrcbin, converters
// are absorbed, probe modules attach to their element.
func TestNVIDIAGraphsPlan(t *testing.T) {
	p := plan(t, "dstest1_config_x86.yaml")
	if got, want := links(p), "filesrc>nvstreammux nvstreammux>infer infer>nvdsosd nvdsosd>sink"; got != want {
		t.Errorf("dstest1 links %q, want %q", got, want)
	}
	if e := p.Element("filesrc"); e == nil || e.Kind != "nvurisrcbin" || e.Props["uri"] != "/opt/nvidia/deepstream/deepstream/samples/streams/sample_720p.h264" {
		t.Errorf("filesrc planned as %+v", e)
	}
	p = plan(t, "dstest2_config_x86.yaml")
	if len(p.Probes) != 1 || p.Probes[0].Target != "nvdsosd" || p.Probes[0].Module != "sample_video_probe" || p.Probes[0].Tip != "src" {
		t.Errorf("dstest2 probes %+v", p.Probes)
	}
	if !strings.Contains(links(p), "pgie>nvtracker nvtracker>vehicle_make_classifier vehicle_make_classifier>vehicle_type_classifier vehicle_type_classifier>nvdsosd") {
		t.Errorf("dstest2 links %s", links(p))
	}
	p = plan(t, "dstest3_config_x86.yaml")
	var muxIn []string
	for _, l := range p.Links {
		if l.To == "nvstreammux" {
			muxIn = append(muxIn, l.From)
		}
	}
	if fmt.Sprint(muxIn) != "[uridecodebin uridecodebin1 uridecodebin2 uridecodebin3]" {
		t.Errorf("dstest3 batcher inputs %v, want the four sources in file order", muxIn)
	}
	if !strings.Contains(links(p), "queue1>nvmultistreamtiler") || !strings.Contains(links(p), "queue2>queue3") {
		t.Errorf("dstest3: nvdslogger and the converter not absorbed: %s", links(p))
	}
	p = plan(t, "dstest4_config_x86.yaml")
	b := p.Element("nvmsgbroker")
	if b == nil || b.Kind != "nvmsgbrokersinkbin" || b.Props["msg-conv-config"] == nil || b.Props["msg-broker-conn-str"] != "localhost;9092" || b.Props["topic"] != "test4app" {
		t.Errorf("dstest4 broker planned as %+v", b)
	}
	p = plan(t, "test5_b2_x86.yaml")
	if len(p.Probes) != 3 || p.Element("pgie").Props["batch-size"] != 2 {
		t.Errorf("test5 probes %+v, pgie %+v", p.Probes, p.Element("pgie"))
	}
}

func TestBadGraphs(t *testing.T) {
	const head = "deepstream:\n  nodes:\n"
	cases := []struct{ name, yaml, want string }{
		{"cycle", head + "  - {type: queue, name: a}\n  - {type: queue, name: b}\n  - {type: testsrc, name: s}\n  edges:\n    s: a\n    a: b\n    b: a\n",
			`bad.yaml:9: node "b": the edges form a cycle: a → b → a`},
		{"unknown type", head + "  - type: nvfoo\n    name: foo\n", `bad.yaml:3: node "foo": unknown type "nvfoo"`},
		{"edge to nothing", head + "  - {type: testsrc, name: s}\n  edges:\n    s: sink\n", `bad.yaml:5: node "s": edge to "sink", which is no node`},
		{"edge from nothing", head + "  - {type: testsrc, name: s}\n  edges:\n    x: s\n", `bad.yaml:5: node "x": edge from a node that does not exist`},
		{"probe on a source's sink", head + "  - {type: testsrc, name: s}\n  - {type: sample_video_probe.sample_video_probe, name: p}\n  edges:\n    s.sink: p\n",
			`bad.yaml:6: node "s": probe "p" on the sink side of testsrc, a source: it has no sink tip`},
		{"probe on a sink's src", head + "  - {type: fakesink, name: k}\n  - {type: measure_fps_probe, name: p}\n  edges:\n    k: p\n",
			`bad.yaml:6: node "k": probe "p" on the src side of fakesink, a sink`},
		{"unknown module", head + "  - {type: my_probe.my_probe, name: p}\n", `bad.yaml:3: node "p": unknown module "my_probe.my_probe"`},
		{"unknown property", head + "  - type: nvstreammux\n    name: m\n    properties:\n      batch-size: 1\n      widht: 5\n",
			`bad.yaml:7: node "m": unknown property "widht"`},
		{"bad value", head + "  - type: nvstreammux\n    name: m\n    properties:\n      batch-size: many\n", `bad.yaml:6: node "m": property "batch-size"`},
		{"duplicate", head + "  - {type: queue, name: q}\n  - {type: queue, name: q}\n", `bad.yaml:4: node "q": name used twice (first on line 3)`},
		{"triton", head + "  - {type: nvinferserver, name: i}\n", `bad.yaml:3: node "i": type "nvinferserver" is not in vidflow: Triton`},
		{"into a source", head + "  - {type: queue, name: q}\n  - {type: testsrc, name: s}\n  edges:\n    q: s\n", `bad.yaml:6: node "q": edge to "s": testsrc is a source`},
		{"no deepstream key", "pipeline:\n  elements: []\n", "bad.yaml:1: no `deepstream:` key"},
		{"not yaml", "deepstream: [\n", "bad.yaml: invalid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := dsgraph.Parse("bad.yaml", []byte(c.yaml))
			if err == nil {
				_, err = g.Plan(vidflow.DefaultRegistry())
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v\nwant %s…", err, c.want)
			}
			var ge *dsgraph.Error
			if !errors.As(err, &ge) {
				t.Errorf("%T is not a *dsgraph.Error", err)
			}
		})
	}
}
