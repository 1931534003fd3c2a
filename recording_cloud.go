package vidflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/c2d"
)

// Cloud-triggered smart recording (deepstream-test5's and deepstream-app's
// [message-consumer%d], Service Maker's RecordConfig(recording_type=
// "cloud")): a consumer of a Kafka topic list takes DeepStream's JSON
// recording commands and starts or stops recordings of the pipeline's
// streams:
//
//	{"command": "start-recording", "sensor": {"id": "door"},
//	 "start": "2026-12-03T10:00:00.000Z", "end": "2026-12-03T10:00:05.000Z"}

// RecordCommands configures ListenRecordCommands.
type RecordCommands struct {
	// Broker is kafka://host:port[,host2:port] (user:password@ taken), or
	// DeepStream's "host;port" with ProtoLib libnvds_kafka_proto.so.
	Broker, ProtoLib string
	// Config is a DeepStream adapter config (cfg_kafka.txt): username,
	// password and TLS keys; "" for none.
	Config string
	Topics []string
	// Sensors maps a command's sensor.id to the source to record (an
	// element name or a stream's sensor id); a sensor.id it lacks is
	// refused. nil: sensor.id names the source itself.
	Sensors map[string]string
	// OnCommand, if not nil, is told of each message: its command and nil
	// once the recording started (RecordCommand.Session) or stopped, or
	// why the message was ignored (a bad message, an unknown sensor, a
	// stream without smart-record). nil: ignored messages are posted as
	// WarningMessages of element "record-commands".
	OnCommand func(RecordCommand, error)
	// OnRecording gets each finished recording (optional).
	OnRecording func(RecordingInfo)
}

// RecordCommand is one command taken from the topics.
type RecordCommand struct {
	Topic  string
	Start  bool   // start-recording; false: stop-recording
	Sensor string // sensor.id
	// From and To are the asked interval (To zero: none given, the
	// source's smart-rec-default-duration or until a stop command).
	From, To time.Time
	Session  int // the recording started
}

// ErrBadCommand marks a message that is not a recording command (bad
// JSON, no sensor.id, an unknown command, a bad time).
var ErrBadCommand = c2d.ErrBadCommand

// RecordListener consumes recording commands until Close.
type RecordListener struct {
	p      *Pipeline
	c      RecordCommands
	cons   *c2d.Consumer
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// ListenRecordCommands consumes the recording commands sent to c.Topics
// from now on (older ones are not carried out) and starts or stops
// recordings of p's streams with smart-record set. A start records from
// the command's start (at most the source's smart-rec-cache back) to its
// end: the file covers the asked interval, from the key frame before it.
// Commands are carried out while p runs; Close ends the listener.
func (p *Pipeline) ListenRecordCommands(c RecordCommands) (*RecordListener, error) {
	cons, err := c2d.NewConsumer(c2d.Config{ConnStr: c.Broker, ProtoLib: c.ProtoLib, ConfigFile: c.Config,
		Topics: c.Topics, Since: time.Now()})
	if err != nil {
		return nil, fmt.Errorf("ListenRecordCommands: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &RecordListener{p: p, c: c, cons: cons, cancel: cancel, done: make(chan struct{})}
	go l.run(ctx)
	return l, nil
}

// Close stops consuming; recordings started go on.
func (l *RecordListener) Close() error {
	l.once.Do(func() {
		l.cancel()
		<-l.done
		l.cons.Close()
	})
	return nil
}

func (l *RecordListener) run(ctx context.Context) {
	defer close(l.done)
	for {
		msgs, err := l.cons.Poll(ctx)
		if ctx.Err() != nil {
			return
		}
		for _, m := range msgs {
			cmd, err := l.handle(m)
			l.report(cmd, err)
		}
		if err != nil && len(msgs) == 0 {
			// The broker is away: the client retries; say so, and do not
			// spin on its errors.
			l.report(RecordCommand{}, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

func (l *RecordListener) report(cmd RecordCommand, err error) {
	if l.c.OnCommand != nil {
		l.c.OnCommand(cmd, err)
		return
	}
	if err == nil {
		return
	}
	l.p.mu.Lock()
	r := l.p.run
	l.p.mu.Unlock()
	if r != nil {
		r.Post(&element.WarningMessage{Element: "record-commands", Text: err.Error()})
	}
}

// handle carries out one message's command.
func (l *RecordListener) handle(m c2d.Message) (RecordCommand, error) {
	cmd := RecordCommand{Topic: m.Topic}
	c, err := c2d.Parse(m.Value)
	if err != nil {
		return cmd, fmt.Errorf("topic %s: message ignored: %w", m.Topic, err)
	}
	cmd.Start, cmd.Sensor, cmd.From, cmd.To = c.Start, c.Sensor, c.From, c.To
	source := c.Sensor
	if l.c.Sensors != nil {
		var ok bool
		if source, ok = l.c.Sensors[c.Sensor]; !ok {
			known := make([]string, 0, len(l.c.Sensors))
			for k := range l.c.Sensors {
				known = append(known, k)
			}
			slices.Sort(known)
			return cmd, fmt.Errorf("topic %s: message ignored: %w: unknown sensor %q (known: %s)", m.Topic, ErrBadCommand, c.Sensor, strings.Join(known, ", "))
		}
	}
	if !c.Start {
		if err := l.p.StopRecording(source); err != nil {
			return cmd, fmt.Errorf("topic %s: stop-recording of sensor %q ignored: %w", m.Topic, c.Sensor, err)
		}
		return cmd, nil
	}
	rec, err := l.p.recorder("StartRecording", source)
	if err != nil {
		return cmd, fmt.Errorf("topic %s: start-recording of sensor %q ignored: %w", m.Topic, c.Sensor, err)
	}
	// "Now" is the source's last frame; the asked interval is wall-clock
	// time, so a live camera's frames stand for the moments they show.
	now := time.Now()
	back := min(max(now.Sub(c.From), 0), rec.Cache()) // a start in the future is now, as DeepStream takes it
	var after time.Duration                           // no end: the default duration
	if !c.To.IsZero() {
		// An interval already over still ends after now (the next frame):
		// a recording cannot end before it starts.
		after = max(c.To.Sub(now), time.Millisecond)
	}
	cmd.Session, err = l.p.StartRecording(source, back, after, l.c.OnRecording)
	if err != nil {
		return cmd, fmt.Errorf("topic %s: start-recording of sensor %q ignored: %w", m.Topic, c.Sensor, err)
	}
	return cmd, nil
}
