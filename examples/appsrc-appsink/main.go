// Command appsrc-appsink is the Go twin of Service Maker's appsrc/appsink
// sample: one pipeline captures frames and retrieves them into a channel,
// a second injects those frames as its own stream, batches them with a
// second, generated stream, runs a probe that counts objects and labels
// each frame, and retrieves the result.
//
//	go run ./examples/appsrc-appsink -frames 100
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

func main() {
	frames := flag.Int("frames", 100, "frames per stream")
	flag.Parse()
	if err := run(context.Background(), *frames, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// frameQueue carries copies of frames, and their objects, from the first
// pipeline to the second: a BufferRetriever on one side, a BufferProvider
// on the other.
type frameQueue struct {
	ch            chan frame
	width, height int
}

type frame struct {
	pixels  []byte
	objects []*media.ObjectMeta
}

// Consume copies the frame out: the buffer is only valid during the call.
func (q *frameQueue) Consume(b *media.Buffer) error {
	t, err := b.Extract(0)
	if err != nil {
		return err
	}
	q.ch <- frame{pixels: t.Clone().Bytes(), objects: b.Meta().Frames[0].Objects}
	return nil
}

func (q *frameQueue) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: q.width, Height: q.height, Framerate: 30}
}

func (q *frameQueue) Generate(ctx context.Context) (*media.Buffer, error) {
	select {
	case f, ok := <-q.ch:
		if !ok {
			return nil, io.EOF
		}
		b := media.NewBuffer(f.pixels)
		b.Meta().Frames[0].Objects = f.objects // a provider may bring metadata
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// gradient generates frames itself: a gray level that rises every frame.
type gradient struct{ n, i, w, h int }

func (g *gradient) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.GRAY8, Width: g.w, Height: g.h, Framerate: 30}
}

func (g *gradient) Generate(context.Context) (*media.Buffer, error) {
	if g.i >= g.n {
		return nil, io.EOF
	}
	data := make([]byte, g.w*g.h)
	for i := range data {
		data[i] = byte(g.i)
	}
	g.i++
	return media.NewBuffer(data), nil
}

// labeler is a BatchMetadataOperator: it writes each frame's object count
// as display text, for an on-screen display downstream.
type labeler struct{ objects int }

func (l *labeler) HandleMetadata(m *media.BatchMeta) {
	for _, fm := range m.Frames {
		l.objects += len(fm.Objects)
		d := &media.DisplayMeta{}
		d.AddText(media.DisplayText{Text: fmt.Sprintf("stream %d frame %d: %d objects", fm.SourceID, fm.FrameNumber, len(fm.Objects)),
			X: 10, Y: 10, Font: media.Font{Name: "Sans", Size: 12, Color: media.Color{R: 1, G: 1, B: 1, A: 1}}})
		fm.AddDisplay(d)
	}
}

// printer retrieves the batches of the second pipeline.
type printer struct {
	out    io.Writer
	frames map[int]int
}

func (p *printer) Consume(b *media.Buffer) error {
	for _, fm := range b.Meta().Frames {
		p.frames[fm.SourceID]++
		if fm.FrameNumber%50 == 0 {
			fmt.Fprintf(p.out, "%s\n", fm.Display[0].Texts[0].Text)
		}
	}
	return nil
}

func run(ctx context.Context, frames int, out io.Writer) error {
	const w, h = 320, 240
	q := &frameQueue{ch: make(chan frame, 4), width: w, height: h}

	// Pipeline A: capture (the synthetic source, with ground-truth boxes as
	// objects) → retrieve into the queue.
	capture := vidflow.NewPipeline("capture")
	src := fmt.Sprintf("testsrc://?width=%d&height=%d&num-buffers=%d&truth=true", w, h, frames)
	if err := vidflow.NewFlow(capture).Capture([]string{src}).Retrieve(q).Err(); err != nil {
		return err
	}
	if err := capture.Start(ctx); err != nil {
		return err
	}
	go func() {
		capture.Wait()
		close(q.ch)
	}()

	// Pipeline B: inject the queue's frames and a generated stream → batch →
	// probe → retrieve.
	l := &labeler{}
	pr := &printer{out: out, frames: map[int]int{}}
	process := vidflow.NewPipeline("process")
	err := vidflow.NewFlow(process).
		Inject([]media.BufferProvider{q, &gradient{n: frames, w: 160, h: 120}}).
		Batch(vidflow.Width(w), vidflow.Height(h)).
		Attach(vidflow.NewProbe("labeler", l)).
		Retrieve(pr).
		Run(ctx)
	if err2 := capture.Wait(); err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "done: stream 0 %d frames, stream 1 %d frames, %d objects labelled\n", pr.frames[0], pr.frames[1], l.objects)
	for _, s := range process.Stats() {
		fmt.Fprintf(out, "  %-18s %-12s in %4d out %4d frames, p50 %v\n", s.Name, s.Kind, s.FramesIn, s.FramesOut, s.LatencyP50)
	}
	return nil
}
