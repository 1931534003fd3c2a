package c2d

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/vidflow/vidflow/internal/elements/publish"
)

// Config is a message consumer, as deepstream-app's [message-consumer%d]
// gives it.
type Config struct {
	// ConnStr is the broker: kafka://host:port[,host2:port], or
	// DeepStream's "host;port" with ProtoLib naming the Kafka adapter
	// (libnvds_kafka_proto.so).
	ConnStr, ProtoLib string
	// ConfigFile is a DeepStream adapter config (cfg_kafka.txt): its
	// username, password and TLS keys are used; "" for none.
	ConfigFile string
	Topics     []string
	// Since skips older messages: a command sent before the consumer
	// started (before a restart, say) is not carried out late.
	Since time.Time
}

// Message is one consumed message.
type Message struct {
	Topic string
	Value []byte
}

// Consumer reads the messages of a Kafka topic list with franz-go: every
// partition, from Since, without a consumer group, so that every vidflow
// process listening sees each command (each records its own cameras).
type Consumer struct {
	cl     *kgo.Client
	broker string
}

// Check reports what makes c unusable: a broker other than Kafka, a bad
// connection string, no topic. It connects to nothing.
func Check(c Config) error {
	_, _, err := check(c)
	return err
}

func check(c Config) (*url.URL, []string, error) {
	kind, u, err := publish.ParseConnString(c.ConnStr, c.ProtoLib)
	if err != nil {
		return nil, nil, err
	}
	if kind != "kafka" {
		return nil, nil, fmt.Errorf("connection string %q: only Kafka is consumed (kafka://host:port, or host;port with proto-lib libnvds_kafka_proto.so)", c.ConnStr)
	}
	var topics []string
	for _, t := range c.Topics {
		if t = strings.TrimSpace(t); t != "" {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return nil, nil, errors.New("no topic to subscribe to (subscribe-topic-list)")
	}
	return u, topics, nil
}

// NewConsumer checks c and makes the consumer; it connects lazily.
func NewConsumer(c Config) (*Consumer, error) {
	u, topics, err := check(c)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(u.Host, ",")...),
		kgo.ClientID("vidflow-c2d"),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(c.Since.UnixMilli())),
		// Commands are small: bound what one fetch may hold.
		kgo.FetchMaxBytes(4 << 20),
		kgo.FetchMaxPartitionBytes(1 << 20),
		kgo.MetadataMinAge(250 * time.Millisecond),
		kgo.RetryBackoffFn(func(tries int) time.Duration { return min(100*time.Millisecond<<min(tries, 4), time.Second) }),
	}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	tf := publish.TLSFiles{}
	if c.ConfigFile != "" {
		bc, err := publish.ReadBrokerConfig(c.ConfigFile)
		if err != nil {
			return nil, err
		}
		if user == "" {
			user, pass = bc.Username, bc.Password
		}
		tf = publish.TLSFiles{Enable: bc.TLS, CAFile: bc.CAFile, CertFile: bc.CertFile, Key: bc.KeyFile}
	}
	if user != "" {
		opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
	}
	tc, err := tf.Config(u.Host)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("Kafka client: %w", err)
	}
	return &Consumer{cl: cl, broker: u.Host}, nil
}

// Broker is the broker's host:port list, for messages.
func (c *Consumer) Broker() string { return c.broker }

// Poll waits for messages. Its error is the broker's (the client retries
// by itself: the caller reports it and polls again) or ctx's.
func (c *Consumer) Poll(ctx context.Context) ([]Message, error) {
	fs := c.cl.PollRecords(ctx, 64)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Message
	fs.EachRecord(func(r *kgo.Record) { out = append(out, Message{Topic: r.Topic, Value: r.Value}) })
	var errs []error
	fs.EachError(func(topic string, part int32, err error) {
		if !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("Kafka %s, topic %s [%d]: %w", c.broker, topic, part, err))
		}
	})
	return out, errors.Join(errs...)
}

// Close ends the consumer.
func (c *Consumer) Close() { c.cl.Close() }
