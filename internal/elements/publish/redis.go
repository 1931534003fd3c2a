package publish

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// redisAdapter appends to a Redis stream (XADD, key = the topic) with the
// fields id (the message id), sensor, kind and payload, many messages per
// round trip.
type redisAdapter struct {
	o   Options
	cl  *redis.Client
	max int
}

func newRedis(o Options) *redisAdapter {
	// go-redis logs every failed dial to stderr; the sink reports
	// connection problems itself, as pipeline warnings.
	quietRedis.Do(func() { redis.SetLogger(quietLogger{}) })
	return &redisAdapter{o: o}
}

var quietRedis sync.Once

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func (a *redisAdapter) Connect(ctx context.Context) error {
	if a.cl == nil {
		u := *a.o.URL
		if u.Scheme == "rediss" || a.o.TLS != nil {
			u.Scheme = "rediss"
		}
		ro, err := redis.ParseURL(u.String())
		if err != nil {
			return fmt.Errorf("Redis connection string: %w", err)
		}
		if a.o.Username != "" || a.o.Password != "" {
			ro.Username, ro.Password = a.o.Username, a.o.Password
		}
		if a.o.TLS != nil {
			ro.TLSConfig = a.o.TLS
		}
		ro.ClientName = clientName(a.o.ClientID)
		ro.MaxRetries = -1 // the outbox retries
		ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = a.o.Timeout, a.o.Timeout, a.o.Timeout
		ro.PoolSize = 2
		ro.DisableIdentity = true
		a.cl = redis.NewClient(ro)
	}
	cctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	if err := a.cl.Ping(cctx).Err(); err != nil {
		return fmt.Errorf("Redis %s: %w", a.o.URL.Host, err)
	}
	if a.max == 0 {
		// The largest bulk string the server takes (CONFIG may be disabled).
		a.max = 512 << 20
		if v, err := a.cl.ConfigGet(cctx, "proto-max-bulk-len").Result(); err == nil {
			if n, err := strconv.Atoi(v["proto-max-bulk-len"]); err == nil && n > 0 {
				a.max = n
			}
		}
	}
	return nil
}

func (a *redisAdapter) MaxMessageSize() int {
	if a.o.MaxMessageSize > 0 {
		return a.o.MaxMessageSize
	}
	return a.max
}

func (a *redisAdapter) Send(ctx context.Context, msgs []*Message) (int, error) {
	if a.cl == nil {
		return 0, ErrNotConnected
	}
	cctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	pipe := a.cl.Pipeline()
	cmds := make([]*redis.StringCmd, len(msgs))
	for i, m := range msgs {
		args := &redis.XAddArgs{Stream: a.o.Topic, Values: []any{"id", m.ID, "sensor", m.Sensor, "kind", m.Kind, "payload", m.Payload}}
		if a.o.RedisMaxLen > 0 {
			args.MaxLen, args.Approx = a.o.RedisMaxLen, true
		}
		cmds[i] = pipe.XAdd(cctx, args)
	}
	_, _ = pipe.Exec(cctx)
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			return i, fmt.Errorf("Redis %s: XADD %s: %w", a.o.URL.Host, a.o.Topic, err)
		}
	}
	return len(msgs), nil
}

func (a *redisAdapter) Close() error {
	if a.cl != nil {
		err := a.cl.Close()
		a.cl = nil
		return err
	}
	return nil
}
