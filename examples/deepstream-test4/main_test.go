package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vidflow/vidflow/examples/internal/sample"
)

// The messages reach a Kafka broker (franz-go's in-process kfake): the
// people on the first frame, as DeepStream's full JSON.
func TestRunKafka(t *testing.T) {
	clip := sample.TestClip(t, t.TempDir(), 6)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(1, "test4app"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out bytes.Buffer
	if err := run(context.Background(), clip, fmt.Sprintf("kafka://127.0.0.1:%d", port), "test4app", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Published to test4app: 6 batches in, 0 dropped") {
		t.Errorf("output:\n%s", out.String())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(fmt.Sprintf("127.0.0.1:%d", port)), kgo.ConsumeTopics("test4app"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	persons := 0
	for persons == 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if strings.Contains(string(r.Value), `"person"`) {
				persons++
			}
		})
	}
	if persons == 0 {
		t.Error("no message about a person reached the broker")
	}
}
