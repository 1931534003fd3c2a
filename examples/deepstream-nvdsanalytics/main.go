// Command deepstream-nvdsanalytics is the Go twin of Service Maker's
// deepstream_nvdsanalytics_test_app (pyservicemaker reference app):
// several URIs batched at 1920x1080, the detector, a tracker, nvdsanalytics
// with its INI config (ROI filtering, overcrowding, line crossing,
// direction), and a probe printing each object's and each frame's
// analytics results and the object counts.
//
//	go run ./examples/deepstream-nvdsanalytics ~/.cache/vidflow/media/vtest.mp4
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
	"github.com/vidflow/vidflow/media"
)

func main() {
	config := flag.String("config", sample.Analytics(), "nvdsanalytics config (INI)")
	flag.Parse()
	uris := flag.Args()
	if len(uris) == 0 { // the sample video
		uris = []string{sample.Video()}
	}
	if err := run(context.Background(), uris, *config, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// printAnalytics is the original's ObjectCounterMarker: the analytics
// results of each object and frame, then the counter.
func printAnalytics(out io.Writer) func(*media.BatchMeta) {
	count := sample.Counter(out)
	return func(m *media.BatchMeta) {
		for _, f := range m.Frames {
			for _, o := range f.Objects {
				if a := media.AnalyticsObject(o); a != nil {
					fmt.Fprintf(out, "Object %d moving in direction: %s\n", o.TrackID, a.Direction)
					fmt.Fprintf(out, "Object %d line crossing status: %v\n", o.TrackID, a.Lines)
					fmt.Fprintf(out, "Object %d overcrowding status: %v\n", o.TrackID, a.Overcrowding)
					fmt.Fprintf(out, "Object %d ROI status: %v\n", o.TrackID, a.ROIs)
					fmt.Fprintf(out, "Object %d unique ID: %d\n", o.TrackID, a.UniqueID)
				}
			}
			if a := media.AnalyticsFrame(f); a != nil {
				fmt.Fprintf(out, "Frame %d overcrowding status: %v\n", f.FrameNumber, a.Overcrowding)
				fmt.Fprintf(out, "Frame %d object in ROI count: %v\n", f.FrameNumber, a.ObjInROI)
				fmt.Fprintf(out, "Frame %d object line crossing current count: %v\n", f.FrameNumber, a.LineCurrent)
				fmt.Fprintf(out, "Frame %d object line crossing cumulative count: %v\n", f.FrameNumber, a.LineCumulative)
				fmt.Fprintf(out, "Frame %d unique ID: %d\n", f.FrameNumber, a.UniqueID)
				fmt.Fprintf(out, "Frame %d object count: %v\n", f.FrameNumber, a.ObjCount)
			}
		}
		count(m)
	}
}

func run(ctx context.Context, uris []string, config string, out io.Writer) error {
	p := vidflow.NewPipeline("deepstream-nvdsanalytics-test")
	return vidflow.NewFlow(p).
		BatchCapture(uris, vidflow.Width(1920), vidflow.Height(1080), vidflow.BatchedPushTimeout(33*time.Millisecond)).
		Infer(sample.PGIE()).
		Track(vidflow.TrackerAlgorithm("bytetrack")).
		Analyze(config).
		Attach(vidflow.NewProbe("counter", printAnalytics(out))).
		Render(vidflow.RenderDiscard).Run(ctx)
}
