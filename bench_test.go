package vidflow_test

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// sharedProvider hands out the same pixels n times: no pixel is touched,
// so a pipeline of it measures the engine's own cost.
type sharedProvider struct {
	data []byte
	n, i int
}

func (p *sharedProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: 64, Height: 48}
}

func (p *sharedProvider) Generate(context.Context) (*media.Buffer, error) {
	if p.i >= p.n {
		return nil, io.EOF
	}
	p.i++
	return media.NewBuffer(p.data), nil
}

// BenchmarkOverhead measures the engine's per-batch cost: 4 injected
// streams → batch of 4 → probe → retrieve, pixels never copied.
func BenchmarkOverhead(b *testing.B) {
	data := make([]byte, 64*48*3)
	providers := make([]media.BufferProvider, 4)
	for i := range providers {
		providers[i] = &sharedProvider{data: data, n: b.N}
	}
	frames := 0
	probe := vidflow.NewProbe("count", func(m *media.BatchMeta) { frames += len(m.Frames) })
	sink := retrieverFunc(func(*media.Buffer) error { return nil })
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

// BenchmarkDecode720p measures decode-to-batch throughput of 1 and 4
// streams of the 720p sample beside gst-launch-1.0 decoding the same clip
// to fakesink with the same conversion (the decode floor).
func BenchmarkDecode720p(b *testing.B) {
	clip := mediaFile(b, "media/vtest-720p.mp4")
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprint(n, "streams"), func(b *testing.B) {
			uris := make([]string, n)
			for i := range uris {
				uris[i] = clip
			}
			var frames int64
			start := time.Now()
			for i := 0; i < b.N; i++ {
				err := vidflow.NewFlow(vidflow.NewPipeline("decode")).BatchCapture(uris).
					Attach(func(m *media.BatchMeta) { frames += int64(len(m.Frames)) }).
					Render(vidflow.RenderDiscard).Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
			}
			fps := float64(frames) / time.Since(start).Seconds()
			b.StopTimer()
			desc := []string{"-q"}
			for i := 0; i < n; i++ {
				desc = append(desc, "filesrc", "location="+clip, "!", "decodebin", "!", "videoconvert", "!",
					"video/x-raw,format=RGB", "!", "fakesink", "sync=false")
			}
			t0 := time.Now()
			if out, err := exec.Command("gst-launch-1.0", desc...).CombinedOutput(); err != nil {
				b.Fatalf("gst-launch-1.0: %v\n%s", err, out)
			}
			floor := float64(795*n) / time.Since(t0).Seconds()
			b.ReportMetric(fps, "frames/s")
			b.ReportMetric(floor, "gst-frames/s")
			b.ReportMetric(fps/floor, "ratio")
		})
	}
}
