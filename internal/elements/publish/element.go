// Package publish holds the message broker sink (DeepStream's
// nvmsgbrokersinkbin: nvmsgconv + nvmsgbroker): it turns each frame's
// metadata into event messages (package msgconv) and delivers them to NATS
// JetStream, Kafka, MQTT or Redis Streams, chosen by the connection
// string's scheme, through pure-Go clients.
//
// Publishing never blocks the video path: messages go into a bounded
// outbox, and one goroutine delivers them, retrying with backoff while the
// broker is away. When the outbox is full, the oldest message is dropped
// (or the newest, by choice), counted in the element's drops and reported
// in a warning. With a spool directory the outbox is also kept on disk,
// and a restarted pipeline delivers what the last one could not. Every
// message has an id (a UUID) that consumers use to drop the duplicates
// that retries can make.
package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/msgconv"
	"github.com/vidflow/vidflow/media"
)

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvmsgbrokersinkbin",
		Aliases: []string{"msgbroker", "publish"},
		Doc: "Converts each frame's metadata into DeepStream event messages (full or minimal JSON) and delivers them " +
			"to NATS JetStream, Kafka, MQTT or Redis Streams (chosen by the connection string), through a bounded " +
			"outbox that never blocks the video, with retries while the broker is away, drop-oldest when full and an " +
			"optional disk spool.",
		Role: element.RoleSink,
		Props: []element.PropSpec{
			{Name: "msg-broker-conn-str", Type: element.String, Default: "", Doc: "nats://host:4222, kafka://host:9092[,host2:9092], mqtt://host:1883 (mqtts://), redis://host:6379/0 (rediss://); user:password@ in the URL is accepted"},
			{Name: "topic", Type: element.String, Default: "vidflow", Doc: "Kafka topic, Redis stream key, MQTT topic, first part of NATS subjects (<topic>.<sensor>.<kind>); " +
				"unset, the topic of a DeepStream host;port;topic connection string, else vidflow"},
			{Name: "mqtt-subtopics", Type: element.Bool, Default: false, Doc: "MQTT: publish to <topic>/<sensor>/<kind> instead of <topic> (DeepStream's)"},
			{Name: "msg-conv-config", Type: element.String, Default: "", Doc: "converter config: [sensorN], [placeN], [analyticsN] (INI or YAML)"},
			{Name: "msg-conv-payload-type", Type: element.Int, Default: 0, Doc: "0: full JSON, one message per object or event; 1: minimal JSON, one per frame"},
			{Name: "msg-conv-frame-interval", Type: element.Int, Default: 30, Doc: "objects are reported every n-th frame of a stream; events as they happen"},
			{Name: "msg-conv-msg2p-new-api", Type: element.Bool, Default: true, Doc: "true: report the objects; false: events only (analytics and probes' FrameMeta.User[\"events\"])"},
			{Name: "msg-conv-comp-id", Type: element.Int, Default: 0, Ignored: true},
			{Name: "msg-conv-msg2p-lib", Type: element.String, Default: "", Ignored: true, Doc: "custom payloads come from probes' events"},
			{Name: "msg-conv-debug-payload-dir", Type: element.String, Default: "", Ignored: true},
			{Name: "msg-broker-proto-lib", Type: element.String, Default: "", Doc: "accepted for compatibility; only read to interpret a DeepStream host;port connection string (libnvds_kafka_proto.so → kafka)"},
			{Name: "msg-broker-config", Type: element.String, Default: "", Doc: "DeepStream adapter config ([message-broker]: username, password, client-id, enable-tls, tls-cafile, tls-certfile, tls-keyfile; the properties of the same meaning win); its other keys are warned about"},
			{Name: "msg-broker-comp-id", Type: element.Int, Default: 0, Ignored: true},
			{Name: "sync", Type: element.Bool, Default: false, Ignored: true},
			{Name: "async", Type: element.Bool, Default: false, Ignored: true},
			{Name: "new-api", Type: element.Bool, Default: false, Ignored: true},
			{Name: "sleep-time", Type: element.Int, Default: 0, Ignored: true},
			{Name: "outbox-size", Type: element.Int, Default: 10000, Doc: "messages the outbox holds while the broker is slow or away"},
			{Name: "outbox-policy", Type: element.String, Default: "drop-oldest", Doc: "when the outbox is full: drop-oldest or drop-newest (counted as drops, reported in warnings)"},
			{Name: "spool-dir", Type: element.String, Default: "", Doc: "keep the outbox on disk in this folder too: what is not delivered at the end is delivered by the next run"},
			{Name: "batch-size", Type: element.Int, Default: 256, Doc: "messages per delivery round trip"},
			{Name: "retry-interval", Type: element.Duration, Default: 100 * time.Millisecond, Unit: time.Millisecond, Doc: "first wait before a retry (ms or a duration); it doubles up to retry-interval-max"},
			{Name: "retry-interval-max", Type: element.Duration, Default: 2 * time.Second, Unit: time.Millisecond},
			{Name: "publish-timeout", Type: element.Duration, Default: 5 * time.Second, Unit: time.Millisecond, Doc: "bound on connecting and on each delivery"},
			{Name: "flush-timeout", Type: element.Duration, Default: 5 * time.Second, Unit: time.Millisecond, Doc: "at end-of-stream, how long to wait for the outbox to empty"},
			{Name: "username", Type: element.String, Default: ""},
			{Name: "password", Type: element.String, Default: ""},
			{Name: "client-id", Type: element.String, Default: ""},
			{Name: "tls", Type: element.Bool, Default: false, Doc: "TLS (also chosen by the tls://, mqtts://, rediss:// schemes)"},
			{Name: "tls-ca-file", Type: element.String, Default: ""},
			{Name: "tls-cert-file", Type: element.String, Default: ""},
			{Name: "tls-key-file", Type: element.String, Default: ""},
			{Name: "tls-insecure-skip-verify", Type: element.Bool, Default: false},
			{Name: "max-message-size", Type: element.Int, Default: 0, Doc: "largest payload to send (0: what the broker says)"},
			{Name: "nats-stream", Type: element.String, Default: "", Doc: "JetStream stream (default: the topic in capitals)"},
			{Name: "nats-create-stream", Type: element.Bool, Default: true, Doc: "create the stream (subjects <topic>.>) when missing"},
			{Name: "mqtt-qos", Type: element.Int, Default: 1},
			{Name: "redis-maxlen", Type: element.Int, Default: 0, Doc: "cap the Redis stream at about this many entries (0: no cap)"},
		},
		New: newSink,
	})
	registerSplit(r)
}

