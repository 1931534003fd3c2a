package mux_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
)

// input-queue-size sizes each input stream's queue in front of the
// batcher (frames two files' decoders may run ahead); out of range is an
// error naming the property.
func TestInputQueueSize(t *testing.T) {
	for _, c := range []struct {
		props element.Props
		want  int // capacity of the two inputs' queues together
	}{{nil, 2 * element.DefaultQueueSize}, {element.Props{"input-queue-size": 20}, 40}} {
		g := engine.NewGraph("queues", slowKinds(&ages{}, time.Millisecond))
		props := element.Props{"batch-size": 2}
		for k, v := range c.props {
			props[k] = v
		}
		src := element.Props{"num-buffers": 5, "width": 32, "height": 32}
		build(t, g, []node{{"testsrc", "a", src}, {"testsrc", "b", src}, {"nvstreammux", "mux", props}, {"age-sink", "sink", nil}},
			[][2]string{{"a", "mux"}, {"b", "mux"}, {"mux", "sink"}})
		r, err := engine.Start(context.Background(), g, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Wait(); err != nil {
			t.Fatal(err)
		}
		for _, ns := range r.Stats() {
			if ns.Name == "mux" && ns.QueueCap != c.want {
				t.Errorf("%v: the batcher's queues hold %d frames, want %d", c.props, ns.QueueCap, c.want)
			}
		}
	}
	for _, bad := range []int{0, 100000} {
		g := engine.NewGraph("bad", slowKinds(&ages{}, 0))
		_, err := g.Add("nvstreammux", "mux", element.Props{"input-queue-size": bad})
		if err == nil || !strings.Contains(err.Error(), `"input-queue-size"`) {
			t.Errorf("input-queue-size %d: %v, want an error naming it", bad, err)
		}
	}
}
