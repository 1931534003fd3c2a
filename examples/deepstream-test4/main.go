// Command deepstream-test4 is the Go twin of Service Maker's
// deepstream_test4_app: the detector's objects become event messages
// (add_message_meta_probe), and a fork sends the batches both to a message
// broker (DeepStream's Kafka, here Kafka, NATS JetStream, MQTT or Redis
// Streams by the URL's scheme) and to the renderer.
//
//	go run ./examples/deepstream-test4 -broker kafka://localhost:9092 ~/.cache/vidflow/media/vtest.mp4
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
)

func main() {
	broker := flag.String("broker", "kafka://localhost:9092", "the broker (MSGBROKER_CONN_STR): kafka://, nats://, mqtt://, redis://")
	topic := flag.String("topic", "test4app", "the topic (MGSBROKER_TOPIC)")
	flag.Parse()
	file := sample.Video() // no argument: the sample video
	switch flag.NArg() {
	case 0:
	case 1:
		file = flag.Arg(0)
	default:
		fmt.Fprintf(os.Stderr, "usage: %s [-broker url] [-topic name] [video file]\n", os.Args[0])
		os.Exit(1)
	}
	if err := run(context.Background(), file, *broker, *topic, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, file, broker, topic string, out io.Writer) error {
	msgMeta, err := vidflow.Module("add_message_meta_probe", "message_generator", nil, out)
	if err != nil {
		return err
	}
	p := vidflow.NewPipeline("deepstream-test4")
	flow := vidflow.NewFlow(p).BatchCapture([]string{file}).Infer(sample.PGIE())
	flow = flow.Attach(vidflow.NewProbe("counter", sample.Counter(out)))
	flow = flow.Attach(msgMeta).Fork()
	flow.Publish(vidflow.BrokerURL(broker), vidflow.Topic(topic), vidflow.Name("broker"))
	flow.Render(vidflow.RenderDiscard)
	if err := p.Run(ctx); err != nil {
		return err
	}
	for _, s := range p.Stats() {
		if s.Name == "broker" {
			fmt.Fprintf(out, "Published to %s: %d batches in, %d dropped\n", topic, s.BuffersIn, s.Drops)
		}
	}
	return nil
}
