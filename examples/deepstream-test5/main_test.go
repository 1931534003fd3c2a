package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
)

// Two streams from a source list: KITTI files per frame, the counts and
// fps printed, messages at the broker, and a recording started by the
// people on the first frames that plays.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	clip := sample.TestClip(t, dir, 12)
	list, err := staticSources(dir, clip)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(1, "test5app", "sr-commands"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out bytes.Buffer
	s := Settings{SourceConfig: list, Broker: fmt.Sprintf("kafka://127.0.0.1:%d", port), Topic: "test5app",
		KittiDir: filepath.Join(dir, "kitti"), RecordDir: dir, SRTopic: "sr-commands", Out: &out}
	if err := run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	kitti, _ := filepath.Glob(filepath.Join(dir, "kitti", "*.txt"))
	if len(kitti) != 24 {
		t.Errorf("%d KITTI files, want 24 (2 streams x 12 frames)", len(kitti))
	}
	recs := regexp.MustCompile(`Source (\S+) recorded at: (\S+)\. Duration`).FindAllStringSubmatch(out.String(), -1)
	if len(recs) != 2 {
		t.Fatalf("recordings %v, want one per stream:\n%s", recs, out.String())
	}
	for _, r := range recs {
		if info, err := vidflow.Discover(r[2]); err != nil || info.Duration < time.Second {
			t.Errorf("recording of %s: %v %+v", r[1], err, info)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(fmt.Sprintf("127.0.0.1:%d", port)), kgo.ConsumeTopics("test5app"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sensors := map[string]bool{}
	for len(sensors) < 2 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			for _, id := range []string{"UniqueSensorId1", "UniqueSensorId2"} {
				if strings.Contains(string(r.Value), id) {
					sensors[id] = true
				}
			}
		})
	}
	if len(sensors) != 2 {
		t.Errorf("messages from %v, want both sensors", sensors)
	}
}
