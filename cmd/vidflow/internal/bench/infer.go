package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/media"
)

// inferFloors is the infer scenario: the bare model's floor at batch 1 and
// at each stream count above 1 (the batch sizes pipelines run).
func (b *bench) inferFloors() error {
	batches := []int{1}
	for _, n := range b.o.streams {
		if n > 1 {
			batches = append(batches, n)
		}
	}
	if b.o.vs != "" {
		return b.inferVs(batches)
	}
	for _, n := range batches {
		if _, err := b.inferFloor(n); err != nil {
			return err
		}
	}
	return nil
}

// inferFloor runs the bare model at batch n on one real frame of the clip
// preprocessed as the element does: in the pipeline's arrangement
// (-sessions sessions of -threads intra-op threads, in parallel) and, when
// that differs, as one session with all those threads (the element's
// default arrangement). The floor is the faster (once per n).
func (b *bench) inferFloor(n int) (float64, error) {
	key := fmt.Sprintf("infer %d", n)
	if f, ok := b.floors[key]; ok {
		return f, nil
	}
	if err := b.loadFrame(); err != nil {
		return 0, err
	}
	k := max(b.o.sessions, 1)
	arrangements := [][2]int{{k, b.o.threads}}
	if k > 1 {
		arrangements = append(arrangements, [2]int{1, k * b.o.threads})
	}
	best := 0.0
	for _, a := range arrangements {
		row, err := b.repeat(func() (*benchRow, error) { return b.bareLoop(n, a[1], a[0]) })
		if err != nil {
			return 0, err
		}
		best = max(best, row.FPS)
		b.add(row)
	}
	b.floors[key] = best
	return best, nil
}

// loadFrame decodes the frame the bare models run on (once).
func (b *bench) loadFrame() error {
	if b.frame != nil {
		return nil
	}
	var err error
	if b.frame, b.fw, b.fh, err = firstFrame(b.clips([]string{"720p"})[0]); err != nil {
		return fmt.Errorf("infer floor: %w", err)
	}
	return nil
}

// openBare opens k bare models of batch n with threads threads each,
// filled with the floor's frame and run once (warm-up). On an error the
// ones opened are returned, for closeBare.
func (b *bench) openBare(n, threads, k int) ([]*infer.BareModel, error) {
	var models []*infer.BareModel
	for i := range k {
		prof := ""
		if b.o.profile != "" {
			prof = fmt.Sprintf("%s-b%d-s%d", b.o.profile, n, i)
		}
		m, err := infer.OpenBareModelWith(b.o.config, infer.BareOptions{Batch: n, Threads: threads, Provider: b.o.provider,
			CUDAOptions: b.o.cudaOptions, Profile: prof})
		if err != nil {
			return models, fmt.Errorf("infer floor: %w", err)
		}
		models = append(models, m)
		if err := m.Fill(b.frame, b.fw, b.fh); err != nil {
			return models, err
		}
		if err := m.Run(); err != nil { // one more warm-up run
			return models, err
		}
	}
	return models, nil
}

func closeBare(models []*infer.BareModel) {
	for _, m := range models {
		m.Close()
	}
}

// bareLoop runs k bare models of batch n with threads threads each, in
// parallel, for -infer-seconds, and reports their summed rate.
func (b *bench) bareLoop(n, threads, k int) (*benchRow, error) {
	models, err := b.openBare(n, threads, k)
	defer closeBare(models)
	if err != nil {
		return nil, err
	}
	m0 := measureStart()
	lats := make([][]time.Duration, k)
	errs := make([]error, k)
	start := time.Now()
	var wg sync.WaitGroup
	for i, m := range models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(lats[i]) < 5 || time.Since(start).Seconds() < b.o.inferSecs {
				t := time.Now()
				if err := m.Run(); err != nil {
					errs[i] = err
					return
				}
				lats[i] = append(lats[i], time.Since(t))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var lat []time.Duration
	for _, l := range lats {
		lat = append(lat, l...)
	}
	batch := models[0].Batch()
	row := &benchRow{Scenario: "infer", Name: fmt.Sprintf("bare model %dx%d (floor)", k, threads), Threads: threads, Sessions: k, Batch: batch,
		Frames: int64(len(lat) * batch), Batches: int64(len(lat)), Seconds: wall}
	row.FPS = float64(row.Frames) / wall
	row.MSPerFrame = 1000 / row.FPS
	row.Latency = percentiles(lat)
	m0.finish(row)
	row.Provider = models[0].Provider()
	row.Note = fmt.Sprintf("%d session(s) of %d intra-op thread(s) in parallel; latency is per run of %d images; %s", k, threads, batch, models[0].Describe())
	if up, model, down, ok, err := models[0].Breakdown(20); err != nil {
		return nil, err
	} else if ok {
		row.Note += fmt.Sprintf("; each part waited for, per run: upload %.2f ms, model %.2f ms, download %.2f ms", ms(up), ms(model), ms(down))
	}
	return row, nil
}

// firstFrame decodes the clip's first frame as packed RGB.
func firstFrame(clip string) ([]byte, int, int, error) {
	var data []byte
	var w, h int
	stop := errors.New("got it")
	r := retrieverFunc(func(buf *media.Buffer) error {
		s, err := buf.Surface(0)
		if err != nil {
			return err
		}
		w, h = s.Width, s.Height
		data = make([]byte, 0, w*h*3)
		for y := 0; y < h; y++ {
			row := s.Data[s.Offsets[0]+y*s.Strides[0]:]
			data = append(data, row[:w*3]...)
		}
		return stop
	})
	err := vidflow.NewFlow(vidflow.NewPipeline("bench-frame")).BatchCapture([]string{clip}).Retrieve(r).Run(context.Background())
	if data == nil {
		if err == nil {
			err = fmt.Errorf("%s: no frame", clip)
		}
		return nil, 0, 0, err
	}
	return data, w, h, nil
}

type retrieverFunc func(*media.Buffer) error

func (f retrieverFunc) Consume(b *media.Buffer) error { return f(b) }
