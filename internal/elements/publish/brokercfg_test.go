package publish

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/element"
)

// deepstream-test4's adapter configs load: MQTT's credentials and client
// id are used, Kafka's partition-key is accepted with a warning saying
// why it has no effect; a file without [message-broker] is an error.
func TestBrokerConfig(t *testing.T) {
	const dir = "../../deepstream/samples/testdata/deepstream_python_apps/apps/deepstream-test4"
	b, err := ReadBrokerConfig(filepath.Join(dir, "cfg_mqtt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Username != "user" || b.Password != "password" || b.ClientID != "uniqueID" || len(b.Ignored)+len(b.Unknown) != 0 {
		t.Errorf("cfg_mqtt.txt: %+v", b)
	}
	tmp := t.TempDir()
	kafka := filepath.Join(tmp, "cfg_kafka.txt")
	os.WriteFile(kafka, []byte("[message-broker]\npartition-key = sensor.id\nusernme = x\n"), 0o644)
	if b, err = ReadBrokerConfig(kafka); err != nil {
		t.Fatal(err)
	}
	if len(b.Ignored) != 1 || !strings.Contains(b.Ignored[0], "partition-key") || len(b.Unknown) != 1 || !strings.Contains(b.Unknown[0], `did you mean "username"`) {
		t.Errorf("kafka config: ignored %q unknown %q", b.Ignored, b.Unknown)
	}
	other := filepath.Join(tmp, "x.txt")
	os.WriteFile(other, []byte("[property]\nx=1\n"), 0o644)
	if _, err := ReadBrokerConfig(other); err == nil || !strings.Contains(err.Error(), "no [message-broker]") {
		t.Errorf("no group: %v", err)
	}
	// On the sink: the file's values, unless the properties give them.
	spec, err := testKinds().Lookup("nvmsgbrokersinkbin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		props      element.Props
		user, id   string
		warnings   int
		warnSubstr string
	}{
		{element.Props{"msg-broker-config": filepath.Join(dir, "cfg_mqtt.txt")}, "user", "uniqueID", 0, ""},
		{element.Props{"msg-broker-config": filepath.Join(dir, "cfg_mqtt.txt"), "username": "me", "client-id": "cam-1"}, "me", "cam-1", 0, ""},
		{element.Props{"msg-broker-config": kafka}, "", "", 2, "partition-key"},
	} {
		p := element.Props{"msg-broker-conn-str": "mqtt://127.0.0.1:1883"}
		for k, v := range c.props {
			p[k] = v
		}
		cfg, err := element.NewConfig(spec, "pub", p)
		if err != nil {
			t.Fatal(err)
		}
		e, err := newSink(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := e.(*Sink)
		if s.opts.Username != c.user || s.opts.ClientID != c.id || len(s.warnings) != c.warnings || !strings.Contains(strings.Join(s.warnings, "\n"), c.warnSubstr) {
			t.Errorf("%v: user %q client %q warnings %q", c.props, s.opts.Username, s.opts.ClientID, s.warnings)
		}
	}
}
