package vidflow_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// h264Clip cuts the first n access units of the sample video into an H.264
// elementary stream (as NVIDIA's sample_720p.h264 is), without
// re-encoding.
func h264Clip(t *testing.T, n int) string {
	t.Helper()
	src := mediaFile(t, "media/vtest.mp4")
	out := filepath.Join(t.TempDir(), "clip.h264")
	pl, err := gst.Launch(fmt.Sprintf("filesrc location=%q ! qtdemux ! h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ! "+
		"identity eos-after=%d ! filesink location=%q", src, n+1, out)) // identity ends the stream on the (n+1)th buffer
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	if err := pl.Play(); err != nil {
		t.Fatal(err)
	}
	for {
		m, ok := pl.PopMessage(30 * time.Second)
		if !ok {
			t.Fatal("no end of stream while cutting the clip")
		}
		if m.Type == gst.MessageError {
			t.Fatal(m.Err())
		}
		if m.Type == gst.MessageEOS {
			return out
		}
	}
}

// NVIDIA's deepstream-test2 graph (filesrc → h264parse → nvv4l2decoder →
// nvstreammux → pgie → nvtracker → two classifiers → nvvideoconvert →
// nvdsosd → sink, sample_video_probe on the OSD) runs with the default
// detector swapped in, the classifiers made queues (their TensorRT models
// are NVIDIA's), and the display a fakesink.
func TestLoadPipelineRunsNVIDIATest2Graph(t *testing.T) {
	needModel(t)
	clip := h264Clip(t, 8)
	g := runtime.NumGoroutine()
	p, err := vidflow.LoadPipeline("dstest2", "internal/dsgraph/testdata/dstest2_config_x86.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		p.Set("filesrc", vidflow.Props{"uri": clip}),
		p.Set("pgie", vidflow.Props{"config-file-path": "configs/config_infer_primary.yml"}),
		p.Set("nvtracker", vidflow.Props{"ll-config-file": "", "tracker": "iou"}),
		p.SetKind("vehicle_make_classifier", "queue"),
		p.SetKind("vehicle_type_classifier", "queue"),
		p.SetKind("sink", "fakesink"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if notes := p.GraphNotes(); len(notes) != 3 || !strings.Contains(notes[0], `dstest2_config_x86.yaml:22: node "h264parse"`) {
		t.Errorf("notes %q", notes)
	}
	var mu sync.Mutex
	var frames, persons, tracked int
	var texts []string
	p.Attach("nvdsosd", func(b *media.BatchMeta) { // after the module's probe: it sees its text
		mu.Lock()
		defer mu.Unlock()
		for _, f := range b.Frames {
			frames++
			if f.Width != 1280 || f.Height != 720 {
				t.Errorf("frame %dx%d, want the graph's batcher size 1280x720", f.Width, f.Height)
			}
			for _, o := range f.Objects {
				if o.Label == "person" {
					persons++
				}
				if o.TrackID != media.UntrackedID {
					tracked++
				}
			}
			for _, d := range f.Display {
				for _, tx := range d.Texts {
					texts = append(texts, tx.Text)
				}
			}
		}
	}, "src")
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if frames != 8 || persons == 0 || tracked == 0 {
		t.Errorf("%d frames (want 8), %d persons, %d tracked objects (want some)", frames, persons, tracked)
	}
	if len(texts) != 8 || !strings.HasPrefix(texts[0], "Person=") || !strings.Contains(texts[0], ",Vehicle=") {
		t.Errorf("sample_video_probe texts %q, want Person=N,Vehicle=M on each frame", texts)
	}
	checkClean(t, g)
}

func TestLoadPipelineErrorsNameNodeAndLine(t *testing.T) {
	// NVIDIA's file as it is: the model config is where DeepStream
	// installs it; the error comes when the elements are made.
	p, err := vidflow.LoadPipeline("dstest1", "internal/dsgraph/testdata/dstest1_config_x86.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), `dstest1_config_x86.yaml:`) || !strings.Contains(err.Error(), `node "filesrc"`) {
		t.Errorf("got %v, want an error naming the file, line and node", err)
	}
	if err := p.Set("filesrc", vidflow.Props{"uri": "x"}); err == nil {
		t.Error("Set after the elements were made: no error")
	}
	p, _ = vidflow.LoadPipeline("dstest1", "internal/dsgraph/testdata/dstest1_config_x86.yaml")
	if err := p.Set("nosuch", vidflow.Props{"a": 1}); err == nil || !strings.Contains(err.Error(), `no element "nosuch"`) {
		t.Errorf("Set on a missing element: %v", err)
	}
	if err := p.Set("nvstreammux", vidflow.Props{"widht": 1}); err == nil || !strings.Contains(err.Error(), `unknown property "widht"`) {
		t.Errorf("Set of an unknown property: %v", err)
	}
}
