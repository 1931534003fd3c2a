package deepstream

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourceKinds(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "a.mp4")
	os.WriteFile(clip, []byte("x"), 0o644)
	for _, c := range []struct{ uri, kind, err string }{
		{clip, "nvurisrcbin", ""},
		{"file://" + clip, "nvurisrcbin", ""},
		{"rtsp://127.0.0.1:8554/cam", "nvurisrcbin", ""},
		{"https://example.org/a.mp4", "nvurisrcbin", ""},
		{"testsrc://?width=64&num-buffers=3", "testsrc", ""},
		{"gopher://x", "", `URI "gopher://x": unsupported scheme "gopher" (want a file path, file://, rtsp://, http(s):// or testsrc://)`},
		{"/nope/x.mp4", "", `file "/nope/x.mp4" doesn't exist`},
		{dir, "", "is a folder"},
		{"rtsp:///cam", "", "no host"},
		{"file://host/x.mp4", "", `file URL with host "host"`},
	} {
		kind, props, err := Source(c.uri)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.uri, err, c.err)
			}
			continue
		}
		if err != nil || kind != c.kind {
			t.Errorf("%s: %s, %v; want %s", c.uri, kind, err, c.kind)
		}
		if kind == "testsrc" && (props["width"] != "64" || props["num-buffers"] != "3") {
			t.Errorf("testsrc props %v", props)
		}
		if kind == "nvurisrcbin" && props["uri"] != c.uri {
			t.Errorf("%s: props %v", c.uri, props)
		}
	}
}

func TestRoute(t *testing.T) {
	r := Route(map[string]any{"file_loop": true, "decoder": "cpu", "gpu-id": 0, "convert": "cuda", "width": 640, "height": 480,
		"batched-push-timeout": 40000, "max-batch-size": 4})
	for _, k := range []string{"file-loop", "decoder", "gpu-id", "convert", "width", "height"} {
		if _, ok := r.Source[k]; !ok {
			t.Errorf("source lacks %s: %v", k, r.Source)
		}
	}
	if r.Batcher["batched-push-timeout"] != 40000 || r.Batcher["width"] != 640 || r.Batcher["batch-size"] != 4 ||
		r.Batcher["max-batch-size"] != nil || r.Batcher["file-loop"] != nil || len(r.Batcher) != 4 {
		t.Errorf("batcher %v", r.Batcher)
	}
	if r := Route(map[string]any{"max-batch-size": 8, "batch-size": 2}); r.Batcher["batch-size"] != 2 {
		t.Errorf("batch-size set: %v", r.Batcher)
	}
	// A synthetic stream keeps its own size; a decoded one takes the batch's.
	if p := SourceProps("testsrc://?width=32", map[string]any{"width": 64, "height": 48, "latency": 1}); len(p) != 0 {
		t.Errorf("testsrc with a size: %v", p)
	}
	if p := SourceProps("testsrc://", map[string]any{"width": 64, "height": 48, "latency": 1}); len(p) != 2 || p["height"] != 48 {
		t.Errorf("testsrc: %v", p)
	}
	kind, p, err := Stream{URI: "rtsp://h/x", SensorID: "cam", SensorName: "Cam", Props: map[string]any{"latency": 5}}.
		Source(map[string]any{"latency": 1, "file-loop": true})
	// The batch's file-loop is for files only (issue 20: it made every RTSP add fail).
	if err != nil || kind != "nvurisrcbin" || p["latency"] != 5 || p["file-loop"] != nil || p["sensor-id"] != "cam" || p["sensor-name"] != "Cam" {
		t.Errorf("stream source %s %v %v", kind, p, err)
	}
}

func TestSourceListFile(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "a.mp4")
	os.WriteFile(clip, []byte("x"), 0o644)
	write := func(yml string) string {
		p := filepath.Join(dir, "sources.yml")
		os.WriteFile(p, []byte(yml), 0o644)
		return p
	}
	list := write(`source-list:
- uri: ` + clip + `
  sensor-id: a
- uri: testsrc://
source-config:
  source-bin: nvmultiurisrcbin
  properties:
    file_loop: true
    port: 9000
    batched-push-timeout: 1000
`)
	streams, props, err := Streams([]string{list})
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 2 || streams[0].SensorID != "a" || streams[1].SensorID != "" {
		t.Errorf("streams %+v", streams)
	}
	if props["file-loop"] != true || props["batched-push-timeout"] != 1000 || props["port"] != nil || props["uri-list"] != nil {
		t.Errorf("props %v", props)
	}
	l, _ := ReadSourceList(list)
	if s := l.Server(); s["port"] != 9000 || len(s) != 1 {
		t.Errorf("server %v", s)
	}
	if err := l.Check(nil, true); err != nil || l.SourceList[1].SensorID != "1" {
		t.Errorf("ids: %+v, %v", l.SourceList, err)
	}
	for yml, want := range map[string]string{
		"source-list:\n- url: x\n":         "line 2: field url not found",
		"source-list:\n- sensor-id: a\n":   "source-list entry 0 has no uri",
		"source-list:\n- uri: ftp://x/y\n": `source-list entry 0: URI "ftp://x/y": unsupported scheme "ftp"`,
		"source-list:\n- {uri: testsrc://, sensor-id: a}\n- {uri: testsrc://, sensor-id: a}\n": `entries 0 and 1 have the same sensor-id "a"`,
		"source-config:\n  source-bin: nvv4l2src\n":                                            `source-config: source-bin "nvv4l2src"`,
		"camera-list:\n- camera-id: 0\n":                                                       "camera-list (V4L2/CSI cameras) is not supported",
		"source-config:\n  properties: {}\n":                                                   "source-list is empty",
		"source-list:\n- uri: testsrc://\nsource-config:\n  properties: {uri-list: x}\n":       "uri-list: give the streams as source-list entries",
		"source-list:\n- uri: testsrc://\nsource-config:\n  properties: {mode: 1}\n":           "mode 1: only video",
	} {
		_, _, err := Streams([]string{write(yml)})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "source list "+list) {
			t.Errorf("%q: %v, want an error naming %s and %q", yml, err, list, want)
		}
	}
	if _, _, err := Streams([]string{filepath.Join(dir, "nope.yml")}); err == nil || !strings.Contains(err.Error(), "nope.yml") {
		t.Errorf("missing file: %v", err)
	}
	if s, _, err := Streams([]string{"a.mp4", "b.mp4"}); err != nil || len(s) != 2 || s[1].URI != "b.mp4" {
		t.Errorf("URIs: %v %v", s, err)
	}
}

func TestURIHelpers(t *testing.T) {
	if got := HostPort("rtsp://cam.local/x"); got != "cam.local:554" {
		t.Errorf("HostPort rtsp: %q", got)
	}
	if got := HostPort("testsrc://"); got != "" {
		t.Errorf("HostPort testsrc: %q", got)
	}
	if got := Redact("rtsp://u:secret@h/x"); strings.Contains(got, "secret") {
		t.Errorf("Redact: %q", got)
	}
	rel := func(p string) string { return "/base/" + p }
	if Resolve("a.mp4", rel) != "/base/a.mp4" || Resolve("rtsp://h/x", rel) != "rtsp://h/x" {
		t.Error("Resolve")
	}
}
