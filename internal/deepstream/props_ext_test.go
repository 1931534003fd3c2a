package deepstream_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/deepstream"
	"github.com/vidflow/vidflow/internal/elements/mux"
	"github.com/vidflow/vidflow/internal/elements/sources"
)

// Every nvurisrcbin and nvmultiurisrcbin property of a source list's
// source-config is accepted by the element vidflow gives it to: the ones
// without an effect here are accepted with a warning (ElementConfig
// Ignored, which the pipeline reports), none is an nvstreammux error and
// none is dropped without a word (issue 18).
func TestSourceConfigPropsAccepted(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "a.mp4")
	os.WriteFile(clip, []byte("x"), 0o644)
	list := filepath.Join(dir, "sources.yml")
	noEffect := []string{"low-latency-mode", "num-extra-surfaces", "udp-buffer-size", "config-file-path",
		"frame-duration", "interpolation-method", "drop-on-latency", "disable-audio", "async-handling", "gpu-id", "cudadec-memtype"}
	yml := "source-list:\n  - uri: " + clip + "\nsource-config:\n  source-bin: nvmultiurisrcbin\n  properties:\n" +
		"    smart-record: 2\n    smart-rec-dir-path: " + dir + "\n    low-latency-mode: 1\n    dec-skip-frames: 0\n" +
		"    num-extra-surfaces: 4\n    udp-buffer-size: 2000000\n    config-file-path: mux.txt\n    frame-duration: 33\n" +
		"    interpolation-method: 1\n    drop-on-latency: true\n    disable-audio: true\n    async-handling: true\n" +
		"    gpu-id: 0\n    cudadec-memtype: 0\n    width: 640\n    height: 480\n    batched-push-timeout: 40000\n    max-batch-size: 4\n" +
		"    file-loop: true\n    mode: 0\n"
	if err := os.WriteFile(list, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	streams, props, err := deepstream.Streams([]string{list})
	if err != nil {
		t.Fatal(err)
	}
	reg := element.NewRegistry()
	sources.Register(reg)
	mux.Register(reg)
	routed := deepstream.Route(props)
	kind, srcProps, err := streams[0].Source(routed.Source)
	if err != nil {
		t.Fatal(err)
	}
	var ignored []string
	for _, c := range []struct {
		kind  string
		props map[string]any
	}{{kind, srcProps}, {"nvstreammux", routed.Batcher}} {
		spec, err := reg.Lookup(c.kind)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := element.NewConfig(spec, c.kind, element.Props(c.props))
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		ignored = append(ignored, cfg.Ignored()...)
	}
	sort.Strings(ignored)
	sort.Strings(noEffect)
	if strings.Join(ignored, " ") != strings.Join(noEffect, " ") {
		t.Errorf("warned as without effect: %v\nwant %v", ignored, noEffect)
	}
	if srcProps["smart-record"] == nil || routed.Batcher["batched-push-timeout"] == nil {
		t.Errorf("source %v batcher %v", srcProps, routed.Batcher)
	}
	// Streams given as nvmultiurisrcbin's uri-list would be lost: an error.
	os.WriteFile(list, []byte("source-list:\n  - uri: "+clip+"\nsource-config:\n  properties:\n    uri-list: file:///b.mp4\n"), 0o644)
	if _, _, err := deepstream.Streams([]string{list}); err == nil || !strings.Contains(err.Error(), "give the streams as source-list entries") {
		t.Errorf("uri-list: %v", err)
	}
}
