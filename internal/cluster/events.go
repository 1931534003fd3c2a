package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vidflow/vidflow/internal/service"
	"github.com/vidflow/vidflow/media"
)

// Event is what the node publishes for each object of each frame, on
// subject <subject>.<camera>.<kind>. ID names the event the same way
// every time it is sent — stream, the run's epoch (unique to each start
// of the stream on a node), frame, object, kind —
// and is the Nats-Msg-Id, so JetStream drops a copy sent again (a retry
// after a lost acknowledgement, a restarted node sending its spool).
type Event struct {
	ID     string    `json:"id"`
	Stream string    `json:"stream"`
	Node   string    `json:"node"`
	Epoch  int64     `json:"epoch"`
	Frame  int64     `json:"frame"`
	Object int64     `json:"object"`
	Kind   string    `json:"kind"`
	Class  int       `json:"class"`
	Label  string    `json:"label,omitempty"`
	Time   time.Time `json:"time"`
}

// Probe is the service's metadata probe: every object of the frames of
// the streams this node runs becomes an event.
func (n *Node) Probe(b *media.BatchMeta) {
	if n.pub == nil {
		return
	}
	srcs := *n.srcs.Load()
	for _, fm := range b.Frames {
		l, ok := srcs[fm.SourceID]
		if !ok {
			continue
		}
		for i, o := range fm.Objects {
			obj := o.TrackID
			if obj < 0 {
				obj = int64(i)
			}
			ev := Event{Stream: l.cam, Node: n.cfg.NodeID, Epoch: l.epoch, Frame: fm.FrameNumber, Object: obj, Kind: "object",
				Class: o.ClassID, Label: o.Label, Time: fm.NTPTimestamp.UTC()}
			ev.ID = fmt.Sprintf("%s.%d.%d.%d.%s", subjectPart(l.cam), ev.Epoch, ev.Frame, ev.Object, ev.Kind)
			n.pub.put(ev)
		}
	}
}

// subjectPart keeps a NATS subject token to letters, digits, '-' and '_'.
func subjectPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

// maxSpool is the size beyond which a spool that was all sent starts
// again at the next start.
const maxSpool = 64 << 20

// pending is an event waiting for JetStream's acknowledgement.
type pending struct {
	seq  int64 // its line in the spool, from 1
	id   string
	subj string
	data []byte
}

// pubStats are the publisher's counters.
type pubStats struct {
	Connected bool  `json:"connected"`
	Published int64 `json:"published"`
	Dropped   int64 `json:"dropped"`
	Waiting   int   `json:"waiting"`
	Capacity  int   `json:"capacity"`
}

// publisher sends events to JetStream through a bounded outbox (oldest
// dropped when full, counted), optionally kept on disk: each event is a
// line of <spool>/events.log and <spool>/events.ack holds how many lines
// are done, so a node killed with events not yet acknowledged sends them
// when it starts again.
type publisher struct {
	cfg *service.ClusterConfig
	log *slog.Logger

	mu        sync.Mutex
	q         []pending
	cap       int
	seq, done int64
	dropped   int64
	published int64
	connected bool
	spool     *os.File
	ack       *os.File
	ready     chan struct{}
}

func newPublisher(c *service.ClusterConfig, log *slog.Logger) (*publisher, error) {
	p := &publisher{cfg: c, log: log, cap: c.Outbox, ready: make(chan struct{}, 1)}
	if c.Spool != "" {
		if err := p.openSpool(c.Spool); err != nil {
			return nil, fmt.Errorf("cluster.spool %s: %w", c.Spool, err)
		}
	}
	return p, nil
}

