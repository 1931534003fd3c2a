package vidflow

import (
	"time"

	// Package publish registers the message broker sink (nvmsgbrokersinkbin).
	_ "github.com/vidflow/vidflow/internal/elements/publish"
)

// Publish ends the flow in a message broker sink (Service Maker's
// publish(), DeepStream's nvmsgbrokersinkbin): each frame's objects,
// analytics results and events become DeepStream event messages (full
// JSON, one per object or event, or minimal JSON, one per frame) delivered
// to NATS JetStream, Kafka, MQTT or Redis Streams, the broker chosen by
// the connection string's scheme:
//
//	nats://host:4222     JetStream, subjects <topic>.<sensor>.<kind>
//	kafka://host:9092    topic <topic>, key = sensor id
//	mqtt://host:1883     topic <topic>, as DeepStream (mqtts:// with TLS)
//	redis://host:6379/0  stream <topic> (rediss:// with TLS)
//
// Options are Service Maker's (Props: msg-broker-conn-str, topic,
// msg-conv-config, msg-conv-payload-type, msg-conv-frame-interval,
// msg-conv-msg2p-new-api; msg-broker-proto-lib is accepted) and vidflow's
// (BrokerURL, Topic, Outbox, Spool, BrokerCredentials, BrokerTLS, ...; see
// docs/analytics-publish.md for all).
//
// Publishing never blocks the video path: messages wait in a bounded
// outbox while the broker is slow or away, and are retried with backoff;
// when the outbox is full the oldest is dropped, counted in the sink's
// Drops statistic and reported in a WarningMessage. A message the broker
// cannot take for its size is dropped with a warning naming the sink.
// Each message carries a unique id (payload field "messageid"; also the
// Nats-Msg-Id header, the Kafka header "message-id" and the Redis field
// "id") for consumers to drop duplicates that retries can make.
func (f *Flow) Publish(opts ...Option) *Flow {
	o := collect(opts)
	if _, ok := f.step("publish", "nvmsgbrokersinkbin", "sink", o); !ok {
		return f.next(nil, false)
	}
	return &Flow{p: f.p, terminal: "Publish"}
}

// BrokerURL sets Publish's broker connection string (msg-broker-conn-str).
func BrokerURL(url string) Option { return prop("msg-broker-conn-str", url) }

// Topic sets Publish's topic: the Kafka topic, the Redis stream key, the
// first part of NATS subjects and MQTT topics (default "vidflow").
func Topic(topic string) Option { return prop("topic", topic) }

// PayloadType chooses Publish's message schema: 0 full JSON (one message
// per object or event), 1 minimal JSON (one per frame).
func PayloadType(t int) Option { return prop("msg-conv-payload-type", t) }

// FrameInterval makes Publish report the objects every n-th frame of each
// stream (default 30); events are sent as they happen.
func FrameInterval(n int) Option { return prop("msg-conv-frame-interval", n) }

// MsgConvConfig sets Publish's converter config file: [sensorN], [placeN],
// [analyticsN] groups (msg-conv-config).
func MsgConvConfig(path string) Option { return prop("msg-conv-config", path) }

// Outbox sets how many messages Publish keeps while the broker is slow or
// away (default 10000), and whether a full outbox drops the oldest
// (dropNewest false, the default) or the newest message.
func Outbox(size int, dropNewest bool) Option {
	return optionFunc(func(o *options) {
		o.props["outbox-size"] = size
		o.props["outbox-policy"] = map[bool]string{false: "drop-oldest", true: "drop-newest"}[dropNewest]
	})
}

// Spool keeps Publish's outbox on disk in dir as well, so that messages not
// delivered when the pipeline ends are delivered by the next run with the
// same dir.
func Spool(dir string) Option { return prop("spool-dir", dir) }

// BrokerRetry sets the first and the longest wait between delivery
// attempts while the broker is away (default 100 ms, doubling up to 2 s).
func BrokerRetry(first, longest time.Duration) Option {
	return optionFunc(func(o *options) {
		o.props["retry-interval"], o.props["retry-interval-max"] = first, longest
	})
}

// BrokerCredentials sets Publish's user name and password (NATS user,
// Kafka SASL/PLAIN, MQTT, Redis ACL user).
func BrokerCredentials(user, password string) Option {
	return optionFunc(func(o *options) { o.props["username"], o.props["password"] = user, password })
}

// BrokerTLS turns on TLS for Publish, with an optional CA file and client
// certificate and key files ("" for none).
func BrokerTLS(caFile, certFile, keyFile string) Option {
	return optionFunc(func(o *options) {
		o.props["tls"] = true
		o.props["tls-ca-file"], o.props["tls-cert-file"], o.props["tls-key-file"] = caFile, certFile, keyFile
	})
}
