// Command deepstream-sr-test is the Go twin of Service Maker's
// deepstream_sr_test_app. Local mode: a source list whose sources keep the
// last seconds of compressed video (record_config), the detector, and a
// probe that starts a recording of sensor UniqueSensorId1 at the 30th
// frame and stops it at the 1000th; the callback prints where the file
// went. Cloud mode (-r cloud): URIs whose recordings start and stop on
// deepstream-test5's JSON commands from a Kafka topic
// (Pipeline.ListenRecordCommands); a command's sensor.id is the stream's
// index ("0", "1", ...).
//
//	go run ./examples/deepstream-sr-test                  # the sample video as UniqueSensorId1
//	go run ./examples/deepstream-sr-test -source-config source_list.yaml -dir /tmp
//	go run ./examples/deepstream-sr-test -r cloud -conn-str "localhost;9092" -topic sr-test rtsp://cam1/stream
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
	"github.com/vidflow/vidflow/media"
)

func main() {
	recording := flag.String("r", "local", "recording type: local (uses -source-config) or cloud (uses URIs)")
	sources := flag.String("source-config", "", "source list YAML (default: the sample video as UniqueSensorId1)")
	dir := flag.String("dir", ".", "recordings folder (rec_dir_path)")
	c := Cloud{}
	flag.StringVar(&c.ConnStr, "conn-str", "localhost;9092", "Kafka broker, cloud mode (KAFKA_CONN_STR)")
	flag.StringVar(&c.Topic, "topic", "sr-test", "Kafka topic of the commands, cloud mode (KAFKA_TOPIC_LIST)")
	flag.Parse()
	switch {
	case *recording == "cloud" && (flag.NArg() == 0 || *sources != ""):
		log.Fatal("-r cloud: give URIs, and no -source-config")
	case *recording == "cloud":
		if err := runCloud(context.Background(), flag.Args(), *dir, c, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	case *recording != "local":
		log.Fatalf("Invalid recording type %q. Expected 'local' or 'cloud'.", *recording)
	case flag.NArg() > 0:
		log.Fatal("URI(s) are not allowed when -r local")
	}
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

// Cloud is the cloud mode's broker: RecordConfig(recording_type="cloud",
// proto_lib, conn_str, topic_list).
type Cloud struct {
	ConnStr, Topic string
	loop           bool // tests: the files loop, so that they play while the commands come
}

// runCloud is the cloud mode: the streams record on the commands of
// c.Topic; each command's outcome and each recording are printed.
func runCloud(ctx context.Context, uris []string, dir string, c Cloud, out io.Writer) error {
	out = sample.Locked(out)
	p := vidflow.NewPipeline("deepstream-sr-test")
	record := vidflow.RecordConfig{Cache: 20 * time.Second, Container: 0, Dir: dir}
	f := vidflow.NewFlow(p).BatchCapture(uris, record, vidflow.Width(1920), vidflow.Height(1080), vidflow.Props{"file-loop": c.loop}).
		Infer(sample.PGIE())
	f.Render(vidflow.RenderDiscard)
	if err := f.Err(); err != nil {
		return err
	}
	sensors := map[string]string{}
	for i := range uris {
		sensors[strconv.Itoa(i)] = fmt.Sprintf("batch_capture-src-%d", i)
	}
	l, err := p.ListenRecordCommands(vidflow.RecordCommands{ProtoLib: "libnvds_kafka_proto.so", Broker: c.ConnStr,
		Topics: []string{c.Topic}, Sensors: sensors,
		OnCommand: func(cmd vidflow.RecordCommand, err error) {
			switch {
			case err != nil:
				fmt.Fprintln(out, err)
			case cmd.Start:
				fmt.Fprintf(out, "Recording of sensor %s started: session %d\n", cmd.Sensor, cmd.Session)
			}
		},
		OnRecording: func(i vidflow.RecordingInfo) {
			if i.Err != nil {
				fmt.Fprintln(out, "recording:", i.Err)
				return
			}
			fmt.Fprintf(out, "Source recorded at: %s/%s. Duration %.1f sec\n", i.Directory, i.FileName, i.Duration.Seconds())
		}})
	if err != nil {
		return err
	}
	defer l.Close()
	return p.Run(ctx)
}
