package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigExample(t *testing.T) {
	cfg, err := Load("../../configs/serve.yml")
	if err != nil {
		if strings.Contains(err.Error(), "doesn't exist") {
			t.Skipf("the sample media or model is not set up: %v", err)
		}
		t.Fatal(err)
	}
	if cfg.MaxBatchSize != 4 || cfg.Width != 1280 || cfg.Height != 720 || cfg.Addr() != "127.0.0.1:9000" {
		t.Errorf("batch %d, size %dx%d, addr %s", cfg.MaxBatchSize, cfg.Width, cfg.Height, cfg.Addr())
	}
	if len(cfg.Sources.SourceList) != 1 || cfg.Sources.SourceList[0].SensorID != "lobby" ||
		!strings.HasPrefix(cfg.Sources.SourceList[0].URI, CacheDir()) {
		t.Errorf("sources: %+v", cfg.Sources.SourceList)
	}
	if !filepath.IsAbs(cfg.Infer.Config) || !cfg.Tracker.enabled() || !cfg.LiveView.enabled() {
		t.Errorf("infer %q, tracker %v, live view %v", cfg.Infer.Config, cfg.Tracker.enabled(), cfg.LiveView.enabled())
	}
	if p := cfg.StreamProps(); p["file-loop"] != true || p["rtsp-reconnect-interval"] != 10 {
		t.Errorf("stream props %v", p)
	}
	if p := cfg.BatcherProps(); p["batched-push-timeout"] != 40000 || p["file-loop"] != nil {
		t.Errorf("batcher props %v", p)
	}
}

// A DeepStream source list (spec §4.4) works as the sources, in a file of
// its own, and its nvmultiurisrcbin properties set the service's.
func TestConfigDeepStreamSourceList(t *testing.T) {
	dir := t.TempDir()
	video := filepath.Join(dir, "sample_1080p_h264.mp4")
	os.WriteFile(video, []byte("not really"), 0o644)
	os.WriteFile(filepath.Join(dir, "sources.yml"), []byte(`
source-list:
- uri: "file://`+video+`"
  sensor-id: UniqueSensorId1
  sensor-name: UniqueSensorName1
- uri: "rtsp://127.0.0.1:8554/cam"
  sensor-id: UniqueSensorId2
  sensor-name: UniqueSensorName2
source-config:
  source-bin: "nvmultiurisrcbin"
  properties:
    ip-address: localhost
    port: 7000
    batched-push-timeout: 33000
    live-source: true
    width: 1920
    height: 1080
    file-loop: true
    max-batch-size: 16
    buffer-pool-size: 16
    drop-pipeline-eos: true
`), 0o644)
	cfg, err := Parse([]byte("sources: sources.yml\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxBatchSize != 16 || cfg.Width != 1920 || cfg.Height != 1080 || cfg.Addr() != "localhost:7000" {
		t.Errorf("batch %d, size %dx%d, addr %s", cfg.MaxBatchSize, cfg.Width, cfg.Height, cfg.Addr())
	}
	if len(cfg.Sources.SourceList) != 2 || cfg.Sources.SourceList[1].SensorName != "UniqueSensorName2" {
		t.Errorf("sources %+v", cfg.Sources.SourceList)
	}
	if p := cfg.BatcherProps(); p["batched-push-timeout"] != 33000 || p["buffer-pool-size"] != 16 || p["live-source"] != true ||
		p["drop-pipeline-eos"] != nil || p["port"] != nil || p["width"] != nil {
		t.Errorf("batcher props %v", p)
	}
	if p := cfg.StreamProps(); len(p) != 1 || p["file-loop"] != true {
		t.Errorf("stream props %v", p)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Parse(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxBatchSize != 8 || cfg.Width != 1280 || cfg.Addr() != "127.0.0.1:9000" || cfg.Infer != nil ||
		cfg.Tracker.enabled() || cfg.LiveView.FPS != 5 || cfg.LiveView.Quality != 70 {
		t.Errorf("defaults: %+v", cfg)
	}
	t.Setenv("VF_TEST_TOKEN", "s3cret")
	cfg, err = Parse([]byte("rest: {auth-token-env: VF_TEST_TOKEN}\ntracker: {}\n"), "")
	if err != nil || cfg.REST.AuthToken != "s3cret" || !cfg.Tracker.enabled() {
		t.Errorf("token %q, tracker %v, err %v", cfg.REST.AuthToken, cfg.Tracker.enabled(), err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ yml, want string }{
		{"max-batchsize: 4", "field max-batchsize not found"},
		{"sources: {source-list: [{uri: x.mp4, sensor-idd: a}]}", "field sensor-idd not found"},
		{"sources: {source-list: [{sensor-id: a}]}", "entry 0 has no uri"},
		{"sources: {source-list: [{uri: /nope/x.mp4}]}", `file "/nope/x.mp4" doesn't exist`},
		{"sources: {source-list: [{uri: 'ftp://host/x'}]}", `unsupported scheme "ftp"`},
		{"sources: {source-list: [{uri: 'testsrc://', sensor-id: a}, {uri: 'testsrc://', sensor-id: a}]}", `same sensor-id "a"`},
		{"max-batch-size: 1\nsources: {source-list: [{uri: 'testsrc://'}, {uri: 'testsrc://'}]}", "2 streams but max-batch-size is 1"},
		{"max-batch-size: 4\nsources: {source-config: {properties: {max-batch-size: 8}}}", "max-batch-size is 4 but sources' source-config says max-batch-size: 8"},
		{"sources: nope.yml", "sources: open"},
		{"infer: {config: nope.yml}", `infer: config "nope.yml" doesn't exist`},
		{"infer: {}", "infer: no config"},
		{"tracker: {algorithm: deepsort}", `algorithm "deepsort"`},
		{"analytics: {config: nope.txt}", `analytics: config "nope.txt" doesn't exist`},
		{"outputs: [{props: {codec: h265}}]", "entry 0 has no encode destination"},
		{"rest: {port: 70000}", "port 70000 out of range"},
		{"rest: {auth-token-env: VF_TEST_UNSET_TOKEN}", "$VF_TEST_UNSET_TOKEN is empty"},
		{"live-view: {quality: 101}", "quality 101 out of range"},
		{"width: 8", "out of range (16..8192)"},
	} {
		_, err := Parse([]byte(c.yml), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error with %q", c.yml, err, c.want)
		}
	}
}

// Analytics without Flow.Analyze is a clear error; with it, the element
// is there.
func TestConfigAnalytics(t *testing.T) {
	dir := t.TempDir()
	ini := filepath.Join(dir, "analytics.txt")
	os.WriteFile(ini, []byte("[property]\nenable=1\nconfig-width=1280\nconfig-height=720\n"), 0o644)
	cfg, err := Parse([]byte("analytics: {config: analytics.txt}\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{})
	if err != nil {
		if !strings.Contains(err.Error(), "analytics") {
			t.Fatalf("New: %v", err)
		}
		t.Logf("analytics: %v", err)
		return
	}
	found := false
	for _, e := range s.Pipeline().Elements() {
		found = found || strings.Contains(e, "analy")
	}
	if !found {
		t.Errorf("no analytics element in %v", s.Pipeline().Elements())
	}
}
