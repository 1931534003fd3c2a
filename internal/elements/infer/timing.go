package infer

import (
	"fmt"
	"sync/atomic"
	"time"
)

// runTiming adds up where the element's runs spend their time, over all
// its sessions: preparing the images (CPU scaling, or queuing the GPU's
// kernels), the model's run (with its waits for the GPU), and parsing the
// outputs. The element's p50 per batch says how long; this says on what
// (vidflow bench -v prints it at the end of a run).
type runTiming struct {
	runs, images          atomic.Int64
	prepare, model, parse atomic.Int64 // nanoseconds
}

func (t *runTiming) add(images int, prepare, model, parse time.Duration) {
	t.runs.Add(1)
	t.images.Add(int64(images))
	t.prepare.Add(int64(prepare))
	t.model.Add(int64(model))
	t.parse.Add(int64(parse))
}

// String is the means per run, or "" before the first run.
func (t *runTiming) String() string {
	n := t.runs.Load()
	if n == 0 {
		return ""
	}
	ms := func(v *atomic.Int64) float64 { return float64(v.Load()) / float64(n) / 1e6 }
	return fmt.Sprintf("%d runs of %.1f images on average: prepare %.2f ms, model %.2f ms, parse %.2f ms a run",
		n, float64(t.images.Load())/float64(n), ms(&t.prepare), ms(&t.model), ms(&t.parse))
}
