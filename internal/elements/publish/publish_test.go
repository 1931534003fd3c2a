package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/sources"
	_ "github.com/vidflow/vidflow/internal/elements/sources" // testsrc
	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/internal/msgconv"
	"github.com/vidflow/vidflow/media"
)

func TestParseConnString(t *testing.T) {
	for _, c := range []struct{ in, lib, kind, host, err string }{
		{"nats://127.0.0.1:4222", "", "nats", "127.0.0.1:4222", ""},
		{"kafka://a:9092,b:9092", "", "kafka", "a:9092,b:9092", ""},
		{"mqtts://broker:8883", "", "mqtt", "broker:8883", ""},
		{"redis://:pw@localhost:6379/2", "", "redis", "localhost:6379", ""},
		{"localhost;9092", "/opt/nvidia/deepstream/deepstream/lib/libnvds_kafka_proto.so", "kafka", "localhost:9092", ""},
		{"localhost;9092", "", "", "", "names no known adapter"},
		{"amqp://x:5672", "", "", "", "unknown scheme \"amqp\""},
		{"nats://", "", "", "", "no host"},
		{"nats://host", "", "", "", "is not host:port"},
		{"", "", "", "", "no broker connection string"},
		{"justtext", "", "", "", "want a URL"},
	} {
		kind, u, err := ParseConnString(c.in, c.lib)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || kind != c.kind || u.Host != c.host {
			t.Errorf("%q: %q %v %v", c.in, kind, u, err)
		}
	}
}

func msg(i int) *Message {
	return &Message{ID: fmt.Sprintf("id-%d", i), Sensor: "s", Kind: "object", Payload: []byte(fmt.Sprint(i)), Time: time.Unix(int64(i), 0)}
}

func ids(es []entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.m.ID)
	}
	return strings.Join(s, ",")
}

func TestOutboxPolicies(t *testing.T) {
	o := NewOutbox(3, DropOldest, nil)
	drops := 0
	for i := 0; i < 5; i++ {
		drops += o.Put(msg(i))
	}
	if got := ids(o.Peek(nil, 10)); got != "id-2,id-3,id-4" || drops != 2 || o.Dropped() != 2 {
		t.Errorf("drop-oldest: %s, %d drops", got, drops)
	}
	// Acknowledging a batch that the policy partly dropped meanwhile.
	batch := o.Peek(nil, 2)
	o.Put(msg(5))
	o.Ack(batch[1].seq)
	if got := ids(o.Peek(nil, 10)); got != "id-4,id-5" {
		t.Errorf("after ack: %s", got)
	}
	n := NewOutbox(2, DropNewest, nil)
	for i := 0; i < 4; i++ {
		n.Put(msg(i))
	}
	if got := ids(n.Peek(nil, 10)); got != "id-0,id-1" || n.Dropped() != 2 {
		t.Errorf("drop-newest: %s", got)
	}
}

func TestSpoolReopen(t *testing.T) {
	dir := t.TempDir()
	sp, err := OpenSpool(dir, 200) // small segments: several files
	if err != nil {
		t.Fatal(err)
	}
	o := NewOutbox(100, DropOldest, sp)
	for i := 0; i < 30; i++ {
		o.Put(msg(i))
	}
	batch := o.Peek(nil, 10)
	o.Ack(batch[9].seq) // id-0..id-9 delivered
	if err := o.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "wal-*.log"))
	// A record cut short by a crash ends its segment.
	last := segs[len(segs)-1]
	for _, p := range segs {
		if st, _ := os.Stat(p); st.Size() > 0 {
			last = p
		}
	}
	data, _ := os.ReadFile(last)
	os.WriteFile(last, append(data, 1, 2, 3), 0o644)

	sp2, err := OpenSpool(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	o2 := NewOutbox(100, DropOldest, sp2)
	got := o2.Peek(nil, 100)
	if len(got) != 20 || got[0].m.ID != "id-10" || got[19].m.ID != "id-29" || string(got[5].m.Payload) != "15" || got[5].m.Time.Unix() != 15 {
		t.Fatalf("reopened: %d messages: %s", len(got), ids(got))
	}
	// New messages continue the sequence.
	o2.Put(msg(30))
	all := o2.Peek(nil, 100)
	if all[20].seq != got[19].seq+1 {
		t.Errorf("seq %d after %d", all[20].seq, got[19].seq)
	}
	o2.Ack(all[20].seq)
	o2.Sync()
	sp2.Close()
	// Everything done: the old segments are gone and nothing is pending.
	sp3, err := OpenSpool(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer sp3.Close()
	if p := sp3.Pending(); len(p) != 0 {
		t.Errorf("%d pending after all done", len(p))
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "wal-*.log")); len(segs) > 2 {
		t.Errorf("%d segments left", len(segs))
	}
}

