// Command deepstream-test2 is the Go twin of Service Maker's
// deepstream_test2_app: deepstream-test1 plus a tracker (NvDCF there,
// ByteTrack here) and two secondary classifiers on the tracked objects
// (NVIDIA's vehicle make and type networks there; stand-in colour
// classifiers built at start here, on persons and on vehicles).
//
//	go run ./examples/deepstream-test2 ~/.cache/vidflow/media/vtest.mp4
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sync"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
	"github.com/vidflow/vidflow/media"
)

func main() {
	flag.Parse()
	file := sample.Video() // no argument: the sample video
	switch flag.NArg() {
	case 0:
	case 1:
		file = flag.Arg(0)
	default:
		fmt.Fprintf(os.Stderr, "usage: %s [video file]\n", os.Args[0])
		os.Exit(1)
	}
	if err := run(context.Background(), file, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, file string, out io.Writer) error {
	dir, err := os.MkdirTemp("", "deepstream-test2")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sgie1, err := sample.ColorClassifier(dir, "person-colour", 2, "0")
	if err != nil {
		return err
	}
	sgie2, err := sample.ColorClassifier(dir, "vehicle-colour", 3, "2;3;5;7")
	if err != nil {
		return err
	}
	var mu sync.Mutex
	ids := map[int64]bool{}
	classified := 0
	summary := func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range m.Frames {
			for _, o := range f.Objects {
				if o.TrackID != media.UntrackedID {
					ids[o.TrackID] = true
				}
				if len(o.Classifications) > 0 {
					classified++
				}
			}
		}
	}
	p := vidflow.NewPipeline("deepstream-test2")
	err = vidflow.NewFlow(p).BatchCapture([]string{file}).Infer(sample.PGIE()).
		Track(vidflow.TrackerAlgorithm("bytetrack")).
		Infer(sgie1).
		Infer(sgie2).
		Attach(vidflow.NewProbe("counter", sample.Counter(out))).
		Attach(summary).
		Render(vidflow.RenderDiscard).Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Tracked ids: %d, classified objects: %d\n", len(ids), classified)
	return nil
}
