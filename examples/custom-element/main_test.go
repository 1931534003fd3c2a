package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// TestFlowAdd runs the example: two streams of 20 and 40 frames, three
// ground-truth boxes a frame (classes 0, 1, 2), class 1 filtered out. The
// element reports each stream at its end.
func TestFlowAdd(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), 20, "0,2", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"filter: stream 0: 20 frames, 40 objects kept, 20 dropped",
		"filter: stream 1: 40 frames, 80 objects kept, 40 dropped",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	checkNoLeaks(t)
}

// TestPipelineAdd builds the same element with Pipeline.Add and Link on
// an unbatched stream, and checks the metadata the element changed: only
// class 0 is left, relabelled, with the count drawn on the frame.
func TestPipelineAdd(t *testing.T) {
	kinds, err := newRegistry()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var frames, objects, texts int
	bad := ""
	probe := vidflow.NewProbe("check", func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range m.Frames {
			frames++
			for _, o := range f.Objects {
				objects++
				if o.ClassID != 0 || o.Label != "person" {
					bad = o.Label
				}
			}
			for _, d := range f.Display {
				for _, tx := range d.Texts {
					if tx.Text == "kept 1" {
						texts++
					}
				}
			}
		}
	})
	p := vidflow.NewPipeline("custom-add", vidflow.WithRegistry(kinds))
	p.Add("testsrc", "src", vidflow.Props{"num-buffers": 25, "objects": 3, "truth": true, "width": 64, "height": 48}).
		Add("class-filter", "filter", vidflow.Props{"classes": "0", "label": "person"}).
		Add("fakesink", "sink", nil).
		Link("src", "filter", "sink").
		Attach("filter", probe, "src")
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if frames != 25 || objects != 25 || texts != 25 || bad != "" {
		t.Errorf("frames %d objects %d texts %d (want 25 each), wrong object %q", frames, objects, texts, bad)
	}
	checkNoLeaks(t)
}

// TestErrors: a bad property value names the element; the kind is not in
// pipelines made without the registry.
func TestErrors(t *testing.T) {
	kinds, err := newRegistry()
	if err != nil {
		t.Fatal(err)
	}
	err = vidflow.NewPipeline("bad", vidflow.WithRegistry(kinds)).
		Add("class-filter", "f", vidflow.Props{"classes": "0,x"}).Err()
	if err == nil || !strings.Contains(err.Error(), `element "f" (class-filter)`) || !strings.Contains(err.Error(), `"x" is not a class id`) {
		t.Errorf("bad classes: %v", err)
	}
	err = vidflow.NewPipeline("default").Add("class-filter", "f", nil).Err()
	if err == nil || !strings.Contains(err.Error(), `unknown element kind "class-filter"`) {
		t.Errorf("kind outside its registry: %v", err)
	}
	if err := kinds.Register(ClassFilterKind); err == nil {
		t.Error("registering class-filter twice: no error")
	}
	var _ element.Element = &classFilter{}
}

func checkNoLeaks(t *testing.T) {
	t.Helper()
	if b, f := media.LiveBuffers(), media.LiveFrames(); b != 0 || f != 0 {
		t.Errorf("%d buffers and %d frames still alive after the run", b, f)
	}
}
