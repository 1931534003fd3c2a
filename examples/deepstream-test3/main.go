// Command deepstream-test3 is the Go twin of Service Maker's
// deepstream_test3_app: several URIs (files, rtsp://) batched, the
// primary detector, the object counter, the tiler and a renderer. With
// -dynamic it also shows what deepstream-test3's C original and
// nvmultiurisrcbin do: streams added to the running batch one by one and
// the first removed while the others go on.
//
//	go run ./examples/deepstream-test3 file1.mp4 rtsp://host/stream
//	go run ./examples/deepstream-test3 -dynamic a.mp4 b.mp4 c.mp4
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/examples/internal/sample"
	"github.com/vidflow/vidflow/media"
)

func main() {
	dynamic := flag.Bool("dynamic", false, "add the streams one by one while running, then remove the first")
	flag.Parse()
	uris := flag.Args()
	if len(uris) == 0 { // the sample video, twice
		uris = []string{sample.Video(), sample.Video()}
	}
	run := static
	if *dynamic {
		run = dynamicStreams
	}
	if err := run(context.Background(), uris, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// static is deepstream_test3.py: batch_capture(uris).infer(...).attach(counter).render().
func static(ctx context.Context, uris []string, out io.Writer) error {
	p := vidflow.NewPipeline("deepstream-test3")
	return vidflow.NewFlow(p).BatchCapture(uris, vidflow.Width(1280), vidflow.Height(720)).
		Infer(sample.PGIE()).
		Attach(vidflow.NewProbe("counter", sample.Counter(out))).
		Tile().Render(vidflow.RenderDiscard).Run(ctx)
}

// dynamicStreams starts an empty batch, adds each URI once the one
// before has given five frames, removes the first as the last comes in,
// and ends when every stream has ended or been removed.
func dynamicStreams(ctx context.Context, uris []string, out io.Writer) error {
	out = sample.Locked(out) // the counter writes from the pipeline, this function from its own goroutine
	p := vidflow.NewPipeline("deepstream-test3")
	var mu sync.Mutex
	frames := map[int]int{}
	grew := make(chan struct{}, 1)
	count := func(m *media.BatchMeta) {
		mu.Lock()
		for _, f := range m.Frames {
			frames[f.SourceID]++
		}
		mu.Unlock()
		select {
		case grew <- struct{}{}:
		default:
		}
	}
	ended := make(chan int, 2*len(uris)+1)
	p.OnMessage(func(m element.Message) {
		if e, ok := m.(*element.StreamEOSMessage); ok {
			ended <- e.SourceID
		}
	})
	f := vidflow.NewFlow(p).BatchCapture(nil, vidflow.Props{"drop-pipeline-eos": true, "max-batch-size": len(uris)},
		vidflow.Width(1280), vidflow.Height(720), vidflow.Name("mux")).
		Infer(sample.PGIE()).
		Attach(vidflow.NewProbe("counter", sample.Counter(out))).Attach(count).
		Tile().Render(vidflow.RenderDiscard)
	if err := f.Err(); err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	defer p.Stop()
	var ids []int
	for _, uri := range uris {
		id, err := p.AddStream("mux", vidflow.StreamSpec{URI: uri})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Stream added: source %d %s\n", id, uri)
		ids = append(ids, id)
		for n := 0; n < 5 && len(ids) < len(uris); { // wait for its first frames
			<-grew
			mu.Lock()
			n = frames[id]
			mu.Unlock()
		}
	}
	remaining := map[int]bool{}
	for _, id := range ids {
		remaining[id] = true
	}
	if len(ids) > 1 {
		if err := p.RemoveStream("mux", ids[0]); err != nil {
			return err
		}
		fmt.Fprintf(out, "Stream removed: source %d\n", ids[0])
		delete(remaining, ids[0])
	}
	for len(remaining) > 0 {
		id := <-ended
		if remaining[id] {
			delete(remaining, id)
			fmt.Fprintf(out, "Stream ended: source %d\n", id)
		}
	}
	// The batcher reports a stream's end as its last batch leaves it:
	// let the frames still in the detector reach the counter.
	for quiet := false; !quiet; {
		select {
		case <-grew:
		case <-time.After(300 * time.Millisecond):
			quiet = true
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		fmt.Fprintf(out, "source %d: %d frames\n", id, frames[id])
	}
	return nil
}
