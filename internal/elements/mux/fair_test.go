package mux_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/media"
)

// A batch smaller than the number of streams takes the streams in turn:
// with 3 streams always ready (their queues full behind a slow element)
// and batches of 2, each stream is in 2 of every 3 batches. The batcher's
// round robin once moved its start within a batch and took streams 0 and
// 2 only, starving stream 1 until the others ended.
func TestSmallBatchTakesStreamsInTurn(t *testing.T) {
	var mu sync.Mutex
	per := map[int]int{} // frames of each stream in the batches counted
	batches := 0
	// Batches 11 to 40: by then every stream's queue is full.
	const skipped, counted = 10, 30
	r := slowKinds(&ages{}, 3*time.Millisecond)
	r.MustRegister(element.KindSpec{Kind: "source-count", Role: element.RoleSink, New: func(*element.Config) (element.Element, error) {
		return &element.Sink{Fn: func(_ context.Context, b *media.Buffer) error {
			mu.Lock()
			defer mu.Unlock()
			if batches++; batches > skipped && batches <= skipped+counted {
				for _, fm := range b.Meta().Frames {
					per[fm.SourceID]++
				}
			}
			return nil
		}}, nil
	}})
	g := engine.NewGraph("turns", r)
	src := element.Props{"num-buffers": 100, "width": 16, "height": 16}
	build(t, g, []node{{"testsrc", "a", src}, {"testsrc", "b", src}, {"testsrc", "c", src},
		{"nvstreammux", "mux", element.Props{"batch-size": 2, "batched-push-timeout": -1}}, {"slow", "infer", nil}, {"source-count", "sink", nil}},
		[][2]string{{"a", "mux"}, {"b", "mux"}, {"c", "mux"}, {"mux", "infer"}, {"infer", "sink"}})
	run, err := engine.Start(context.Background(), g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Wait(); err != nil {
		t.Fatal(err)
	}
	// 60 frames in 30 batches of 2: 20 of each stream.
	for id := range 3 {
		if n := per[id]; n < 19 || n > 21 {
			t.Errorf("stream %d had %d frames in batches %d to %d, want 20 (all: %v)", id, n, skipped+1, skipped+counted, per)
		}
	}
}
