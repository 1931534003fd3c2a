package vidflow_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// ListenRecordCommands on a real Kafka broker (kfake): a start-recording
// without an end names the stream by its sensor id and records until a
// stop-recording; a message it cannot carry out (a sensor that is no
// stream), with no OnCommand, is a WarningMessage saying why.
func TestListenRecordCommands(t *testing.T) {
	clip := gopClip(t, 60)
	kc, err := kfake.NewCluster(kfake.SeedTopics(1, "c2d"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	dir := t.TempDir()
	p := vidflow.NewPipeline("c2d")
	var mu sync.Mutex
	var warnings []string
	p.OnMessage(func(m element.Message) {
		if w, ok := m.(*element.WarningMessage); ok && w.Element == "record-commands" {
			mu.Lock()
			warnings = append(warnings, w.Text)
			mu.Unlock()
		}
	})
	frames := make(chan struct{}, 1)
	err = vidflow.NewFlow(p).BatchCaptureStreams([]vidflow.StreamSpec{{URI: clip, SensorID: "door",
		Props: vidflow.RecordConfig{Dir: dir, DefaultDuration: time.Minute}.Props()}}, vidflow.Props{"file-loop": true}).
		Attach(func(*media.BatchMeta) {
			select {
			case frames <- struct{}{}:
			default:
			}
			time.Sleep(20 * time.Millisecond) // about real time: the commands come while it plays
		}).Render(vidflow.RenderDiscard).Err()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan vidflow.RecordingInfo, 1)
	l, err := p.ListenRecordCommands(vidflow.RecordCommands{Broker: "kafka://" + kc.ListenAddrs()[0], Topics: []string{"c2d"},
		OnRecording: func(i vidflow.RecordingInfo) { done <- i }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	select {
	case <-frames:
	case <-time.After(20 * time.Second):
		t.Fatalf("no frame: %v", p.Stop())
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.DefaultProduceTopic("c2d"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	send := func(msg string) {
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Value: []byte(msg)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	send(fmt.Sprintf(`{"command":"start-recording","sensor":{"id":"porch"},"start":%q}`, now))
	send(fmt.Sprintf(`{"command":"start-recording","sensor":{"id":"door"},"start":%q}`, now))
	time.Sleep(300 * time.Millisecond) // some of the recording
	send(`{"command":"stop-recording","sensor":{"id":"door"}}`)
	var info vidflow.RecordingInfo
	select {
	case info = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("stop-recording did not end the recording")
	}
	if info.Err != nil || info.Source != "batch_capture-src-0" || info.Duration <= 0 || info.Duration >= time.Minute {
		t.Errorf("recording %+v: want one of the door's stream, ended by the stop", info)
	}
	if _, err := vidflow.Discover(info.Directory + "/" + info.FileName); err != nil {
		t.Error(err)
	}
	// Messages are dispatched on a goroutine of their own.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(warnings)
		mu.Unlock()
		if n > 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], `start-recording of sensor "porch" ignored`) || !strings.Contains(warnings[0], `no element or sensor id "porch"`) {
		t.Errorf("warnings %q: want the unknown sensor's", warnings)
	}
}
