package publish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vidflow/vidflow/internal/msgconv"
)

// Message is what the sinks deliver.
type Message = msgconv.Message

// Adapter talks to one broker. The outbox's delivery goroutine is its only
// user.
type Adapter interface {
	// Connect connects, or checks the connection; it is called before the
	// first Send and after a Send failed with ErrNotConnected.
	Connect(ctx context.Context) error
	// Send delivers msgs in order and returns how many the broker
	// acknowledged before the first failure, and that failure. A
	// *TooLargeError names a message the broker will never take.
	Send(ctx context.Context, msgs []*Message) (int, error)
	// MaxMessageSize is the largest payload the broker takes, 0 if unknown.
	MaxMessageSize() int
	// Close disconnects.
	Close() error
}

// ErrNotConnected says the adapter must (re)connect before the next Send.
var ErrNotConnected = errors.New("not connected")

// TooLargeError is a message that the broker refuses for its size.
type TooLargeError struct {
	Size, Max int // Max is 0 when the broker did not say
	Err       error
}

func (e *TooLargeError) Error() string {
	if e.Max > 0 {
		return fmt.Sprintf("message of %d bytes is larger than the broker accepts (%d bytes)", e.Size, e.Max)
	}
	return fmt.Sprintf("message of %d bytes is larger than the broker accepts: %v", e.Size, e.Err)
}

func (e *TooLargeError) Unwrap() error { return e.Err }

// Options are the settings of a broker connection.
type Options struct {
	// URL is the parsed connection string.
	URL *url.URL
	// Topic is the Kafka topic, the Redis stream key, the MQTT topic
	// (DeepStream's: every message there), and the first part of NATS
	// subjects.
	Topic string
	// MQTTSubtopics publishes MQTT messages to <topic>/<sensor>/<kind>
	// instead of <topic>: asked for, never the default, since DeepStream's
	// subscribers listen on the topic itself.
	MQTTSubtopics      bool
	Username, Password string
	ClientID           string
	TLS                *tls.Config // nil: plain connections
	// MaxMessageSize overrides what the broker says (0: the broker's).
	MaxMessageSize int
	// Timeout bounds connecting and each send.
	Timeout time.Duration
	// NATS: the JetStream stream (default: the topic in capitals) and
	// whether to create it when missing.
	NATSStream       string
	NATSCreateStream bool
	// MQTTQoS is the MQTT quality of service (0, 1 or 2).
	MQTTQoS int
	// RedisMaxLen caps the Redis stream (approximately; 0: no cap).
	RedisMaxLen int64
}

// Schemes are the connection string schemes by adapter.
var schemes = map[string]string{
	"nats": "nats", "tls": "nats",
	"kafka": "kafka",
	"mqtt":  "mqtt", "mqtts": "mqtt", "tcp": "mqtt", "ssl": "mqtt",
	"redis": "redis", "rediss": "redis",
}

// protoLibs map DeepStream adapter libraries to adapters, for connection
// strings in DeepStream's "host;port" form.
var protoLibs = map[string]string{"kafka": "kafka", "mqtt": "mqtt", "redis": "redis", "nats": "nats"}

// ConnTopic is the topic of a connection string in DeepStream's
// "host;port;topic" form ("" for URLs and "host;port"): DeepStream's
// adapters publish there when no topic property is set.
func ConnTopic(s string) string {
	if strings.Contains(s, "://") {
		return ""
	}
	parts := strings.Split(strings.TrimSpace(s), ";")
	if len(parts) < 3 {
		return ""
	}
	return strings.TrimSpace(parts[2])
}

// ParseConnString reads a broker connection string: a URL whose scheme
// chooses the broker (nats://, tls://, kafka://, mqtt://, mqtts://,
// redis://, rediss://), or DeepStream's "host;port" when protoLib names
// the adapter (libnvds_kafka_proto.so, ...). It returns the adapter name
// and the URL.
func ParseConnString(s, protoLib string) (string, *url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil, errors.New("no broker connection string (msg-broker-conn-str), e.g. nats://127.0.0.1:4222")
	}
	if !strings.Contains(s, "://") {
		parts := strings.Split(s, ";")
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return "", nil, fmt.Errorf("connection string %q: want a URL (nats://host:port, kafka://host:port, mqtt://host:port, redis://host:port) or DeepStream's host;port", s)
		}
		kind := ""
		for k, v := range protoLibs {
			if strings.Contains(strings.ToLower(protoLib), k) {
				kind = v
			}
		}
		if kind == "" {
			return "", nil, fmt.Errorf("connection string %q is DeepStream's host;port form, but msg-broker-proto-lib %q names no known adapter: use a URL such as kafka://%s:%s", s, protoLib, parts[0], parts[1])
		}
		s = kind + "://" + net.JoinHostPort(parts[0], parts[1])
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", nil, fmt.Errorf("connection string %q: %v", s, err)
	}
	kind, ok := schemes[strings.ToLower(u.Scheme)]
	if !ok {
		return "", nil, fmt.Errorf("connection string %q: unknown scheme %q (want nats, tls, kafka, mqtt, mqtts, redis or rediss)", s, u.Scheme)
	}
	if u.Host == "" {
		return "", nil, fmt.Errorf("connection string %q: no host", s)
	}
	for _, h := range strings.Split(u.Host, ",") {
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return "", nil, fmt.Errorf("connection string %q: %q is not host:port", s, h)
		}
	}
	return kind, u, nil
}

// TLSFiles are the TLS settings of a connection.
type TLSFiles struct {
	Enable                bool
	CAFile, CertFile, Key string
	InsecureSkipVerify    bool
}

// Config builds a TLS configuration, nil when TLS is off.
func (t TLSFiles) Config(host string) (*tls.Config, error) {
	if !t.Enable && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // the user's choice
	if h, _, err := net.SplitHostPort(strings.Split(host, ",")[0]); err == nil {
		c.ServerName = h
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls-ca-file %q: no PEM certificates", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.Key != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.Key)
		if err != nil {
			return nil, fmt.Errorf("tls-cert-file/tls-key-file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// newAdapter makes the adapter for a parsed connection string.
func newAdapter(kind string, o Options) (Adapter, error) {
	switch kind {
	case "nats":
		return newNATS(o), nil
	case "kafka":
		return newKafka(o)
	case "mqtt":
		return newMQTT(o), nil
	case "redis":
		return newRedis(o), nil
	}
	return nil, fmt.Errorf("no adapter %q", kind)
}

// subjectPart makes a sensor id or kind safe as one token of a NATS
// subject or MQTT topic.
func subjectPart(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', ' ', '*', '>', '/', '+', '#', '\t', '\n', '\r':
			return '_'
		}
		return r
	}, s)
}
