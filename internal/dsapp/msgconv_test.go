package dsapp_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/dsapp"
)

// NVIDIA's deepstream-test5 config: its [message-converter] (enabled
// here) gives the type-6 sink what it does not set itself, and its
// [message-consumer0], when enabled, is refused saying what to use.
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
	_, err = dsapp.Load("testdata/test5_config_file_src_infer.txt", append(base, "message-consumer0.enable=1")...)
	if err == nil || !strings.Contains(err.Error(), "test5_config_file_src_infer.txt") || !strings.Contains(err.Error(), "/api/v1/record/start") {
		t.Errorf("message-consumer0: %v", err)
	}
	_, err = dsapp.Load("testdata/test5_config_file_src_infer.txt", append(base, "message-converter.enable=1", "sink1.enable=0")...)
	if err == nil || !strings.Contains(err.Error(), "type=6") {
		t.Errorf("a converter without a broker sink: %v", err)
	}
}
