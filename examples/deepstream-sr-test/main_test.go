package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
)

// A recording from the 10th frame (1 s) asked for 20 s ends with the
// 20-frame clip: the file starts on the key frame at 0 and plays to 2 s.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	clip := sample.TestClip(t, dir, 20)
	list, err := sourceList(dir, clip)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), list, dir, 10, 1000, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Source recorded at: (\S+)\. Duration ([\d.]+) sec`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no recording reported:\n%s", out.String())
	}
	info, err := vidflow.Discover(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if info.Duration < 1900*time.Millisecond || info.Duration > 2100*time.Millisecond || len(info.Video) != 1 {
		t.Errorf("the recording plays %v: %+v", info.Duration, info)
	}
}

// Cloud mode on a real Kafka broker (kfake): a start-recording command
// for stream "0", from a second before to a second after now, gives a
// file that plays.
func TestRunCloud(t *testing.T) {
	dir := t.TempDir()
	clip := sample.TestClip(t, dir, 20)
	kc, err := kfake.NewCluster(kfake.SeedTopics(1, "sr-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	host, port, _ := net.SplitHostPort(kc.ListenAddrs()[0])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runCloud(ctx, []string{clip}, dir, Cloud{ConnStr: host + ";" + port, Topic: "sr-test", loop: true}, &out)
	}()
	prod, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.DefaultProduceTopic("sr-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	// Until the stream plays, a command is refused (and printed): send
	// it again until a recording is written.
	re := regexp.MustCompile(`Source recorded at: (\S+)\. Duration`)
	for deadline := time.Now().Add(30 * time.Second); re.FindStringSubmatch(out.String()) == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("no recording:\n%s", out.String())
		}
		now := time.Now().UTC()
		msg := fmt.Sprintf(`{"command":"start-recording","sensor":{"id":"0"},"start":%q,"end":%q}`,
			now.Add(-time.Second).Format(time.RFC3339Nano), now.Add(time.Second).Format(time.RFC3339Nano))
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(msg)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	info, err := vidflow.Discover(re.FindStringSubmatch(out.String())[1])
	// The clip loops unpaced and its one key frame is at 0, and a loop's
	// restart ends a recording: the file holds at most one 2 s pass (the
	// covered interval is checked where the stream plays at its pace, in
	// cmd/vidflow's TestAppCloudRecording).
	if err != nil || len(info.Video) != 1 || info.Duration < 500*time.Millisecond {
		t.Errorf("the recording: %+v, %v; want video that plays", info, err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
