package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
	"github.com/vidflow/vidflow/media"
)

// sharedProvider hands out the same pixels until told to stop: no pixel
// is touched, so the pipeline measures the engine's own cost.
type sharedProvider struct {
	data     []byte
	n, i     int
	deadline time.Time
}

func (p *sharedProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: 64, Height: 48}
}

func (p *sharedProvider) Generate(context.Context) (*media.Buffer, error) {
	if p.n > 0 && p.i >= p.n {
		return nil, io.EOF
	}
	if p.n == 0 && p.i%1024 == 0 && time.Now().After(p.deadline) {
		return nil, io.EOF
	}
	p.i++
	return media.NewBuffer(p.data), nil
}

// overhead is the overhead scenario: 4 injected streams of the same small
// frame through Batch, two probes and Retrieve, for -batches or -duration.
func (b *bench) overhead() error {
	const streams = 4
	data := make([]byte, 64*48*3)
	providers := make([]media.BufferProvider, streams)
	deadline := time.Now().Add(b.o.duration)
	for i := range providers {
		sp := &sharedProvider{data: data, n: b.o.batches, deadline: deadline}
		if b.o.duration > 0 {
			sp.n = 0
		}
		providers[i] = sp
	}
	var frames, objects, batches int64
	meta := vidflow.NewProbe("bench-meta", func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			objects += int64(len(fm.Objects))
		}
	})
	buf := vidflow.NewProbe("bench-buffer", func(bf *media.Buffer) bool { frames += int64(bf.BatchSize()); return true })
	sink := retrieverFunc(func(*media.Buffer) error { batches++; return nil })
	p := vidflow.NewPipeline("bench-overhead")
	f := vidflow.NewFlow(p).Inject(providers).Batch(vidflow.BatchedPushTimeout(-1)).Attach(meta).Attach(buf).Retrieve(sink)
	if err := f.Err(); err != nil {
		return err
	}
	// Memory: RSS and Go heap sampled over the run.
	var mem []memSample
	var mu sync.Mutex
	done := make(chan struct{})
	every := time.Second
	if b.o.duration >= 2*time.Minute {
		every = 5 * time.Second
	}
	l0 := loadAvg()[0]
	m0 := measureStart()
	start := time.Now()
	go cli.Every(every, done, func() {
		s := sampleMemory(start)
		mu.Lock()
		mem = append(mem, s)
		mu.Unlock()
	})
	err := p.Run(context.Background())
	wall := time.Since(start).Seconds()
	close(done)
	if err != nil {
		return err
	}
	mu.Lock()
	mem = append(mem, sampleMemory(start))
	mu.Unlock()
	row := &benchRow{Scenario: "overhead", Name: "vidflow (inject-batch-retrieve)", Streams: streams, Batch: streams,
		Frames: frames, Batches: batches, Seconds: wall, Memory: mem}
	row.FPS = float64(frames) / wall
	row.USPerBatch = wall * 1e6 / float64(max(batches, 1))
	row.Load = [2]float64{l0, loadAvg()[0]}
	m0.finish(row)
	row.Elements = elements(p.Stats(), nil)
	if w, end, ok := memGrowth(mem); ok {
		row.Note = fmt.Sprintf("RSS %.1f MB after warm-up, %.1f MB at the end", w.RSSMB, end.RSSMB)
	}
	b.add(row)
	return nil
}

// memGrowth returns the sample at the end of warm-up (a fifth of the run,
// at least the second sample) and the last one.
func memGrowth(mem []memSample) (warm, end memSample, ok bool) {
	if len(mem) < 3 {
		return warm, end, false
	}
	i := max(len(mem)/5, 1)
	return mem[i], mem[len(mem)-1], true
}

// sampleMemory is the process's RSS and Go heap now.
func sampleMemory(start time.Time) memSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{Seconds: time.Since(start).Seconds(), RSSMB: procStatusMB("VmRSS"), HeapMB: float64(ms.HeapAlloc) / (1 << 20)}
}
