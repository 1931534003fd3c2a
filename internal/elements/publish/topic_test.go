package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
)

func TestConnTopic(t *testing.T) {
	for in, want := range map[string]string{
		"localhost;1883;ds-events":   "ds-events",
		" localhost;1883; ds-events": "ds-events",
		"localhost;9092":             "",
		"mqtt://localhost:1883":      "",
		"kafka://h:9092;x":           "",
	} {
		if got := ConnTopic(in); got != want {
			t.Errorf("ConnTopic(%q) = %q, want %q", in, got, want)
		}
	}
	// The host;port;topic form still parses as host and port.
	if kind, u, err := ParseConnString("localhost;1883;ds-events", "/opt/nvidia/deepstream/deepstream/lib/libnvds_mqtt_proto.so"); err != nil || kind != "mqtt" || u.Host != "localhost:1883" {
		t.Errorf("host;port;topic: %s %v %v", kind, u, err)
	}
}

// Messages reach the MQTT topic where DeepStream's MQTT adapter publishes
// them, seen by a subscriber of "#" on a real mosquitto: the topic
// property, else the connection string's host;port;topic; per-sensor
// subtopics only with mqtt-subtopics (issue 18: vidflow published to
// <topic>/<sensor>/<kind> and ignored the connection string's topic).
func TestMQTTTopicAsDeepStream(t *testing.T) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/mosquitto"); e != nil {
			t.Skip("mosquitto is not installed (scripts/setup-brokers.sh)")
		}
		bin = "/usr/sbin/mosquitto"
	}
	port := startMosquitto(t, bin)
	lib := "/opt/nvidia/deepstream/deepstream/lib/libnvds_mqtt_proto.so"
	const frames, objects = 5, 4
	for _, c := range []struct {
		name  string
		props element.Props
		want  func(sensor string) string
	}{
		{"conn-str topic", element.Props{"msg-broker-conn-str": fmt.Sprintf("127.0.0.1;%d;ds-events", port), "msg-broker-proto-lib": lib},
			func(string) string { return "ds-events" }},
		{"topic property first", element.Props{"msg-broker-conn-str": fmt.Sprintf("127.0.0.1;%d;ds-events", port), "msg-broker-proto-lib": lib, "topic": "mine"},
			func(string) string { return "mine" }},
		{"subtopics asked", element.Props{"msg-broker-conn-str": fmt.Sprintf("mqtt://127.0.0.1:%d", port), "topic": "cams", "mqtt-subtopics": true},
			func(s string) string { return "cams/" + s + "/object" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			topics := subscribeAll(t, port)
			runRealSink(t, frames, objects, c.props)
			got := topics.wait(t, frames*objects)
			for _, tp := range got {
				if want := c.want(tp.sensor); tp.topic != want {
					t.Fatalf("a message on %q, want %q (all: %v)", tp.topic, want, got)
				}
			}
		})
	}
}

type received struct{ topic, sensor string }

type topicLog struct {
	mu  sync.Mutex
	got []received
}

func (l *topicLog) wait(t *testing.T, n int) []received {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		l.mu.Lock()
		k := len(l.got)
		l.mu.Unlock()
		if k >= n {
			break
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.got) < n {
		t.Fatalf("%d messages received, want %d", len(l.got), n)
	}
	out := append([]received(nil), l.got...)
	sort.Slice(out, func(i, j int) bool { return out[i].topic < out[j].topic })
	return out
}

// subscribeAll subscribes to every topic ("#") and logs each message's
// topic and sensor id (the payload's sensor.id, by which the subtopic
// is checked).
func subscribeAll(t *testing.T, port int) *topicLog {
	t.Helper()
	l := &topicLog{}
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", port)).
		SetClientID(fmt.Sprintf("sub-%d", time.Now().UnixNano())).SetCleanSession(true))
	if tok := cl.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(50) })
	tok := cl.Subscribe("#", 1, func(_ mqtt.Client, m mqtt.Message) {
		var p struct { // DeepStream's full schema
			Sensor struct {
				ID string `json:"id"`
			} `json:"sensor"`
		}
		json.Unmarshal(m.Payload(), &p) // a bad payload leaves sensor "" and fails the subtopic case
		l.mu.Lock()
		l.got = append(l.got, received{topic: m.Topic(), sensor: p.Sensor.ID})
		l.mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return l
}

// runRealSink runs testsrc into the sink with its real broker adapter.
func runRealSink(t *testing.T, frames, objects int, props element.Props) {
	t.Helper()
	g := engine.NewGraph("t", testKinds())
	if _, err := g.Add("testsrc", "src", element.Props{"num-buffers": frames, "objects": objects, "truth": true, "width": 64, "height": 48}); err != nil {
		t.Fatal(err)
	}
	p := element.Props{"msg-conv-frame-interval": 1}
	for k, v := range props {
		p[k] = v
	}
	if _, err := g.Add("nvmsgbrokersinkbin", "pub", p); err != nil {
		t.Fatal(err)
	}
	if err := g.Link("src", "pub"); err != nil {
		t.Fatal(err)
	}
	r, err := engine.Start(context.Background(), g, func(element.Message) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
}

// startMosquitto starts a broker on a free port for the test.
func startMosquitto(t *testing.T, bin string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nuser root\n", port)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %d", port)
		}
	}
}
