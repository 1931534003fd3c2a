package dsapp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/dsapp"
)

// touch makes an empty file for keys whose file must exist.
func touch(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// NVIDIA's TAO TrafficCamNet config (testdata/README.md) with its model
// and stream swapped by overrides.
func TestLoadNVIDIAConfig(t *testing.T) {
	clip, pgie := touch(t, "clip.mp4"), touch(t, "pgie.yml")
	a, err := dsapp.Load("testdata/deepstream_app_source1_trafficcamnet.txt",
		"source0.uri=file://"+clip, "source0.num-sources=3", "primary-gie.config-file="+pgie, "tracker.ll-config-file=",
		"sink1.enable=1", "sink1.output-file=out.mkv", "sink1.container=2")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Sources) != 3 || a.Sources[0].URI != "file://"+clip {
		t.Errorf("sources %+v, want 3 of type=3's uri", a.Sources)
	}
	if !a.Perf || a.PerfInterval.Seconds() != 1 || a.Tiled == nil || a.Tiled.Width != 1280 || a.Tiled.Height != 720 {
		t.Errorf("application/tiled-display: perf %v every %v, tiled %+v", a.Perf, a.PerfInterval, a.Tiled)
	}
	if a.PGIE == nil || a.PGIE.Config != pgie || a.PGIE.Props["unique-id"] != 1 || a.PGIE.Props["batch-size"] != 1 {
		t.Errorf("primary-gie %+v", a.PGIE)
	}
	if a.Mux["width"] != 1920 || a.Mux["batched-push-timeout"] != 40000 || a.Tracker == nil || a.OSD["font-size"] != 15 {
		t.Errorf("streammux %v, tracker %v, osd %v", a.Mux, a.Tracker, a.OSD)
	}
	cwd, _ := os.Getwd()
	if len(a.Sinks) != 2 || a.Sinks[0].Type != 2 || a.Sinks[1].Type != 3 || a.Sinks[1].Dest != filepath.Join(cwd, "out.mkv") {
		t.Errorf("sinks %+v (an override's relative path is the working directory's)", a.Sinks)
	}
}

func TestLoadResolvesRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "streams"), 0o755)
	os.MkdirAll(filepath.Join(dir, "configs"), 0o755)
	os.WriteFile(filepath.Join(dir, "streams", "a.mp4"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "configs", "pgie.txt"), nil, 0o644)
	cfg := filepath.Join(dir, "configs", "app.txt")
	os.WriteFile(cfg, []byte("[source0]\nenable=1\ntype=2\nuri=file://../streams/a.mp4\n[primary-gie]\nenable=1\nconfig-file=pgie.txt\n"+
		"[sink0]\nenable=1\ntype=3\noutput-file=out.mp4\n"), 0o644)
	a, err := dsapp.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Sources[0].URI != "file://"+filepath.Join(dir, "streams", "a.mp4") || a.PGIE.Config != filepath.Join(dir, "configs", "pgie.txt") ||
		a.Sinks[0].Dest != filepath.Join(dir, "configs", "out.mp4") {
		t.Errorf("uri %s, pgie %s, output %s: want them relative to the config's folder", a.Sources[0].URI, a.PGIE.Config, a.Sinks[0].Dest)
	}
}

func TestLoadBadConfigs(t *testing.T) {
	clip := touch(t, "clip.mp4")
	src := "[source0]\nenable=1\ntype=2\nuri=" + clip + "\n"
	sink := "[sink0]\nenable=1\ntype=1\n"
	cases := []struct{ name, text, want string }{
		{"CSI camera", "[source0]\nenable=1\ntype=5\n" + sink, `app.txt:3: [source0] type: type=5 (CSI camera, nvarguscamerasrc) is Jetson's and not in vidflow: use type=1`},
		{"source type", "[source0]\nenable=1\ntype=9\n" + sink, `app.txt:3: [source0] type: source type 9 is not one of`},
		{"overlay sink", src + "[sink0]\nenable=1\ntype=5\n", `app.txt:7: [sink0] type: type=5 (overlay sink) is Jetson's and not in vidflow: use type=2`},
		{"sink type", src + "[sink0]\nenable=1\ntype=8\n", `app.txt:7: [sink0] type: sink type 8 is not one of`},
		{"mpeg4", src + "[sink0]\nenable=1\ntype=3\ncodec=3\noutput-file=o.mp4\n", `app.txt:8: [sink0] codec: codec 3 is not 1 (H.264) or 2 (H.265)`},
		{"container name", src + "[sink0]\nenable=1\ntype=3\ncontainer=2\noutput-file=o.mp4\n", `[sink0] output-file: output-file "o.mp4" does not end in .mkv`},
		{"unknown key", src + sink + "[osd]\nenable=1\nborder-widht=3\n", `app.txt:10: [osd] border-widht: unknown key`},
		{"missing stream", "[source0]\nenable=1\ntype=2\nuri=file:///no/such.mp4\n" + sink, `app.txt:4: [source0] uri: /no/such.mp4 does not exist`},
		{"missing pgie config", src + sink + "[primary-gie]\nenable=1\nconfig-file=nope.txt\n", `[primary-gie] config-file:`},
		{"triton", src + sink + "[primary-gie]\nenable=1\nplugin-type=1\nconfig-file=x\n", `[primary-gie] plugin-type: plugin-type=1 (nvinferserver, Triton) is not in vidflow`},
		{"unknown group", src + sink + "[sink-x]\n", `app.txt:8: [sink-x] unknown group [sink-x]`},
		{"no source", sink, `no enabled [source%d] group`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "app.txt")
			os.WriteFile(p, []byte(c.text), 0o644)
			_, err := dsapp.Load(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant …%s…", err, c.want)
			}
		})
	}
}
