package vidflow_test

import (
	"context"
	"io"
	"testing"

	"github.com/vidflow/vidflow"
)

// sharedProvider hands out the same pixels n times: no pixel is touched,
// so a pipeline of it measures the engine's own cost.
type sharedProvider struct {
	data []byte
	n, i int
}

func (p *sharedProvider) Info() vidflow.StreamInfo {
	return vidflow.StreamInfo{Format: vidflow.RGB, Width: 64, Height: 48}
}

func (p *sharedProvider) Generate(context.Context) (*vidflow.Buffer, error) {
	if p.i >= p.n {
		return nil, io.EOF
	}
	p.i++
	return vidflow.NewBuffer(p.data), nil
}

// BenchmarkOverhead measures the engine's per-batch cost: 4 injected
// streams → batch of 4 → probe → retrieve, pixels never copied.
func BenchmarkOverhead(b *testing.B) {
	data := make([]byte, 64*48*3)
	providers := make([]vidflow.BufferProvider, 4)
	for i := range providers {
		providers[i] = &sharedProvider{data: data, n: b.N}
	}
	frames := 0
	probe := vidflow.NewProbe("count", func(m *vidflow.BatchMeta) { frames += len(m.Frames) })
	sink := retrieverFunc(func(*vidflow.Buffer) error { return nil })
	p := vidflow.NewPipeline("overhead")
	f := vidflow.NewFlow(p).Inject(providers).Batch(vidflow.BatchedPushTimeout(-1)).Attach(probe).Retrieve(sink)
	b.ReportAllocs()
	b.ResetTimer()
	if err := f.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if frames != 4*b.N {
		b.Fatalf("%d frames, want %d", frames, 4*b.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/batch")
}
