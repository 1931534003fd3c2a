package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsAdapter publishes to NATS JetStream: subject
// "<topic>.<sensor>.<kind>", the message id in the Nats-Msg-Id header (the
// stream drops duplicates within its duplicate window), into a stream that
// it creates when missing (file storage, subjects "<topic>.>").
type natsAdapter struct {
	o      Options
	nc     *nats.Conn
	js     jetstream.JetStream
	stream bool
}

func newNATS(o Options) *natsAdapter { return &natsAdapter{o: o} }

func (a *natsAdapter) streamName() string {
	if a.o.NATSStream != "" {
		return a.o.NATSStream
	}
	return strings.ToUpper(subjectPart(a.o.Topic))
}

func (a *natsAdapter) Connect(ctx context.Context) error {
	if a.nc == nil {
		u := *a.o.URL
		if u.Scheme == "tls" {
			u.Scheme = "nats"
		}
		opts := []nats.Option{
			nats.Name(clientName(a.o.ClientID)),
			nats.MaxReconnects(-1),
			nats.ReconnectWait(250 * time.Millisecond),
			nats.ReconnectJitter(50*time.Millisecond, 0),
			// Publishes fail at once while disconnected: the outbox keeps them.
			nats.ReconnectBufSize(-1),
			nats.Timeout(a.o.Timeout),
			nats.NoCallbacksAfterClientClose(),
		}
		switch {
		case a.o.Username != "" && a.o.Password == "":
			opts = append(opts, nats.Token(a.o.Username)) // nats://TOKEN@host
		case a.o.Username != "":
			opts = append(opts, nats.UserInfo(a.o.Username, a.o.Password))
		}
		if a.o.TLS != nil {
			opts = append(opts, nats.Secure(a.o.TLS))
		}
		nc, err := nats.Connect(u.String(), opts...)
		if err != nil {
			return err
		}
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(a.o.Timeout))
		if err != nil {
			nc.Close()
			return err
		}
		a.nc, a.js = nc, js
	}
	if !a.nc.IsConnected() {
		return fmt.Errorf("NATS %s: %w (reconnecting)", a.o.URL.Host, ErrNotConnected)
	}
	if !a.stream && a.o.NATSCreateStream {
		cctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
		defer cancel()
		_, err := a.js.Stream(cctx, a.streamName())
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = a.js.CreateStream(cctx, jetstream.StreamConfig{
				Name: a.streamName(), Subjects: []string{subjectPart(a.o.Topic) + ".>"},
				Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute,
			})
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("JetStream stream %s: %w", a.streamName(), err)
		}
	}
	a.stream = true
	return nil
}

func (a *natsAdapter) MaxMessageSize() int {
	if a.o.MaxMessageSize > 0 {
		return a.o.MaxMessageSize
	}
	if a.nc != nil {
		return int(a.nc.MaxPayload())
	}
	return 0
}

func (a *natsAdapter) Send(ctx context.Context, msgs []*Message) (int, error) {
	if a.nc == nil || !a.nc.IsConnected() {
		return 0, ErrNotConnected
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	var pubErr error
	for _, m := range msgs {
		nm := nats.NewMsg(subjectPart(a.o.Topic) + "." + subjectPart(m.Sensor) + "." + subjectPart(m.Kind))
		nm.Data = m.Payload
		f, err := a.js.PublishMsgAsync(nm, jetstream.WithMsgID(m.ID))
		if err != nil {
			if errors.Is(err, nats.ErrMaxPayload) {
				err = &TooLargeError{Size: len(m.Payload), Max: int(a.nc.MaxPayload()), Err: err}
			}
			pubErr = err
			break
		}
		futures = append(futures, f)
	}
	timer := time.NewTimer(a.o.Timeout + time.Second)
	defer timer.Stop()
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if errors.Is(err, nats.ErrMaxPayload) {
				return i, &TooLargeError{Size: len(msgs[i].Payload), Max: int(a.nc.MaxPayload()), Err: err}
			}
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
				// The stream is gone (a server without its store): make it again.
				a.stream = false
				return i, fmt.Errorf("JetStream publish: %v: %w", err, ErrNotConnected)
			}
			return i, fmt.Errorf("JetStream publish: %w", err)
		case <-timer.C:
			return i, fmt.Errorf("JetStream publish: no acknowledgement in %v", a.o.Timeout)
		case <-ctx.Done():
			return i, ctx.Err()
		}
	}
	if pubErr != nil {
		var tl *TooLargeError
		if !errors.As(pubErr, &tl) && !a.nc.IsConnected() {
			return len(futures), fmt.Errorf("NATS %s: %w", a.o.URL.Host, ErrNotConnected)
		}
		return len(futures), pubErr
	}
	return len(futures), nil
}

func (a *natsAdapter) Close() error {
	if a.nc != nil {
		a.nc.Close()
		a.nc = nil
	}
	return nil
}

func clientName(id string) string {
	if id != "" {
		return id
	}
	return "vidflow"
}