// fakeBroker is an Adapter in memory that can be down, slow, or small.
type fakeBroker struct {
	mu        sync.Mutex
	down      bool
	max       int
	delivered []*Message
	sends     int
}

func (f *fakeBroker) Connect(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fakeBroker) Send(ctx context.Context, msgs []*Message) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends++
	if f.down {
		return 0, ErrNotConnected
	}
	// Half a batch goes through on every third send: partial deliveries.
	n := len(msgs)
	if f.sends%3 == 0 && n > 1 {
		n /= 2
	}
	f.delivered = append(f.delivered, msgs[:n]...)
	if n < len(msgs) {
		return n, errors.New("connection reset")
	}
	return n, nil
}

func (f *fakeBroker) MaxMessageSize() int { return f.max }
func (f *fakeBroker) Close() error        { return nil }

func (f *fakeBroker) setDown(d bool) {
	f.mu.Lock()
	f.down = d
	f.mu.Unlock()
}

func (f *fakeBroker) got() []*Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Message(nil), f.delivered...)
}

// runSink runs testsrc (frames, 4 tracked objects, every frame reported)
// into a sink with the given properties and fake broker.
func runSink(t *testing.T, frames int, props element.Props, fb *fakeBroker, during func(*engine.Run)) ([]element.Message, *engine.Run) {
	seen.Store(0)
	t.Helper()
	g := engine.NewGraph("t", testKinds())
	if _, err := g.Add("testsrc", "src", element.Props{"num-buffers": frames, "objects": 4, "truth": true, "width": 64, "height": 48, "framerate": 200, "is-live": true}); err != nil {
		t.Fatal(err)
	}
	p := element.Props{"msg-broker-conn-str": "nats://127.0.0.1:1", "msg-conv-frame-interval": 1, "retry-interval": 5, "retry-interval-max": 20}
	for k, v := range props {
		p[k] = v
	}
	n, err := g.Add("nvmsgbrokersinkbin", "pub", p)
	if err != nil {
		t.Fatal(err)
	}
	n.Elem.(*Sink).SetAdapter(func() (Adapter, error) { return fb, nil })
	g.AddProbe("pub", engine.Probe{Name: "count", Fn: func(*media.Buffer) bool { seen.Add(1); return true }}, "sink")
	if err := g.Link("src", "pub"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var msgs []element.Message
	r, err := engine.Start(context.Background(), g, func(m element.Message) { mu.Lock(); msgs = append(msgs, m); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	if during != nil {
		during(r)
	}
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return msgs, r
}

// seen counts the buffers reaching the sink of runSink.
var seen atomic.Int64

func warnings(msgs []element.Message) string {
	var s []string
	for _, m := range msgs {
		if w, ok := m.(*element.WarningMessage); ok {
			s = append(s, w.Element+": "+w.Text)
		}
	}
	return strings.Join(s, "\n")
}

func checkExactlyOnce(t *testing.T, got []*Message, want int) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range got {
		seen[m.ID]++
	}
	if len(seen) != want {
		t.Errorf("%d distinct messages delivered, want %d", len(seen), want)
	}
}

func TestSinkRetriesWhileDown(t *testing.T) {
	fb := &fakeBroker{down: true}
	msgs, r := runSink(t, 100, nil, fb, func(*engine.Run) {
		time.Sleep(150 * time.Millisecond)
		fb.setDown(false)
	})
	checkExactlyOnce(t, fb.got(), 400)
	w := warnings(msgs)
	if !strings.Contains(w, "broker nats://127.0.0.1:1 unavailable") || !strings.Contains(w, "is back") {
		t.Errorf("warnings:\n%s", w)
	}
	// The recovery line counts the messages that waited (all in one batch here).
	if m := regexp.MustCompile(`delivering (\d+) waiting messages`).FindStringSubmatch(w); m == nil || m[1] == "0" {
		t.Errorf("recovery line without the waiting messages:\n%s", w)
	}
	for _, s := range r.Stats() {
		if s.Name == "pub" && s.Drops != 0 {
			t.Errorf("%d drops", s.Drops)
		}
	}
}

func TestSinkOutboxFull(t *testing.T) {
	fb := &fakeBroker{down: true}
	// 50 frames × 4 objects into an outbox of 60 while the broker is
	// away; it comes back before the end, and the newest 60 (and the rest) arrive.
	msgs, r := runSink(t, 50, element.Props{"outbox-size": 60, "flush-timeout": 5000}, fb, func(r *engine.Run) {
		// The broker comes back once the sink has seen every frame.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if seen.Load() == 50 {
				break
			}
		}
		fb.setDown(false)
	})
	got := fb.got()
	checkExactlyOnce(t, got, 60)
	if len(got) > 0 && got[len(got)-1].Frame != 49 {
		t.Errorf("last delivered message is of frame %d, want 49", got[len(got)-1].Frame)
	}
	var drops int64
	for _, s := range r.Stats() {
		if s.Name == "pub" {
			drops = s.Drops
		}
	}
	if drops != 140 {
		t.Errorf("%d drops, want 140", drops)
	}
	if w := warnings(msgs); !strings.Contains(w, "pub: outbox for nats://127.0.0.1:1 is full (60 messages): dropped the oldest") {
		t.Errorf("warnings:\n%s", w)
	}
}

