package dsapp_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/dsapp"
)

// NVIDIA's YAML TrafficCamNet + VehicleMakeNet + VehicleTypeNet config
// (testdata/README.md), its sources in the CSV file next to it, with its
// models and stream swapped by overrides.
func TestLoadNVIDIAYAMLConfig(t *testing.T) {
	const cfg = "testdata/deepstream_app_source1_trafficcamnet_vehiclemakenet_vehicletypenet.yml"
	clip, pgie, make, typ := touch(t, "clip.mp4"), touch(t, "pgie.yml"), touch(t, "make.yml"), touch(t, "type.yml")
	models := []string{"primary-gie.config-file=" + pgie, "secondary-gie0.config-file=" + make, "secondary-gie1.config-file=" + typ,
		"tracker.ll-config-file="}
	a, err := dsapp.Load(cfg, append(models, "source0.uri=file://"+clip)...)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Sources) != 1 || a.Sources[0].URI != "file://"+clip || a.Sources[0].Group != "source0" || a.Sources[0].Line != 2 {
		t.Errorf("sources %+v, want the CSV's one line (line 2) as source0", a.Sources)
	}
	if !a.Perf || a.PerfInterval.Seconds() != 1 || a.Tiled == nil || *a.Tiled != (dsapp.Tiled{Rows: 1, Columns: 1, Width: 1280, Height: 720}) {
		t.Errorf("application/tiled-display: perf %v every %v, tiled %+v", a.Perf, a.PerfInterval, a.Tiled)
	}
	if a.PGIE == nil || a.PGIE.Config != pgie || a.PGIE.Props["unique-id"] != 1 || a.PGIE.Props["batch-size"] != 1 {
		t.Errorf("primary-gie %+v", a.PGIE)
	}
	if len(a.SGIEs) != 2 || a.SGIEs[0].Config != make || a.SGIEs[1].Config != typ {
		t.Fatalf("secondary-gies %+v", a.SGIEs)
	}
	for i, id := range []int{4, 5} {
		p := a.SGIEs[i].Props
		if p["unique-id"] != id || p["infer-on-gie-id"] != 1 || p["operate-on-class-ids"] != "0" || p["batch-size"] != 4 {
			t.Errorf("%s: %v", a.SGIEs[i].Group, p)
		}
	}
	if a.Mux["width"] != 1920 || a.Mux["batched-push-timeout"] != 40000 || a.Tracker == nil || a.OSD["font-size"] != 15 || a.OSD["border-width"] != 3 {
		t.Errorf("streammux %v, tracker %v, osd %v", a.Mux, a.Tracker, a.OSD)
	}
	if len(a.Sinks) != 1 || a.Sinks[0].Type != 2 || a.Sinks[0].Group != "sink0" {
		t.Errorf("sinks %+v, want sink0 (a window) only", a.Sinks)
	}

	// Without the override, the CSV's stream is NVIDIA's: the error names
	// the CSV file and its line.
	_, err = dsapp.Load(cfg, models...)
	if want := "testdata/source_tao_app.csv:2: [source0] uri: /opt/nvidia/"; err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, config.ErrMissingFile) {
		t.Errorf("got %v, want …%s… (a missing file)", err, want)
	}
}

// NVIDIA's TAO ReIdentificationNet config has a [secondary-gie] group
// without a number, which deepstream-app takes as it takes any group
// whose name starts with secondary-gie.
func TestLoadUnnumberedSecondaryGIE(t *testing.T) {
	clip, pgie, sgie := touch(t, "clip.mp4"), touch(t, "pgie.txt"), touch(t, "sgie.txt")
	a, err := dsapp.Load("testdata/peoplenet_reidentification.txt", "source0.uri=file://"+clip, "primary-gie.config-file="+pgie,
		"secondary-gie.config-file="+sgie, "tracker.ll-config-file=")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.SGIEs) != 1 || a.SGIEs[0].Group != "secondary-gie" || a.SGIEs[0].Config != sgie ||
		a.SGIEs[0].Props["unique-id"] != 2 || a.SGIEs[0].Props["infer-on-gie-id"] != 1 {
		t.Errorf("secondary-gies %+v", a.SGIEs)
	}
}

