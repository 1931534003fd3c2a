package c2d_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/internal/c2d"
)

// The commands of NVIDIA's deepstream-test5 README, and what
// deepstream_c2d_msg_util.c refuses, each with its reason.
func TestParse(t *testing.T) {
	from := time.Date(2020, 5, 18, 20, 2, 0, 51e6, time.UTC)
	to := time.Date(2020, 5, 18, 20, 2, 2, 851e6, time.UTC)
	for _, c := range []struct {
		msg  string
		want c2d.Command
	}{
		{`{"command":"start-recording","start":"2020-05-18T20:02:00.051Z","end":"2020-05-18T20:02:02.851Z","sensor":{"id":"HWY_20"}}`,
			c2d.Command{Start: true, Sensor: "HWY_20", From: from, To: to}},
		// No command: a start; no end: none; a time without a zone is UTC.
		{`{"sensor":{"id":" 1 "},"start":"2020-05-18T20:02:00.051"}`, c2d.Command{Start: true, Sensor: "1", From: from}},
		{`{"command":"start-recording","sensor":{"id":0},"start":"2020-05-18T22:02:00.051+02:00"}`, c2d.Command{Start: true, Sensor: "0", From: from}},
		{`{"command":"stop-recording","sensor":{"id":"cam"}}`, c2d.Command{Sensor: "cam"}},
	} {
		got, err := c2d.Parse([]byte(c.msg))
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.msg, got, err, c.want)
		}
	}
	for _, c := range []struct{ msg, want string }{
		{`start-recording cam1`, "not a JSON object"},
		{`{"command":"start-recording",`, "bad JSON"},
		{`{"command":"pause-recording","sensor":{"id":"a"}}`, `unknown command "pause-recording"`},
		{`{"command":"start-recording","start":"2020-05-18T20:02:00Z"}`, `no "sensor"`},
		{`{"sensor":{"name":"a"},"start":"2020-05-18T20:02:00Z"}`, `no "sensor.id"`},
		{`{"sensor":{"id":"  "},"start":"2020-05-18T20:02:00Z"}`, "empty sensor.id"},
		{`{"sensor":{"id":["a"]},"start":"2020-05-18T20:02:00Z"}`, "is not a string"},
		{`{"sensor":{"id":"a"}}`, `has no "start" time`},
		{`{"sensor":{"id":"a"},"start":"yesterday"}`, `start "yesterday" is not a UTC time`},
		{`{"sensor":{"id":"a"},"start":"2020-05-18T20:02:00Z","end":"2020-05-18T20:01:00Z"}`, "is before start"},
		{`{"sensor":{"id":"a"},"start":"` + strings.Repeat("x", c2d.MaxSize) + `"}`, "a recording command is at most"},
	} {
		_, err := c2d.Parse([]byte(c.msg))
		if !errors.Is(err, c2d.ErrBadCommand) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60s: %v, want %q", c.msg, err, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		cfg  c2d.Config
		want string
	}{
		{c2d.Config{ConnStr: "127.0.0.1;9092", ProtoLib: "/opt/nvidia/deepstream/deepstream/lib/libnvds_kafka_proto.so", Topics: []string{"a"}}, ""},
		{c2d.Config{ConnStr: "kafka://127.0.0.1:9092", Topics: []string{"a"}}, ""},
		{c2d.Config{ConnStr: "mqtt://127.0.0.1:1883", Topics: []string{"a"}}, "only Kafka"},
		{c2d.Config{ConnStr: "127.0.0.1;9092", ProtoLib: "libnvds_amqp_proto.so", Topics: []string{"a"}}, "names no known adapter"},
		{c2d.Config{ConnStr: "kafka://127.0.0.1:9092", Topics: []string{" "}}, "no topic"},
	} {
		err := c2d.Check(c.cfg)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