func TestSinkTooLarge(t *testing.T) {
	fb := &fakeBroker{max: 10}
	msgs, _ := runSink(t, 5, nil, fb, nil)
	if n := len(fb.got()); n != 0 {
		t.Errorf("%d delivered", n)
	}
	if w := warnings(msgs); !strings.Contains(w, "sink pub: message ") || !strings.Contains(w, "is larger than the broker accepts (10 bytes); dropped") {
		t.Errorf("warnings:\n%s", w)
	}
}

func TestSinkSpoolAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	fb := &fakeBroker{down: true}
	// Run 1: the broker never answers; the end leaves 80 messages in the spool.
	msgs, _ := runSink(t, 20, element.Props{"spool-dir": dir, "flush-timeout": 50}, fb, nil)
	if w := warnings(msgs); !strings.Contains(w, "80 messages for nats://127.0.0.1:1 were not delivered (kept in the spool") {
		t.Errorf("warnings:\n%s", w)
	}
	// Run 2: the broker is up; the 80 and the new 40 arrive.
	fb.setDown(false)
	runSink(t, 10, element.Props{"spool-dir": dir}, fb, nil)
	checkExactlyOnce(t, fb.got(), 120)
	sp, err := OpenSpool(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if n := len(sp.Pending()); n != 0 {
		t.Errorf("%d messages still pending", n)
	}
}

func TestSinkBadProps(t *testing.T) {
	g := engine.NewGraph("t", testKinds())
	for _, c := range []struct {
		props element.Props
		want  string
	}{
		{element.Props{"msg-broker-conn-str": "amqp://x:1"}, "msg-broker-conn-str"},
		{element.Props{"msg-broker-conn-str": "nats://x:1", "outbox-policy": "keep"}, "outbox-policy"},
		{element.Props{"msg-broker-conn-str": "nats://x:1", "msg-conv-payload-type": 2}, "protobuf"},
		{element.Props{"msg-broker-conn-str": "nats://x:1", "msg-conv-config": "/none.txt"}, "does not exist"},
		{element.Props{"msg-broker-conn-str": "nats://x:1", "outbox-size": 0}, "outbox-size"},
	} {
		_, err := g.Add("publish", fmt.Sprintf("p%d", len(c.want)), c.props)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.props, err, c.want)
		}
	}
}

// BenchmarkSpoolAppend: the cost of spooling a 1 KiB message.
func BenchmarkSpoolAppend(b *testing.B) {
	sp, err := OpenSpool(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	o := NewOutbox(1<<16, DropOldest, sp)
	m := &msgconv.Message{ID: "0123456789abcdef0123456789abcdef0123", Sensor: "cam", Kind: "object", Payload: make([]byte, 1024)}
	b.SetBytes(1024)
	for i := 0; i < b.N; i++ {
		o.Put(m)
		if i%1000 == 999 {
			o.Ack(^uint64(0))
			o.Sync()
		}
	}
	sp.Close()
}

// testKinds is a registry of the test source and this package's kinds.
func testKinds() *element.Registry {
	r := element.NewRegistry()
	sources.Register(r)
	Register(r)
	return r
}
