package bench

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// sharedFloor is vidflow's capture (the decode scenario's run: n
// streams → BatchCapture → discard) measured with the bare model running
// beside it in the same process, paced at the images a second a pipeline
// at interval would ask of it at the decode floor's rate (dfloor /
// (interval+1)). The two floors are each measured with the machine to
// themselves, and min() of them assumes they do not compete; on one GPU
// the decoders and the model share the SMs (on 2 CPU cores, the cores).
// The shared floor says how much decoding is left while the model does
// the work the pipeline needs of it. It also returns the shared floor
// itself: the lower of that capture rate and the model's rate beside it
// × (interval+1) (a model that could not keep its pace limits instead:
// on 2 CPU cores, always), so the gap between the pipeline and it is the
// pipeline's own. In one process, as the pipeline: a
// gst-launch child would be a second CUDA context, time-sliced against
// the model's.
func (b *bench) sharedFloor(clip string, n, interval int, dfloor float64) (*benchRow, float64, error) {
	if err := b.loadFrame(); err != nil {
		return nil, 0, err
	}
	k := max(b.o.sessions, 1)
	models, err := b.openBare(n, b.o.threads, k)
	defer closeBare(models)
	if err != nil {
		return nil, 0, err
	}
	want := dfloor / float64(interval+1)                                // images a second, all sessions
	period := time.Duration(float64(time.Second) * float64(n*k) / want) // between one session's runs
	var images atomic.Int64
	stop := make(chan struct{})
	errs := make([]error, k)
	var wg sync.WaitGroup
	start := time.Now()
	for i, m := range models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now().Add(time.Duration(i) * period / time.Duration(k)) // spread the sessions
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Until(next)):
				}
				if err := m.Run(); err != nil {
					errs[i] = err
					return
				}
				images.Add(int64(n))
				next = next.Add(period)
				if late := time.Since(next); late > period {
					next = time.Now() // behind: run flat out, do not catch up in a burst
				}
			}
		}()
	}
	row, ferr := b.captureRun(clip, n)
	close(stop)
	wg.Wait()
	got := float64(images.Load()) / time.Since(start).Seconds()
	if err := errors.Join(append(errs, ferr)...); err != nil {
		return nil, 0, fmt.Errorf("shared floor: %w", err)
	}
	row.Name = "vidflow capture beside the model (shared floor)"
	row.Note = fmt.Sprintf("the bare model (batch %d, %d session(s)) paced at %.0f images/s beside it, the need of interval %d at the decode floor's %.0f frames/s; it ran %.0f",
		n, k, want, interval, dfloor, got)
	return row, min(row.FPS, got*float64(interval+1)), nil
}
