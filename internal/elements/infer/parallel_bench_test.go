package infer

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vidflow/vidflow/media"
)

// BenchmarkParallelBusy measures how busy runParallel keeps its sessions
// when batches are always waiting: 4 sessions whose runs vary as the
// H200's did at 150 streams (95 to 155 ms, here a tenth of that), at
// interval 1. "busy" is the sessions' run time over 4 x the wall time: 1
// means no session waited with a batch queued.
func BenchmarkParallelBusy(b *testing.B) {
	for _, iv := range []int64{0, 1} {
		b.Run(map[int64]string{0: "interval0", 1: "interval1"}[iv], func(b *testing.B) {
			const sessions, batches = 4, 400
			var busy, wall time.Duration
			for range b.N {
				e := &nvinfer{cfg: &Config{ProcessMode: 1}, upd: &updater{}}
				e.interval.Store(iv)
				rng := rand.New(rand.NewPCG(1, 2))
				runs := make([]time.Duration, batches)
				for i := range runs {
					runs[i] = 9500*time.Microsecond + time.Duration(rng.Int64N(int64(6*time.Millisecond)))
				}
				e.runBatch = func(r *runner, buf *media.Buffer) error {
					time.Sleep(runs[buf.Meta().Frames[0].FrameNumber])
					return nil
				}
				p := numberedPorts(batches)
				rs := make([]*runner, sessions)
				for i := range rs {
					rs[i] = &runner{}
				}
				start := time.Now()
				if err := e.runParallel(context.Background(), p, rs); err != nil {
					b.Fatal(err)
				}
				wall += time.Since(start)
				for i := 0; i < batches; i += int(iv) + 1 {
					busy += runs[i]
				}
				for len(p.out) > 0 {
					if it := <-p.out; it.Buf != nil {
						it.Buf.Release()
					}
				}
			}
			b.ReportMetric(float64(busy)/float64(sessions*wall), "busy")
		})
	}
}
