package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// kafkaAdapter produces to a Kafka topic with franz-go: the sensor id as
// the record key (a sensor's messages stay in order on one partition), the
// message id, sensor and kind as headers.
type kafkaAdapter struct {
	o      Options
	opts   []kgo.Opt
	cl     *kgo.Client
	broken bool // a send failed: start over with a new client
}

// kafkaDefaultMax is franz-go's (and Kafka's) default max.message.bytes.
const kafkaDefaultMax = 1000012

func newKafka(o Options) (*kafkaAdapter, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(o.URL.Host, ",")...),
		kgo.DefaultProduceTopic(o.Topic),
		kgo.ClientID(clientName(o.ClientID)),
		kgo.AllowAutoTopicCreation(),
		// Without idempotence a record can be failed at any time, so a
		// stop never waits for a broker that is away; the outbox retries
		// and consumers drop duplicates by message id.
		kgo.DisableIdempotentWrite(),
		// No RecordDeliveryTimeout: franz-go measures it from the record's
		// timestamp, the frame's time, which is old for messages that
		// waited in the outbox. Each send's context bounds it instead.
		kgo.ProduceRequestTimeout(max(o.Timeout, time.Second)),
		kgo.DialTimeout(o.Timeout),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(8192),
		// Find a restarted broker quickly: the outbox does the long waits.
		kgo.MetadataMinAge(250 * time.Millisecond),
		kgo.RetryBackoffFn(func(tries int) time.Duration {
			return min(100*time.Millisecond<<min(tries, 4), time.Second)
		}),
	}
	if o.MaxMessageSize > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(max(o.MaxMessageSize, 512))))
	}
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS))
	}
	if o.Username != "" {
		opts = append(opts, kgo.SASL(plain.Auth{User: o.Username, Pass: o.Password}.AsMechanism()))
	}
	// The client connects lazily; making it here checks the options.
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("Kafka client: %w", err)
	}
	return &kafkaAdapter{o: o, opts: opts, cl: cl}, nil
}

func (a *kafkaAdapter) Connect(ctx context.Context) error {
	if a.broken && a.cl != nil {
		// A client whose produce requests died with the connection can
		// stay stuck resending them; a fresh one starts clean (the outbox
		// still has the messages).
		a.cl.Close()
		a.cl = nil
	}
	a.broken = false
	if a.cl == nil {
		cl, err := kgo.NewClient(a.opts...)
		if err != nil {
			return err
		}
		a.cl = cl
	}
	cctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	if err := a.cl.Ping(cctx); err != nil {
		return fmt.Errorf("Kafka %s: %w", a.o.URL.Host, err)
	}
	return nil
}

func (a *kafkaAdapter) MaxMessageSize() int {
	if a.o.MaxMessageSize > 0 {
		return a.o.MaxMessageSize
	}
	// The record must fit a batch with its key and headers.
	return kafkaDefaultMax - 512
}

func (a *kafkaAdapter) Send(ctx context.Context, msgs []*Message) (int, error) {
	if a.cl == nil {
		return 0, ErrNotConnected
	}
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Key: []byte(m.Sensor), Value: m.Payload, Timestamp: m.Time, Headers: []kgo.RecordHeader{
			{Key: "message-id", Value: []byte(m.ID)}, {Key: "sensor", Value: []byte(m.Sensor)}, {Key: "kind", Value: []byte(m.Kind)}}}
	}
	cctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	res := a.cl.ProduceSync(cctx, recs...)
	for i, r := range res {
		if r.Err == nil {
			continue
		}
		if errors.Is(r.Err, kerr.MessageTooLarge) {
			return i, &TooLargeError{Size: len(msgs[i].Payload), Max: a.MaxMessageSize(), Err: r.Err}
		}
		a.broken = true
		return i, fmt.Errorf("Kafka %s: %w", a.o.URL.Host, r.Err)
	}
	return len(msgs), nil
}

func (a *kafkaAdapter) Close() error {
	if a.cl != nil {
		a.cl.Close()
		a.cl = nil
	}
	return nil
}
