package c2d_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vidflow/vidflow/internal/c2d"
)

// The consumer reads a real Kafka broker (kfake, in process) from Since:
// a command older than that (sent before a restart) is not carried out.
func TestConsumer(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.SeedTopics(1, "c2d"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	addr := kc.ListenAddrs()[0]
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	now := time.Now()
	for _, r := range []*kgo.Record{{Topic: "c2d", Value: []byte("old"), Timestamp: now.Add(-time.Hour)},
		{Topic: "c2d", Value: []byte("new"), Timestamp: now.Add(time.Second)}} {
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	c, err := c2d.NewConsumer(c2d.Config{ConnStr: host + ";" + port, ProtoLib: "libnvds_kafka_proto.so", Topics: []string{"c2d"}, Since: now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []string
	for len(got) == 0 {
		msgs, err := c.Poll(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no message: %v", err)
		}
		for _, m := range msgs {
			got = append(got, m.Topic+":"+string(m.Value))
		}
	}
	if fmt.Sprint(got) != "[c2d:new]" {
		t.Errorf("got %v, want the message sent after Since only", got)
	}
}
