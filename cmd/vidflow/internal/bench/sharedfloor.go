package bench

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// sharedFloor is vidflow's capture (the decode scenario's run: n
// streams → BatchCapture → discard) measured with the bare model running
// beside it in the same process, paced at what a pipeline at interval
// asks of it at the decode floor's rate: dfloor / (interval+1) images a
// second. The two floors are each measured with the machine to
// themselves, and min() of them assumes they do not compete; on one GPU
// the decoders and the model share the SMs (on 2 CPU cores, the cores).
// It returns the capture's row and the shared floor: the lower of the
// capture's rate and the model's rate beside it (over the capture's
// steady window) × (interval+1), as a model that cannot keep its pace
// limits instead. The gap between a pipeline and it is the pipeline's
// own. One process, as the pipeline: a gst-launch child would be a
// second CUDA context, time-sliced against the model's.
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
	var mu sync.Mutex
	var ends []time.Time // of every run
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
				mu.Lock()
				ends = append(ends, time.Now())
				mu.Unlock()
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
	got := 0.0 // images a second while the capture's frames flowed
	if ferr == nil && row.Seconds > 0 {
		from := start.Add(time.Duration(row.StartupS * float64(time.Second)))
		to := from.Add(time.Duration(row.Seconds * float64(time.Second)))
		runs := 0
		for _, t := range ends {
			if !t.Before(from) && !t.After(to) {
				runs++
			}
		}
		got = float64(runs*n) / row.Seconds
		if runs == 0 { // a window shorter than a run: the whole time's rate
			got = float64(len(ends)*n) / time.Since(start).Seconds()
		}
	}
	if err := errors.Join(append(errs, ferr)...); err != nil {
		return nil, 0, fmt.Errorf("shared floor: %w", err)
	}
	row.Name = "vidflow capture beside the model (shared floor)"
	row.Note = fmt.Sprintf("the bare model (batch %d, %d session(s)) paced at %.0f images/s beside it, the need of interval %d at the decode floor's %.0f frames/s; it ran %.0f",
		n, k, want, interval, dfloor, got)
	return row, min(row.FPS, got*float64(interval+1)), nil
}