// openSpool loads the events a previous run did not get acknowledged.
func (p *publisher) openSpool(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ack, err := os.OpenFile(filepath.Join(dir, "events.ack"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	var b [8]byte
	if n, _ := ack.ReadAt(b[:], 0); n == 8 {
		p.done = int64(binary.LittleEndian.Uint64(b[:]))
	}
	path := filepath.Join(dir, "events.log")
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		ack.Close()
		return err
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 != len(data) {
		data = data[:i+1] // a line cut by a kill
		os.Truncate(path, int64(len(data)))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.seq++
		if p.seq <= p.done {
			continue
		}
		id, rest, _ := strings.Cut(sc.Text(), "\t")
		subj, payload, _ := strings.Cut(rest, "\t")
		p.push(pending{seq: p.seq, id: id, subj: subj, data: []byte(payload)})
	}
	if p.done >= p.seq && len(data) > maxSpool {
		// Everything was sent: start the files again (they grow until
		// then, and are the node's record of its events).
		os.Truncate(path, 0)
		ack.WriteAt(make([]byte, 8), 0)
		p.seq, p.done = 0, 0
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		ack.Close()
		return err
	}
	p.spool, p.ack = f, ack
	if left := len(p.q); left > 0 {
		p.log.Info("events from the spool to send again", "events", left)
	}
	return nil
}

// push appends to the outbox, dropping the oldest when it is full.
func (p *publisher) push(e pending) {
	if len(p.q) >= p.cap {
		p.q = p.q[1:]
		p.dropped++
	}
	p.q = append(p.q, e)
}

func (p *publisher) put(ev Event) {
	data, _ := json.Marshal(ev)
	subj := p.cfg.Subject + "." + subjectPart(ev.Stream) + "." + ev.Kind
	p.mu.Lock()
	p.seq++
	e := pending{seq: p.seq, id: ev.ID, subj: subj, data: data}
	if p.spool != nil {
		// One write a line: a killed process loses no line the kernel has.
		p.spool.Write([]byte(e.id + "\t" + e.subj + "\t" + string(data) + "\n"))
	}
	p.push(e)
	p.mu.Unlock()
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

func (p *publisher) stats() pubStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return pubStats{Connected: p.connected, Published: p.published, Dropped: p.dropped, Waiting: len(p.q), Capacity: p.cap}
}

// run connects (again and again while NATS is away), makes the stream
// when missing and sends the outbox in order.
func (p *publisher) run(ctx context.Context) {
	nc, err := nats.Connect(p.cfg.NATS, nats.Name("vidflow-"+p.cfg.NodeID), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250*time.Millisecond), nats.ReconnectBufSize(-1), nats.Timeout(2*time.Second))
	if err != nil {
		p.log.Error("NATS", "url", p.cfg.NATS, "err", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		p.log.Error("JetStream", "err", err)
		return
	}
	haveStream := false
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		if !nc.IsConnected() {
			p.setConnected(false)
			sleep(ctx, 250*time.Millisecond)
			continue
		}
		if !haveStream {
			if err := p.ensureStream(ctx, js); err != nil {
				p.log.Warn("JetStream stream", "stream", p.cfg.Stream, "err", err)
				sleep(ctx, backoff)
				continue
			}
			haveStream = true
		}
		p.setConnected(true)
		batch := p.peek(256)
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
			case <-p.ready:
			case <-time.After(time.Second):
			}
			continue
		}
		if err := p.send(ctx, js, batch); err != nil {
			p.log.Warn("publishing events", "err", err, "waiting", len(batch))
			if strings.Contains(err.Error(), "no responders") || errors.Is(err, jetstream.ErrNoStreamResponse) {
				haveStream = false
			}
			sleep(ctx, backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
	}
}

func (p *publisher) setConnected(b bool) {
	p.mu.Lock()
	p.connected = b
	p.mu.Unlock()
}

func (p *publisher) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := js.Stream(cctx, p.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(cctx, jetstream.StreamConfig{Name: p.cfg.Stream, Subjects: []string{p.cfg.Subject + ".>"},
			Storage: jetstream.FileStorage, Duplicates: time.Duration(p.cfg.DuplicateWindow)})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil
		}
	}
	return err
}

func (p *publisher) peek(max int) []pending {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pending(nil), p.q[:min(max, len(p.q))]...)
}

// send publishes a batch and waits for every acknowledgement; only then
// the batch leaves the outbox (a failure sends all of it again: the ids
// make the copies harmless).
func (p *publisher) send(ctx context.Context, js jetstream.JetStream, batch []pending) error {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for _, e := range batch {
		m := nats.NewMsg(e.subj)
		m.Data = e.data
		f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(e.id))
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-timeout.C:
			return errors.New("no acknowledgement from JetStream in 5s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	last := batch[len(batch)-1].seq
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	for i < len(p.q) && p.q[i].seq <= last {
		i++
	}
	p.q = p.q[i:]
	p.published += int64(len(batch))
	if last > p.done {
		p.done = last
		if p.ack != nil {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], uint64(last))
			p.ack.WriteAt(b[:], 0)
		}
	}
	return nil
}

// close gives the outbox 3 s to empty (the run loop is stopped by then:
// this sends on a connection of its own) and closes the spool.
func (p *publisher) close() {
	if p.stats().Waiting > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if nc, err := nats.Connect(p.cfg.NATS, nats.Timeout(time.Second)); err == nil {
			if js, err := jetstream.New(nc); err == nil {
				for ctx.Err() == nil {
					b := p.peek(256)
					if len(b) == 0 || p.send(ctx, js, b) != nil {
						break
					}
				}
			}
			nc.Close()
		}
		cancel()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.spool != nil {
		p.spool.Close()
		p.ack.Close()
	}
}
