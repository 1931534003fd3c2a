package dsapp_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/dsapp"
)

// NVIDIA's deepstream-test5 config: its [message-converter] (enabled
// here) gives the type-6 sink what it does not set itself.
func TestLoadTest5MessageConverter(t *testing.T) {
	clip, pgie := touch(t, "clip.mp4"), touch(t, "pgie.yml")
	base := []string{"source0.uri=file://" + clip, "source1.uri=file://" + clip, "primary-gie.config-file=" + pgie,
		"primary-gie.model-engine-file=", "tracker.ll-config-file=", "sink1.msg-broker-conn-str=kafka://127.0.0.1:9092"}
	a, err := dsapp.Load("testdata/test5_config_file_src_infer.txt", append(base, "message-converter.enable=1",
		"message-converter.msg-conv-frame-interval=10", "message-converter.msg-conv-payload-type=1")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Sources) != 4 || len(a.Sinks) != 2 || a.Sinks[1].Type != 6 {
		t.Fatalf("sources %d, sinks %+v", len(a.Sources), a.Sinks)
	}
	sk := a.Sinks[1].Props
	abs, _ := filepath.Abs("testdata/dstest5_msgconv_sample_config.txt")
	if sk["msg-conv-config"] != abs || sk["msg-conv-payload-type"] != 0 || sk["msg-conv-frame-interval"] != 10 {
		t.Errorf("sink1 %v: want its own config and payload type, the converter's frame interval", sk)
	}
	_, err = dsapp.Load("testdata/test5_config_file_src_infer.txt", append(base, "message-converter.enable=1", "sink1.enable=0")...)
	if err == nil || !strings.Contains(err.Error(), "type=6") {
		t.Errorf("a converter without a broker sink: %v", err)
	}
}

// NVIDIA's deepstream-test5 config's [message-consumer0], enabled: the
// Kafka broker, the topics, and the sensor ids of its sensor-list-file
// (the msgconv config's [sensor<N>] ids, N the stream); its placeholders
// are errors naming the line.
func TestLoadTest5MessageConsumer(t *testing.T) {
	clip, pgie := touch(t, "clip.mp4"), touch(t, "pgie.yml")
	base := []string{"source0.uri=file://" + clip, "source1.uri=file://" + clip, "primary-gie.config-file=" + pgie,
		"primary-gie.model-engine-file=", "tracker.ll-config-file=", "sink1.msg-broker-conn-str=kafka://127.0.0.1:9092",
		"message-consumer0.enable=1"}
	ok := append(base, "message-consumer0.conn-str=127.0.0.1;9092", "message-consumer0.config-file=",
		"message-consumer0.subscribe-topic-list=c2d-a;c2d-b", "message-consumer0.sensor-list-file=testdata/dstest5_msgconv_sample_config.txt")
	a, err := dsapp.Load("testdata/test5_config_file_src_infer.txt", ok...)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Consumers) != 1 {
		t.Fatalf("consumers %+v", a.Consumers)
	}
	c := a.Consumers[0]
	if c.Group != "message-consumer0" || c.ConnStr != "127.0.0.1;9092" || !strings.Contains(c.ProtoLib, "kafka") ||
		strings.Join(c.Topics, ",") != "c2d-a,c2d-b" || c.ConfigFile != "" {
		t.Errorf("consumer %+v", c)
	}
	if n, found := c.Sensors["HWY_20_AND_LOCUST__WBA__4_11_2018_4_59_59_379_AM_UTC-07_00"]; !found || n != 1 {
		t.Errorf("sensors %v: want [sensor1]'s id as stream 1", c.Sensors)
	}
	for _, bad := range []struct{ set, want string }{
		{"message-consumer0.subscribe-topic-list=", "needs subscribe-topic-list"},
		{"message-consumer0.conn-str=nats://127.0.0.1:4222", "only Kafka"},
		{"message-consumer0.sensor-list-file=missing.txt", "missing.txt does not exist"},
	} {
		_, err := dsapp.Load("testdata/test5_config_file_src_infer.txt", append(ok, bad.set)...)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "message-consumer0") {
			t.Errorf("%s: %v, want %q", bad.set, err, bad.want)
		}
	}
	// NVIDIA's placeholder for its adapter config is a missing file.
	_, err = dsapp.Load("testdata/test5_config_file_src_infer.txt", append(base, "message-consumer0.conn-str=127.0.0.1;9092")...)
	if err == nil || !strings.Contains(err.Error(), "config-file") {
		t.Errorf("placeholder config-file: %v", err)
	}
}
