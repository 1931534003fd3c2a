package dskinds_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/elements"
	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/media"
)

// deepstream-test1's pipeline as its Python builds it (filesrc ! h264parse
// ! nvv4l2decoder ! nvstreammux ! nvvideoconvert ! nvosdbin ! fakesink,
// with the samples' properties) runs: the file is decoded by the source,
// the parser, decoder and converter pass frames through with a warning
// for their no-effect properties.
func TestDeepStreamSampleChainRuns(t *testing.T) {
	clip := filepath.Join(config.CacheDir(), "media", "vtest-720p.mp4")
	if _, err := os.Stat(clip); err != nil {
		t.Skipf("no test clip (scripts/setup.sh): %v", err)
	}
	g := engine.NewGraph("test1", elements.NewRegistry())
	for _, e := range []struct {
		kind, name string
		props      element.Props
	}{
		{"filesrc", "file-source", element.Props{"location": clip}},
		{"h264parse", "h264-parser", nil},
		{"nvv4l2decoder", "nvv4l2-decoder", element.Props{"gpu-id": 0}},
		{"nvstreammux", "stream-muxer", element.Props{"width": 320, "height": 180, "batch-size": 1, "batched-push-timeout": 4000000}},
		{"nvvideoconvert", "convertor", element.Props{"nvbuf-memory-type": 0}},
		{"capsfilter", "caps", element.Props{"caps": "video/x-raw(memory:NVMM), format=RGBA"}},
		{"nvosdbin", "onscreendisplay", nil},
		{"fakesink", "sink", nil},
	} {
		if _, err := g.Add(e.kind, e.name, e.props); err != nil {
			t.Fatalf("%s: %v", e.kind, err)
		}
	}
	names := []string{"file-source", "h264-parser", "nvv4l2-decoder", "stream-muxer", "convertor", "caps", "onscreendisplay", "sink"}
	for i := 1; i < len(names); i++ {
		if err := g.Link(names[i-1], names[i]); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var frames atomic.Int64
	g.AddProbe("onscreendisplay", engine.Probe{Name: "count", Fn: func(b *media.Buffer) bool {
		if f := b.Meta().Frames[0]; f.Width != 320 || f.Height != 180 {
			t.Errorf("frame %dx%d, want the batcher's 320x180", f.Width, f.Height)
		}
		if frames.Add(1) == 10 {
			cancel()
		}
		return true
	}}, "sink")
	var mu sync.Mutex
	var warnings []string
	r, err := engine.Start(ctx, g, func(m element.Message) {
		if w, ok := m.(*element.WarningMessage); ok {
			mu.Lock()
			warnings = append(warnings, w.Element+": "+w.Text)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if frames.Load() < 10 {
		t.Errorf("%d frames, want 10", frames.Load())
	}
	mu.Lock()
	w := strings.Join(warnings, "\n")
	mu.Unlock()
	for _, want := range []string{`nvv4l2-decoder: property "gpu-id" has no effect`, `caps: property "caps" has no effect`} {
		if !strings.Contains(w, want) {
			t.Errorf("no warning %q in:\n%s", want, w)
		}
	}
}

// Asking for a DeepStream element that cannot exist here says why and
// what to use.
func TestUnavailableKinds(t *testing.T) {
	r := elements.NewRegistry()
	for kind, want := range map[string]string{
		"nvstreamdemux": "nvmultistreamtiler",
		"nvdsmetamux":   "not merged",
		"nvinferserver": "Triton",
	} {
		if _, err := r.Lookup(kind); err == nil || !strings.Contains(err.Error(), "not available in vidflow") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", kind, err)
		}
	}
	if _, err := r.Lookup("nvnosuch"); err == nil || !strings.Contains(err.Error(), "unknown element kind") {
		t.Errorf("unknown kind: %v", err)
	}
}
