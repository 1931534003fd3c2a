// Command deepstream-test5 is the Go twin of Service Maker's
// deepstream_test5_app (flow_api): a config-driven multi-stream pipeline —
// a source list YAML with smart recording (record_config), the detector,
// sample_video_probe's counts, a tracker, two secondary classifiers
// (stand-ins, as in deepstream-test2), measure_fps_probe,
// add_message_meta_probe, kitti_dump_probe and measure_latency_probe, and
// a fork to a message broker and the renderer. The original's recordings
// start from Kafka messages (cloud): here too with -sr-topic
// (Pipeline.ListenRecordCommands), and a person seen starts one
// (Pipeline.RecordOn), so that it records without a command sender.
//
//	go run ./examples/deepstream-test5                      # the sample video as two sensors
//	go run ./examples/deepstream-test5 source_list_static.yaml
//	go run ./examples/deepstream-test5 -sr-topic sr-commands source_list_static.yaml
//	go run ./examples/deepstream-test5 -broker nats://localhost:4222 source_list_static.yaml
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
)

// Settings is what the original keeps in constants at its top.
type Settings struct {
	SourceConfig string // source list YAML
	Broker       string // MSGBROKER_CONN_STR
	Topic        string // MGSBROKER_TOPIC
	KittiDir     string // kitti_dump_probe's folder
	RecordDir    string // rec_dir_path
	// SRTopic is the Kafka topic of cloud recording commands (topic_list);
	// "" for none.
	SRTopic string
	Out     io.Writer
}

func main() {
	s := Settings{Out: os.Stdout}
	flag.StringVar(&s.Broker, "broker", "kafka://localhost:9092", "message broker URL")
	flag.StringVar(&s.Topic, "topic", "test5app", "topic")
	flag.StringVar(&s.KittiDir, "kitti-dir", "/tmp/kitti", "KITTI dump folder")
	flag.StringVar(&s.RecordDir, "rec-dir", ".", "smart recording folder")
	flag.StringVar(&s.SRTopic, "sr-topic", "", "Kafka topic of cloud smart-record commands (-broker must be kafka://)")
	flag.Parse()
	switch flag.NArg() {
	case 0: // the sample video as NVIDIA's two static sensors
		tmp, err := os.MkdirTemp("", "test5")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		if s.SourceConfig, err = staticSources(tmp, sample.Video()); err != nil {
			log.Fatal(err)
		}
	case 1:
		s.SourceConfig = flag.Arg(0)
	default:
		fmt.Fprintf(os.Stderr, "usage: %s [source_config.yaml]\n", os.Args[0])
		os.Exit(1)
	}
	if !strings.HasSuffix(s.SourceConfig, ".yaml") && !strings.HasSuffix(s.SourceConfig, ".yml") {
		log.Fatalf("Error: Input file '%s' must be a YAML file (.yaml or .yml)", s.SourceConfig)
	}
	if err := run(context.Background(), s); err != nil {
		log.Fatal(err)
	}
}

// staticSources writes NVIDIA's source_list_static.yaml with the video
// as both of its sensors.
func staticSources(dir, video string) (string, error) {
	p := filepath.Join(dir, "source_list_static.yaml")
	text := fmt.Sprintf("source-list:\n- uri: %q\n  sensor-id: UniqueSensorId1\n  sensor-name: UniqueSensorName1\n"+
		"- uri: %q\n  sensor-id: UniqueSensorId2\n  sensor-name: UniqueSensorName2\nsource-config:\n  source-bin: \"nvurisrcbin\"\n", video, video)
	return p, os.WriteFile(p, []byte(text), 0o644)
}

func run(ctx context.Context, s Settings) error {
	s.Out = sample.Locked(s.Out) // probes and recording callbacks write from their goroutines
	dir, err := os.MkdirTemp("", "deepstream-test5")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sgie1, err := sample.ColorClassifier(dir, "sgie1", 4, "2;3;5;7")
	if err != nil {
		return err
	}
	sgie2, err := sample.ColorClassifier(dir, "sgie2", 6, "0")
	if err != nil {
		return err
	}
	probes := map[string]*vidflow.Probe{}
	for _, m := range []struct {
		module, name string
		props        vidflow.Props
	}{
		{"sample_video_probe", "osd_counter", vidflow.Props{"font-size": 15}},
		{"measure_fps_probe", "fps_probe", nil},
		{"add_message_meta_probe", "message_generator", nil},
		{"kitti_dump_probe", "kitti_dump", vidflow.Props{"kitti-dir": s.KittiDir}},
		{"measure_latency_probe", "latency_probe", nil},
	} {
		if probes[m.name], err = vidflow.Module(m.module, m.name, m.props, s.Out); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(s.KittiDir, 0o755); err != nil {
		return err
	}
	pipeline := vidflow.NewPipeline("deepstream-test5")
	record := vidflow.RecordConfig{Cache: 20 * time.Second, Container: 0, Dir: s.RecordDir}
	flow := vidflow.NewFlow(pipeline).BatchCapture([]string{s.SourceConfig}, record)
	flow = flow.Infer(sample.PGIE(), vidflow.Props{"unique-id": 1, "batch-size": 16})
	flow = flow.Attach(probes["osd_counter"])
	flow = flow.Track(vidflow.TrackerAlgorithm("bytetrack"))
	flow = flow.Infer(sgie1, vidflow.Props{"unique-id": 4, "batch-size": 40})
	flow = flow.Infer(sgie2, vidflow.Props{"unique-id": 6, "batch-size": 40})
	flow = flow.Attach(probes["fps_probe"])
	flow = flow.Attach(probes["message_generator"])
	flow = flow.Attach(probes["kitti_dump"])
	flow = flow.Attach(probes["latency_probe"])
	// The cloud trigger's stand-in: a person starts a recording of its
	// stream, from 2 s before to 3 s after.
	flow = flow.Attach(pipeline.RecordOn(vidflow.RecordTrigger{Classes: []int{0}, MinConfidence: 0.5, Before: 2 * time.Second, After: 3 * time.Second,
		OnRecording: func(i vidflow.RecordingInfo) {
			fmt.Fprintf(s.Out, "Source %s recorded at: %s/%s. Duration %.1f sec\n", i.Source, i.Directory, i.FileName, i.Duration.Seconds())
		},
		OnError: func(err error) { fmt.Fprintln(s.Out, err) }}))
	flow = flow.Fork()
	flow.Publish(vidflow.BrokerURL(s.Broker), vidflow.Topic(s.Topic), vidflow.Props{"sync": false})
	flow.Render(vidflow.RenderDiscard)
	if s.SRTopic != "" {
		// RecordConfig(recording_type="cloud", conn_str=…, topic_list=…):
		// {"command":"start-recording","sensor":{"id":"UniqueSensorId1"},"start":…,"end":…}
		l, err := pipeline.ListenRecordCommands(vidflow.RecordCommands{Broker: s.Broker, Topics: []string{s.SRTopic},
			OnCommand: func(c vidflow.RecordCommand, err error) {
				if err != nil {
					fmt.Fprintln(s.Out, err)
				}
			},
			OnRecording: func(i vidflow.RecordingInfo) {
				fmt.Fprintf(s.Out, "Source %s recorded at: %s/%s. Duration %.1f sec\n", i.Source, i.Directory, i.FileName, i.Duration.Seconds())
			}})
		if err != nil {
			return err
		}
		defer l.Close()
	}
	return pipeline.Run(ctx)
}
