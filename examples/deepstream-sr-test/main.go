// Command deepstream-sr-test is the Go twin of Service Maker's
// deepstream_sr_test_app in its local mode: a source list whose sources
// keep the last seconds of compressed video (record_config), the
// detector, and a probe that starts a recording of sensor UniqueSensorId1
// at the 30th frame and stops it at the 1000th; the callback prints where
// the file went. Its cloud mode (recordings started by Kafka messages) is
// not in vidflow: start recordings from your code, from events
// (Pipeline.RecordOn) or over REST (vidflow serve's /api/v1/record/start).
//
//	go run ./examples/deepstream-sr-test                  # the sample video as UniqueSensorId1
//	go run ./examples/deepstream-sr-test -source-config source_list.yaml -dir /tmp
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
	"github.com/vidflow/vidflow/media"
)

func main() {
	sources := flag.String("source-config", "", "source list YAML (default: the sample video as UniqueSensorId1)")
	dir := flag.String("dir", ".", "recordings folder (rec_dir_path)")
	flag.Parse()
	if *sources == "" {
		tmp, err := os.MkdirTemp("", "sr-test")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		if *sources, err = sourceList(tmp, sample.Video()); err != nil {
			log.Fatal(err)
		}
	}
	if err := run(context.Background(), *sources, *dir, 30, 1000, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// sourceList writes a one-stream source list, as NVIDIA's source_list.yaml.
func sourceList(dir, video string) (string, error) {
	p := filepath.Join(dir, "source_list.yaml")
	text := fmt.Sprintf("source-list:\n- uri: %q\n  sensor-id: UniqueSensorId1\n  sensor-name: UniqueSensorName1\n", video)
	return p, os.WriteFile(p, []byte(text), 0o644)
}

// localRecorder is the original's LocalRecorder: frames counted over the
// batch, a recording started at start and stopped at stop.
type localRecorder struct {
	p           *vidflow.Pipeline
	out         io.Writer
	start, stop int
	mu          sync.Mutex
	frames      int
}

func (l *localRecorder) HandleMetadata(m *media.BatchMeta) {
	for range m.Frames {
		l.mu.Lock()
		l.frames++
		n := l.frames
		l.mu.Unlock()
		switch n {
		case l.start:
			_, err := l.p.StartRecording("UniqueSensorId1", 0, 20*time.Second, func(i vidflow.RecordingInfo) {
				fmt.Fprintf(l.out, "Source recorded at: %s/%s. Duration %.1f sec\n", i.Directory, i.FileName, i.Duration.Seconds())
			})
			if err != nil {
				fmt.Fprintln(l.out, "recording:", err)
			}
		case l.stop:
			if err := l.p.StopRecording("UniqueSensorId1"); err != nil {
				fmt.Fprintln(l.out, "stop recording:", err)
			}
		}
	}
}

func run(ctx context.Context, sourceConfig, dir string, start, stop int, out io.Writer) error {
	out = sample.Locked(out) // the probe and the recording callback write from their goroutines
	p := vidflow.NewPipeline("deepstream-sr-test")
	record := vidflow.RecordConfig{Cache: 20 * time.Second, Container: 0, Dir: dir}
	return vidflow.NewFlow(p).
		BatchCapture([]string{sourceConfig}, record, vidflow.Width(1920), vidflow.Height(1080)).
		Infer(sample.PGIE()).
		Attach(vidflow.NewProbe("local_recorder", &localRecorder{p: p, out: out, start: start, stop: stop})).
		Render(vidflow.RenderDiscard).Run(ctx)
}
