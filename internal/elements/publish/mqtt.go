package publish

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// mqttAdapter publishes to an MQTT 3.1.1 broker with Eclipse Paho: to the
// topic, as DeepStream's MQTT adapter does (or "<topic>/<sensor>/<kind>"
// when MQTTSubtopics asks), QoS 1 by default (each message waits for the
// broker's PUBACK). MQTT 3.1.1 has no headers: the message id is the
// payload's messageid. Credentials fall back to DeepStream's USER_MQTT and
// PASSWORD_MQTT environment variables.
type mqttAdapter struct {
	o  Options
	cl mqtt.Client
}

// mqttMax is the protocol's largest packet.
const mqttMax = 268435455

func newMQTT(o Options) *mqttAdapter {
	if o.Username == "" {
		o.Username, o.Password = os.Getenv("USER_MQTT"), os.Getenv("PASSWORD_MQTT")
	}
	return &mqttAdapter{o: o}
}

func (a *mqttAdapter) Connect(ctx context.Context) error {
	if a.cl != nil && a.cl.IsConnectionOpen() {
		return nil
	}
	if a.cl != nil {
		a.cl.Disconnect(0)
		a.cl = nil
	}
	u := *a.o.URL
	scheme := "tcp"
	if u.Scheme == "mqtts" || u.Scheme == "ssl" || a.o.TLS != nil {
		scheme = "ssl"
	}
	id := a.o.ClientID
	if id == "" {
		id = fmt.Sprintf("vidflow-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	}
	opts := mqtt.NewClientOptions().AddBroker(scheme + "://" + u.Host).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(a.o.Timeout).SetWriteTimeout(a.o.Timeout).SetKeepAlive(10 * time.Second).
		SetProtocolVersion(4)
	if a.o.Username != "" {
		opts.SetUsername(a.o.Username).SetPassword(a.o.Password)
	}
	if a.o.TLS != nil {
		opts.SetTLSConfig(a.o.TLS)
	}
	cl := mqtt.NewClient(opts)
	t := cl.Connect()
	if !t.WaitTimeout(a.o.Timeout) {
		cl.Disconnect(0)
		return fmt.Errorf("MQTT %s: no answer in %v", u.Host, a.o.Timeout)
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("MQTT %s: %w", u.Host, err)
	}
	a.cl = cl
	return nil
}

func (a *mqttAdapter) MaxMessageSize() int {
	if a.o.MaxMessageSize > 0 {
		return a.o.MaxMessageSize
	}
	return mqttMax - 1024
}

func (a *mqttAdapter) Send(ctx context.Context, msgs []*Message) (int, error) {
	if a.cl == nil || !a.cl.IsConnectionOpen() {
		return 0, ErrNotConnected
	}
	qos := byte(a.o.MQTTQoS)
	tokens := make([]mqtt.Token, len(msgs))
	prefix := strings.TrimSuffix(a.o.Topic, "/")
	for i, m := range msgs {
		topic := a.o.Topic
		if a.o.MQTTSubtopics {
			topic = prefix + "/" + subjectPart(m.Sensor) + "/" + subjectPart(m.Kind)
		}
		tokens[i] = a.cl.Publish(topic, qos, false, m.Payload)
	}
	timer := time.NewTimer(a.o.Timeout)
	defer timer.Stop()
	for i, t := range tokens {
		select {
		case <-t.Done():
		case <-timer.C:
			return i, fmt.Errorf("MQTT %s: no acknowledgement in %v: %w", a.o.URL.Host, a.o.Timeout, ErrNotConnected)
		case <-ctx.Done():
			return i, ctx.Err()
		}
		if err := t.Error(); err != nil {
			return i, fmt.Errorf("MQTT %s: %v: %w", a.o.URL.Host, err, ErrNotConnected)
		}
	}
	return len(msgs), nil
}

func (a *mqttAdapter) Close() error {
	if a.cl != nil {
		a.cl.Disconnect(100)
		a.cl = nil
	}
	return nil
}