// The same config as INI and as YAML (with its CSV file) is the same App.
func TestYAMLIsINI(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"streams/a.mp4", "streams/b.mp4", "configs/pgie.txt", "configs/sgie.txt"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	ini := "[application]\nenable-perf-measurement=1\nperf-measurement-interval-sec=2\n" +
		"[tiled-display]\nenable=1\nrows=1\ncolumns=3\n" +
		"[source0]\nenable=1\ntype=3\nuri=file://../streams/a.mp4\nnum-sources=2\ngpu-id=0\n" +
		"[source1]\nenable=0\ntype=3\nuri=file://../streams/a.mp4\nnum-sources=2\ngpu-id=0\n" +
		"[source2]\nenable=1\ntype=2\nuri=file://../streams/b.mp4\nnum-sources=1\ngpu-id=0\n" +
		"[streammux]\nbatch-size=3\nwidth=1280\nheight=720\n" +
		"[primary-gie]\nenable=1\nconfig-file=pgie.txt\ngie-unique-id=1\n" +
		"[secondary-gie0]\nenable=1\nconfig-file=sgie.txt\ngie-unique-id=2\noperate-on-gie-id=1\noperate-on-class-ids=0;2\n" +
		"[osd]\nenable=1\ntext-size=12\n" +
		"[sink0]\nenable=1\ntype=3\ncodec=2\ncontainer=2\noutput-file=out.mkv\nsync=0\n" +
		"[tests]\nfile-loop=1\n"
	yml := "application:\n  enable-perf-measurement: 1\n  perf-measurement-interval-sec: 2\n" +
		"tiled-display:\n  enable: 1\n  rows: 1\n  columns: 3\n" +
		"source:\n  csv-file-path: lists/sources.csv\n" +
		"streammux:\n  batch-size: 3\n  width: 1280\n  height: 720\n" +
		"primary-gie:\n  enable: 1\n  config-file: pgie.txt\n  gie-unique-id: 1\n" +
		"secondary-gie0:\n  enable: 1\n  config-file: sgie.txt\n  gie-unique-id: 2\n  operate-on-gie-id: 1\n  operate-on-class-ids: [0, 2]\n" +
		"osd:\n  enable: true\n  text-size: 12 # a comment\n" +
		"sink0:\n  enable: 1\n  type: 3\n  codec: 2\n  container: 2\n  output-file: out.mkv\n  sync: 0\n" +
		"tests:\n  file-loop: 1\n"
	// The CSV's relative URIs are the YAML file's folder's, as
	// deepstream-app takes them.
	csv := "# sources\nenable, type, uri, num-sources, gpu-id\n1,3,file://../streams/a.mp4,2,0\n0,3,file://../streams/a.mp4,2,0\n\n" +
		"1,2,file://../streams/b.mp4,1,0\n"
	os.MkdirAll(filepath.Join(dir, "configs", "lists"), 0o755)
	os.WriteFile(filepath.Join(dir, "configs", "app.txt"), []byte(ini), 0o644)
	os.WriteFile(filepath.Join(dir, "configs", "app.yml"), []byte(yml), 0o644)
	os.WriteFile(filepath.Join(dir, "configs", "lists", "sources.csv"), []byte(csv), 0o644)
	fromINI, err := dsapp.Load(filepath.Join(dir, "configs", "app.txt"))
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := dsapp.Load(filepath.Join(dir, "configs", "app.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fromYAML.Sources) != 3 || fromYAML.Sources[2].URI != "file://"+filepath.Join(dir, "streams", "b.mp4") {
		t.Fatalf("sources %+v", fromYAML.Sources)
	}
	for _, a := range []*dsapp.App{fromINI, fromYAML} { // where they were read differs
		a.File, a.Notes = "", nil
		for i := range a.Sources {
			a.Sources[i].Line = 0
		}
		for i := range a.Sinks {
			a.Sinks[i].Line = 0
		}
	}
	if !reflect.DeepEqual(fromINI, fromYAML) {
		t.Errorf("INI:  %+v\nYAML: %+v", fromINI, fromYAML)
	}

	// -set source.csv-file-path picks another list (relative to the working
	// directory, as overrides are), and -set source<N> changes its lines.
	other := filepath.Join(dir, "other.csv")
	os.WriteFile(other, []byte("enable,type,uri\n1,2,file://"+filepath.Join(dir, "streams", "a.mp4")+"\n"), 0o644)
	a, err := dsapp.Load(filepath.Join(dir, "configs", "app.yml"), "source.csv-file-path="+other,
		"source0.uri=file://"+filepath.Join(dir, "streams", "b.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Sources) != 1 || a.Sources[0].URI != "file://"+filepath.Join(dir, "streams", "b.mp4") {
		t.Errorf("sources %+v, want other.csv's one, its uri replaced", a.Sources)
	}
}

// Errors about a YAML config (or its CSV file) name the file and line.
func TestLoadBadYAMLConfigs(t *testing.T) {
	clip := touch(t, "clip.mp4")
	sink := "sink0:\n  enable: 1\n  type: 1\n"
	src := "source:\n  csv-file-path: s.csv\n"
	csv := "enable,type,uri\n1,2,file://" + clip + "\n"
	cases := []struct {
		name, yml, csv, want string
		is                   error
	}{
		{"syntax", "application:\n  enable-perf-measurement: 1\n bad: [\n", "", `app.yml: invalid YAML: line 2: did not find expected key`, nil},
		{"group not a map", "application: 3\n", "", `app.yml:1: [application] want a mapping`, nil},
		{"nested map", sink + "osd:\n  font:\n    name: Serif\n", "", `app.yml:6: [osd] font: want a value or a list`, nil},
		{"bad value", "application:\n  enable-perf-measurement: maybe\n", "", `app.yml:2: [application] enable-perf-measurement: want a boolean`, nil},
		{"unknown key", src + sink + "osd:\n  enable: 1\n  border-widht: 3\n", csv, `app.yml:8: [osd] border-widht: unknown key`, nil},
		{"unknown group", src + sink + "sink-x:\n  enable: 0\n", csv, `app.yml:6: [sink-x] unknown group`, nil},
		{"source without csv", "source:\n  uri: file://x.mp4\n" + sink, "", `app.yml:2: [source] uri: unknown key`, nil},
		{"source empty", "source:\n" + sink, "", `app.yml:1: [source] needs csv-file-path`, nil},
		{"missing csv", src + sink, "", `app.yml:2: [source] csv-file-path: `, config.ErrMissingFile},
		{"csv row", src + sink, "enable,type,uri\n1,2\n", `s.csv:2: 2 values for the header's 3 columns`, nil},
		{"csv value", src + sink, "enable,type,uri\n\n1,x," + clip + "\n", `s.csv:3: [source0] type: want an integer`, nil},
		{"csv no uri", src + sink, "enable,type\n1,2\n", `s.csv:2: [source0] type=2 needs a uri`, nil},
		{"csv empty", src + sink, "# nothing\n", `s.csv: no header line`, nil},
		{"parallel infer", src + sink + "primary-gie0:\n  enable: 1\nbranch0:\n  pgie-id: 1\n", csv, `app.yml:6: [primary-gie0] not a deepstream-app config`, dsapp.ErrOtherApp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "app.yml")
			os.WriteFile(p, []byte(c.yml), 0o644)
			if c.csv != "" {
				os.WriteFile(filepath.Join(dir, "s.csv"), []byte(c.csv), 0o644)
			}
			_, err := dsapp.Load(p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("got %v\nwant %s/…%s…", err, dir, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%v is not %v", err, c.is)
			}
		})
	}
}

// A key set twice: the later wins, as deepstream-app assigns keys in
// file order.
func TestLoadYAMLKeyTwice(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.mp4"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "s.csv"), []byte("enable,type,uri\n1,2,file://a.mp4\n"), 0o644)
	p := filepath.Join(dir, "app.yml")
	os.WriteFile(p, []byte("source:\n  csv-file-path: s.csv\nsink0:\n  enable: 1\n  type: 1\nosd:\n  enable: 1\n  enable: 0\n"), 0o644)
	a, err := dsapp.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if a.OSD != nil {
		t.Errorf("osd %v: want off (enable: 1 then enable: 0)", a.OSD)
	}
}
