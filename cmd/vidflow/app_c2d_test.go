package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
	"github.com/vidflow/vidflow/internal/dsapp"
)

// keyClip re-encodes the first frames of the sample video with a key
// frame every 5 (0.5 s), so that where a recording starts tells whether
// it covers what was asked.
func keyClip(t *testing.T, dir string, frames int) string {
	t.Helper()
	video := cli.MediaPath("vtest.mp4")
	if _, err := os.Stat(video); err != nil {
		t.Skipf("%s missing: run scripts/setup.sh", video)
	}
	clip := filepath.Join(dir, "keys.mp4")
	out, err := exec.Command("gst-launch-1.0", "-q", "filesrc", "location="+video, "!", "decodebin", "!",
		"identity", "eos-after="+strconv.Itoa(frames+1), "!", "videoconvert", "!", "x264enc", "key-int-max=5",
		"speed-preset=ultrafast", "!", "mp4mux", "!", "filesink", "location="+clip).CombinedOutput()
	if err != nil {
		t.Fatalf("encoding the clip: %v %s", err, out)
	}
	return clip
}

// wbaSensor is [sensor1]'s id in NVIDIA's dstest5_msgconv_sample_config.txt.
const wbaSensor = "HWY_20_AND_LOCUST__WBA__4_11_2018_4_59_59_379_AM_UTC-07_00"

// deepstream-test5's cloud-triggered recording: NVIDIA's config with its
// [message-consumer0] on a real Kafka broker (kfake), both cameras with
// smart-record=1, sensor ids from NVIDIA's sensor-list-file. A
// start-recording for [sensor1]'s id records stream 1 only, over the
// asked interval; a message that is no JSON and one naming an unknown
// sensor are reported with their reason and ignored.
func TestAppCloudRecording(t *testing.T) {
	dir := t.TempDir()
	clip := keyClip(t, dir, 50) // 5 s at 10 fps
	rec := filepath.Join(dir, "rec")
	os.Mkdir(rec, 0o755)
	kc, err := kfake.NewCluster(kfake.SeedTopics(1, "vidflow-c2d"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	host, port, _ := net.SplitHostPort(kc.ListenAddrs()[0])
	sets := append(test5Sets(clip), "source0.smart-record=1", "source0.smart-rec-dir-path="+rec,
		"source1.smart-record=1", "source1.smart-rec-dir-path="+rec,
		"message-consumer0.enable=1", "message-consumer0.conn-str="+host+";"+port, "message-consumer0.config-file=",
		"message-consumer0.subscribe-topic-list=vidflow-c2d",
		"message-consumer0.sensor-list-file=../../internal/dsapp/testdata/dstest5_msgconv_sample_config.txt")
	a, err := dsapp.Load(test5Config, sets...)
	if err != nil {
		t.Fatal(err)
	}
	p := vidflow.NewPipeline("app-c2d")
	if err := buildApp(p, a, newPerf(io.Discard, len(a.Sources))); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	closeListeners, err := listenCommands(p, a, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer closeListeners()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	// Once stream 1 has played 1.5 s, ask for the second before now to
	// the second after it.
	waitFrames(t, p, "batch_capture-src-1", 15)
	prod, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.DefaultProduceTopic("vidflow-c2d"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	now := time.Now().UTC()
	stamp := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04:05.000Z") }
	for _, msg := range []string{
		`{"command":"start-recording","sensor":{"id":`,
		fmt.Sprintf(`{"command":"start-recording","sensor":{"id":"no-such-camera"},"start":%q}`, stamp(0)),
		fmt.Sprintf(`{"command":"start-recording","sensor":{"id":%q},"start":%q,"end":%q}`, wbaSensor, stamp(-time.Second), stamp(time.Second)),
	} {
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Value: []byte(msg)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	closeListeners()
	s := out.String()
	for _, want := range []string{"message ignored: bad JSON", `message ignored: not a recording command: unknown sensor "no-such-camera" (known: HWY_20_AND_LOCUST__EBA`,
		fmt.Sprintf("start-recording of sensor %q: session", wbaSensor)} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	files, _ := filepath.Glob(filepath.Join(rec, "*"))
	if len(files) != 1 || !strings.Contains(filepath.Base(files[0]), "_batch_capture-src-1_") {
		t.Fatalf("recordings %v: want one, of stream 1\n%s", files, s)
	}
	m := regexp.MustCompile(`smart record \[message-consumer0\]: (\S+), ([\d.]+) s`).FindStringSubmatch(s)
	if m == nil || m[1] != files[0] {
		t.Fatalf("recording not reported:\n%s", s)
	}
	info, err := vidflow.Discover(files[0])
	if err != nil || len(info.Video) != 1 {
		t.Fatalf("%s: %+v, %v", files[0], info, err)
	}
	// The 2 s asked, from the key frame before its start (at most 0.5 s
	// more): the file covers the interval.
	if info.Duration < 1900*time.Millisecond || info.Duration > 3*time.Second {
		t.Errorf("the recording plays %v: want the 2 s asked (and the key frame before)", info.Duration)
	}
}

// waitFrames waits until the element has given n frames.
func waitFrames(t *testing.T, p *vidflow.Pipeline, elem string, n int64) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, st := range p.Stats() {
			if st.Name == elem && st.FramesOut >= n {
				return
			}
		}
	}
	t.Fatalf("%s gave fewer than %d frames", elem, n)
}

// `vidflow app -c` with NVIDIA's [message-consumer0] enabled runs to its
// end: the listener starts before the streams and is closed after them.
func TestAppRunsWithMessageConsumer(t *testing.T) {
	dir := t.TempDir()
	clip := sampleClip(t, dir, 10)
	kc, err := kfake.NewCluster(kfake.SeedTopics(1, "vidflow-c2d"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	host, port, _ := net.SplitHostPort(kc.ListenAddrs()[0])
	args := []string{"app", "-c", test5Config}
	for _, s := range append(test5Sets(clip), "sink0.sync=0", "source1.smart-record=1", "source1.smart-rec-dir-path="+dir,
		"message-consumer0.enable=1", "message-consumer0.conn-str="+host+";"+port, "message-consumer0.config-file=",
		"message-consumer0.subscribe-topic-list=vidflow-c2d") {
		args = append(args, "-set", s)
	}
	var out syncBuffer
	if err := run(args, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "App run successful") || strings.Contains(out.String(), "[message-consumer0]") {
		t.Errorf("want a success line and nothing from the consumer:\n%s", out.String())
	}
}