// Sink is the message broker sink.
type Sink struct {
	name       string
	kind       string // nats, kafka, mqtt, redis
	opts       Options
	conv       msgconv.Options
	capacity   int
	policy     Policy
	spoolDir   string
	batch      int
	retryMin   time.Duration
	retryMax   time.Duration
	flushLimit time.Duration
	warnings   []string // about msg-broker-config, given at the start
	fromMeta   bool     // nvmsgbroker: publish what nvmsgconv left in the metadata

	// newAdapter makes the adapter (tests replace it).
	newAdapter func() (Adapter, error)
}

func newSink(c *element.Config) (element.Element, error) {
	kind, u, err := ParseConnString(c.String("msg-broker-conn-str"), c.String("msg-broker-proto-lib"))
	if err != nil {
		return nil, fmt.Errorf("property \"msg-broker-conn-str\": %w", err)
	}
	s := &Sink{name: c.Element, kind: kind, capacity: c.Int("outbox-size"), spoolDir: c.String("spool-dir"),
		batch: c.Int("batch-size"), retryMin: c.Duration("retry-interval"), retryMax: c.Duration("retry-interval-max"),
		flushLimit: c.Duration("flush-timeout")}
	switch p := c.String("outbox-policy"); p {
	case "drop-oldest", "":
		s.policy = DropOldest
	case "drop-newest":
		s.policy = DropNewest
	default:
		return nil, fmt.Errorf("property \"outbox-policy\": %q: want drop-oldest or drop-newest", p)
	}
	if s.capacity < 1 || s.capacity > 1<<24 {
		return nil, fmt.Errorf("property \"outbox-size\": %d is out of range (1..16777216)", s.capacity)
	}
	if s.batch < 1 || s.batch > 65535 {
		return nil, fmt.Errorf("property \"batch-size\": %d is out of range (1..65535)", s.batch)
	}
	if s.retryMin <= 0 {
		s.retryMin = 100 * time.Millisecond
	}
	s.retryMax = max(s.retryMax, s.retryMin)
	// DeepStream publishes to the topic property, else to the
	// connection string's host;port;topic.
	topic := c.String("topic")
	if t := ConnTopic(c.String("msg-broker-conn-str")); t != "" && !c.IsSet("topic") {
		topic = t
	}
	if topic == "" {
		return nil, errors.New("property \"topic\" is empty")
	}
	bc := &BrokerConfig{}
	if p := c.String("msg-broker-config"); p != "" {
		if bc, err = ReadBrokerConfig(p); err != nil {
			return nil, err
		}
		s.warnings = append(append(s.warnings, bc.Unknown...), prefixed(bc.Path, bc.Ignored)...)
	}
	prop := func(name, fromFile string) string {
		if c.IsSet(name) {
			return c.String(name)
		}
		return fromFile
	}
	o := Options{URL: u, Topic: topic, MQTTSubtopics: c.Bool("mqtt-subtopics"), Username: prop("username", bc.Username), Password: prop("password", bc.Password),
		ClientID: prop("client-id", bc.ClientID), MaxMessageSize: c.Int("max-message-size"), Timeout: c.Duration("publish-timeout"),
		NATSStream: c.String("nats-stream"), NATSCreateStream: c.Bool("nats-create-stream"),
		MQTTQoS: c.Int("mqtt-qos"), RedisMaxLen: int64(c.Int("redis-maxlen"))}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MQTTQoS < 0 || o.MQTTQoS > 2 {
		return nil, fmt.Errorf("property \"mqtt-qos\": %d: want 0, 1 or 2", o.MQTTQoS)
	}
	if u.User != nil {
		// Credentials in the URL, unless the properties give them.
		if o.Username == "" && o.Password == "" {
			o.Username = u.User.Username()
			o.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	secure := c.Bool("tls") || (!c.IsSet("tls") && bc.TLS) || map[string]bool{"tls": true, "mqtts": true, "ssl": true, "rediss": true}[strings.ToLower(u.Scheme)]
	tf := TLSFiles{Enable: secure, CAFile: prop("tls-ca-file", bc.CAFile), CertFile: prop("tls-cert-file", bc.CertFile),
		Key: prop("tls-key-file", bc.KeyFile), InsecureSkipVerify: c.Bool("tls-insecure-skip-verify")}
	if o.TLS, err = tf.Config(u.Host); err != nil {
		return nil, err
	}
	s.opts = o
	s.conv = msgconv.Options{Payload: msgconv.PayloadType(c.Int("msg-conv-payload-type")),
		FrameInterval: c.Int("msg-conv-frame-interval"), ObjectsOff: !c.Bool("msg-conv-msg2p-new-api")}
	if p := c.String("msg-conv-config"); p != "" {
		if s.conv.Config, err = msgconv.LoadConfig(p); err != nil {
			return nil, err
		}
	}
	if _, err := msgconv.New(s.conv); err != nil {
		return nil, fmt.Errorf("property \"msg-conv-payload-type\": %w", err)
	}
	s.newAdapter = func() (Adapter, error) { return newAdapter(kind, s.opts) }
	return s, nil
}

// SetAdapter replaces the broker adapter (for tests and custom brokers).
func (s *Sink) SetAdapter(fn func() (Adapter, error)) { s.newAdapter = fn }

// Broker names the broker for messages: "nats://127.0.0.1:4222".
func (s *Sink) Broker() string {
	u := *s.opts.URL
	u.User = nil
	return u.String()
}

// Run converts and queues the messages of every frame, and delivers them
// on a goroutine of its own until end-of-stream (then it waits up to
// flush-timeout for the outbox to empty) or cancellation.
func (s *Sink) Run(ctx context.Context, p element.Ports) error {
	conv, err := msgconv.New(s.conv)
	if err != nil {
		return err
	}
	var spool *Spool
	if s.spoolDir != "" {
		if spool, err = OpenSpool(s.spoolDir, 0); err != nil {
			return err
		}
		for _, pr := range spool.Problems() {
			p.Warn("sink %s: %s", s.Broker(), pr)
		}
	}
	for _, w := range s.warnings {
		p.Warn("%s", w)
	}
	ob := NewOutbox(s.capacity, s.policy, spool)
	ad, err := s.newAdapter()
	if err != nil {
		if spool != nil {
			spool.Close()
		}
		return err
	}
	d := &deliverer{s: s, p: p, ob: ob, ad: ad}
	sw := &spoolWarnings{sink: s}
	dctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.run(dctx)
	}()
	shutdown := func(wait time.Duration) {
		if wait > 0 && ob.Len() > 0 {
			d.waitEmpty(ctx, wait)
		}
		cancel()
		wg.Wait()
		_ = ad.Close()
		if spool == nil {
			if n := ob.Len(); n > 0 {
				p.Warn("%d messages for %s were not delivered (lost)", n, s.Broker())
			}
			return
		}
		sw.check(p, ob, spool, true)
		if err := spool.Close(); err != nil {
			p.Warn("sink %s: %v", s.Broker(), err)
		}
		s.reportLeft(p, ob)
	}
	var msgs []msgconv.Message
	var lastDropWarn time.Time
	var warnedDrops int64
	sk := &element.Sink{
		Fn: func(_ context.Context, b *media.Buffer) error {
			for _, fm := range b.Meta().Frames {
				msgs = msgs[:0]
				if s.fromMeta {
					msgs = metaMessages(fm, msgs)
				} else {
					var err error
					if msgs, err = conv.Convert(fm, msgs); err != nil {
						p.Warn("%v", err)
					}
				}
				for i := range msgs {
					m := msgs[i]
					if ob.Put(&m) > 0 {
						p.Dropped(1)
					}
				}
			}
			if spool != nil {
				sw.check(p, ob, spool, false)
			}
			if n := ob.Dropped(); n > warnedDrops && time.Since(lastDropWarn) > 5*time.Second {
				what := "oldest"
				if s.policy == DropNewest {
					what = "newest"
				}
				p.Warn("outbox for %s is full (%d messages): dropped the %s; %d dropped so far", s.Broker(), ob.Cap(), what, n)
				lastDropWarn, warnedDrops = time.Now(), n
			}
			return nil
		},
		OnEvent: func(it element.Item) {
			if it.Event == element.EventStreamEOS {
				conv.EndStream(it.Source)
			}
		},
	}
	err = sk.Run(ctx, p)
	if err != nil {
		shutdown(0)
		return err
	}
	shutdown(s.flushLimit)
	return nil
}

// deliverer moves messages from the outbox to the broker.
type deliverer struct {
	s  *Sink
	p  element.Ports
	ob *Outbox
	ad Adapter

	down     bool
	lastWarn time.Time
}

// waitEmpty waits until the outbox is empty, at most d.
func (d *deliverer) waitEmpty(ctx context.Context, limit time.Duration) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for d.ob.Len() > 0 {
		select {
		case <-t.C:
			return
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (d *deliverer) sleep(ctx context.Context, dur time.Duration) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// problem reports a delivery failure: the first one at once, then at most
// every 10 s while it lasts.
func (d *deliverer) problem(err error) {
	if !d.down || time.Since(d.lastWarn) > 10*time.Second {
		d.p.Warn("broker %s unavailable, %d messages waiting, retrying: %v", d.s.Broker(), d.ob.Len(), err)
		d.lastWarn = time.Now()
	}
	d.down = true
}

// recovered reports the end of a failure; waiting is what the outbox held
// before the first delivery that went through.
func (d *deliverer) recovered(waiting int) {
	if d.down {
		d.p.Warn("broker %s is back; delivering %d waiting messages", d.s.Broker(), waiting)
	}
	d.down = false
}

func (d *deliverer) run(ctx context.Context) {
	backoff := d.s.retryMin
	connected := false
	batch := make([]entry, 0, d.s.batch)
	msgs := make([]*Message, 0, d.s.batch)
	fail := func(err error) bool {
		d.problem(err)
		connected = false
		ok := d.sleep(ctx, backoff)
		backoff = min(2*backoff, d.s.retryMax)
		return ok
	}
	for ctx.Err() == nil {
		// The spool syncs itself; here is only delivery.
		batch = d.ob.Peek(batch[:0], d.s.batch)
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-d.ob.Ready():
			}
			continue
		}
		waiting := d.ob.Len()
		if !connected {
			if err := d.ad.Connect(ctx); err != nil {
				if !fail(err) {
					return
				}
				continue
			}
			connected = true
		}
		// Messages the broker cannot take are given up one by one.
		limit := d.ad.MaxMessageSize()
		msgs = msgs[:0]
		var big *entry
		for i := range batch {
			if limit > 0 && len(batch[i].m.Payload) > limit {
				big = &batch[i]
				break
			}
			msgs = append(msgs, batch[i].m)
		}
		n, err := 0, error(nil)
		if len(msgs) > 0 {
			n, err = d.ad.Send(ctx, msgs)
			if n > 0 {
				d.ob.Ack(batch[n-1].seq)
			}
		}
		var tl *TooLargeError
		switch {
		case err == nil && big != nil:
			d.tooLarge(*big, &TooLargeError{Size: len(big.m.Payload), Max: limit})
		case errors.As(err, &tl):
			d.tooLarge(batch[n], tl)
			continue
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			if !fail(err) {
				return
			}
			continue
		}
		d.recovered(waiting)
		backoff = d.s.retryMin
	}
}

func (d *deliverer) tooLarge(e entry, err *TooLargeError) {
	d.ob.Ack(e.seq)
	d.p.Dropped(1)
	d.p.Warn("sink %s: message %s (%s, sensor %s) not sent to %s: %v; dropped", d.p.Name(), e.m.ID, e.m.Kind, e.m.Sensor, d.s.Broker(), err)
}

// spoolWarnings reports, at most every 5 s (and at the end), the messages
// the spool could not write and failures of its background sync.
type spoolWarnings struct {
	sink   *Sink
	last   time.Time
	warned int64
}

func (w *spoolWarnings) check(p element.Ports, ob *Outbox, sp *Spool, now bool) {
	if !now && time.Since(w.last) < 5*time.Second {
		return
	}
	if err := sp.Err(); err != nil {
		p.Warn("sink %s: %v", w.sink.Broker(), err)
		w.last = time.Now()
	}
	if n, err := ob.SpoolFailures(); n > w.warned {
		p.Warn("sink %s: %d messages could not be written to the spool %s (%v): they are delivered if the broker "+
			"takes them during this run, else dropped at its end", w.sink.Broker(), n, w.sink.spoolDir, err)
		w.last, w.warned = time.Now(), n
	}
}

// reportLeft reports what a run with a spool leaves: the messages in the
// spool for the next run, and those not in it, counted as drops.
func (s *Sink) reportLeft(p element.Ports, ob *Outbox) {
	n, lost := ob.Len(), ob.Unspooled()
	if kept := n - lost; kept > 0 {
		p.Warn("%d messages for %s were not delivered (kept in the spool %s for the next run)", kept, s.Broker(), s.spoolDir)
	}
	if lost > 0 {
		p.Dropped(lost)
		_, err := ob.SpoolFailures()
		p.Warn("%d messages for %s were not delivered and are not in the spool %s (%v): dropped", lost, s.Broker(), s.spoolDir, err)
	}
}

// prefixed puts the file's name before each line.
func prefixed(file string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = file + ": " + l
	}
	return out
}
