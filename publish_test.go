package vidflow_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// pubFreePort returns a TCP port on 127.0.0.1 that nothing listens on.
func pubFreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pubProc is a broker process the test starts and stops.
type pubProc struct {
	t    testing.TB
	bin  string
	args []string
	port int
	cmd  *exec.Cmd
	out  bytes.Buffer
}

func pubNeed(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(dir, bin)); err == nil {
				return filepath.Join(dir, bin)
			}
		}
		t.Skipf("%s is not installed (run scripts/setup-brokers.sh or apt-get install the Debian package)", bin)
	}
	return p
}

func (b *pubProc) start() {
	b.t.Helper()
	b.out.Reset()
	b.cmd = exec.Command(b.bin, b.args...)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("%s: %v", b.bin, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.stop()
	b.t.Fatalf("%s did not listen on port %d:\n%s", b.bin, b.port, b.out.String())
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits.
func (b *pubProc) stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

// pubBroker is one broker under test: how to start and stop it, the
// connection string, and how to read back what it got.
type pubBroker struct {
	url     string
	start   func()
	stop    func()
	collect func(t *testing.T, want int) []pubReceived // waits until want distinct ids or a deadline
	opts    []vidflow.Option
}

// pubReceived is a message as a consumer got it.
type pubReceived struct {
	id      string
	payload []byte
}

// pubRateProbe records when frames reach the publish sink.
type pubRateProbe struct {
	mu    sync.Mutex
	times []time.Time
}

func (r *pubRateProbe) HandleMetadata(*media.BatchMeta) {
	r.mu.Lock()
	r.times = append(r.times, time.Now())
	r.mu.Unlock()
}

func (r *pubRateProbe) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.times)
}

func (r *pubRateProbe) between(a, b time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, t := range r.times {
		if !t.Before(a) && t.Before(b) {
			n++
		}
	}
	return n
}

const (
	pubFPS    = 100
	pubFrames = 300
)

// pubOutage publishes the minimal schema (one message per frame) from a
// live 100 fps synthetic stream of 300 frames, stops the broker after
// frame 80, restarts it 1 s later, and checks that the consumer got every
// frame's message (exactly once per message id) and that the video kept
// its frame rate during the outage.
func pubOutage(t *testing.T, b *pubBroker) {
	goroutines := runtime.NumGoroutine()
	b.start()
	p := vidflow.NewPipeline("publish")
	msgs := &messages{}
	p.OnMessage(msgs.add)
	rate := &pubRateProbe{}
	opts := append([]vidflow.Option{vidflow.BrokerURL(b.url), vidflow.Topic("vidflow"), vidflow.PayloadType(1),
		vidflow.FrameInterval(1), vidflow.BrokerRetry(50*time.Millisecond, 200*time.Millisecond), vidflow.Name("events")}, b.opts...)
	vidflow.NewFlow(p).
		Capture([]string{fmt.Sprintf("testsrc://?truth=true&objects=3&width=64&height=48&framerate=%d&is-live=true&num-buffers=%d", pubFPS, pubFrames)}).
		Attach(rate).
		Publish(opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for rate.count() < 80 {
		time.Sleep(5 * time.Millisecond)
	}
	b.stop()
	down := time.Now()
	time.Sleep(time.Second)
	up := time.Now()
	b.start()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	// The video did not slow down while the broker was away.
	during := rate.between(down, up)
	t.Logf("%d frames reached the sink during the %v outage", during, up.Sub(down).Round(time.Millisecond))
	if min := int(0.8 * pubFPS * up.Sub(down).Seconds()); during < min {
		t.Errorf("%d frames reached the sink in the %v outage, want >= %d (%d fps)", during, up.Sub(down).Round(time.Millisecond), min, pubFPS)
	}
	var warned, back bool
	for _, m := range msgs.all() {
		if w, ok := m.(*element.WarningMessage); ok {
			warned = warned || strings.Contains(w.Text, "unavailable")
			back = back || strings.Contains(w.Text, "is back")
		}
	}
	if !warned || !back {
		t.Errorf("no warning of the outage (%v) or of the recovery (%v)", warned, back)
		for _, m := range msgs.all() {
			if w, ok := m.(*element.WarningMessage); ok {
				t.Logf("warning: %s: %s", w.Element, w.Text)
			}
		}
	}
	var drops int64
	for _, s := range p.Stats() {
		if s.Name == "events" {
			drops = s.Drops
		}
	}
	if drops != 0 {
		t.Errorf("%d messages dropped", drops)
	}
	got := b.collect(t, pubFrames)
	checkFrames(t, got, pubFrames)
	b.stop()
	checkClean(t, goroutines)
}

// checkFrames checks that the minimal messages received cover frames
// 0..n-1, each frame under one message id; copies of a message (same id,
// from retries) are counted and dropped, as a consumer would.
func checkFrames(t *testing.T, got []pubReceived, n int) {
	t.Helper()
	byID := map[string]string{}
	frames := map[string]string{}
	copies := 0
	for _, r := range got {
		var m struct {
			MessageID string `json:"messageid"`
			Frame     string `json:"id"`
		}
		if err := json.Unmarshal(r.payload, &m); err != nil {
			t.Fatalf("payload %q: %v", r.payload, err)
		}
		if r.id != "" && r.id != m.MessageID {
			t.Errorf("broker-side id %q, payload messageid %q", r.id, m.MessageID)
		}
		if _, dup := byID[m.MessageID]; dup {
			copies++
			continue
		}
		byID[m.MessageID] = m.Frame
		if other, ok := frames[m.Frame]; ok {
			t.Errorf("frame %s under two message ids %s and %s", m.Frame, other, m.MessageID)
		}
		frames[m.Frame] = m.MessageID
	}
	for i := 0; i < n; i++ {
		if _, ok := frames[fmt.Sprint(i)]; !ok {
			t.Errorf("frame %d's message never arrived", i)
		}
	}
	if len(byID) != n {
		t.Errorf("%d distinct messages, want %d", len(byID), n)
	}
	t.Logf("%d messages received, %d distinct, %d copies from retries", len(got), len(byID), copies)
}

func TestPublishNATSOutage(t *testing.T) {
	bin := pubNeed(t, "nats-server")
	dir := t.TempDir()
	port := pubFreePort(t)
	conf := filepath.Join(dir, "nats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: 16384\njetstream {\n  store_dir: %q\n}\n", port, filepath.Join(dir, "js"))), 0o644)
	proc := &pubProc{t: t, bin: bin, args: []string{"-c", conf}, port: port}
	t.Cleanup(proc.stop)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	b := &pubBroker{url: url, start: proc.start, stop: proc.stop}
	b.collect = func(t *testing.T, want int) []pubReceived {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, "VIDFLOW")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []pubReceived
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				t.Fatalf("message %d: %v", seq, err)
			}
			if !strings.HasPrefix(m.Subject, "vidflow.0.") {
				t.Errorf("subject %q", m.Subject)
			}
			if strings.HasSuffix(m.Subject, ".frame") {
				got = append(got, pubReceived{id: m.Header.Get("Nats-Msg-Id"), payload: m.Data})
			}
		}
		return got
	}
	t.Run("outage", func(t *testing.T) { pubOutage(t, b) })

	// A message larger than the server's max_payload (16 KiB) is dropped
	// with a warning naming the sink; the others go on.
	t.Run("too-large", func(t *testing.T) {
		proc.start()
		defer proc.stop()
		p := vidflow.NewPipeline("big")
		msgs := &messages{}
		p.OnMessage(msgs.add)
		vidflow.NewFlow(p).
			Capture([]string{"testsrc://?truth=true&objects=2&width=64&height=48&num-buffers=10"}).
			Attach(func(m *media.BatchMeta) {
				if fm := m.Frames[0]; fm.FrameNumber == 5 {
					media.AddEvent(fm, media.Event{Type: "custom", Info: map[string]any{"blob": strings.Repeat("x", 20000)}})
				}
			}).
			Publish(vidflow.BrokerURL(url), vidflow.Topic("big"), vidflow.FrameInterval(1), vidflow.Name("big-sink"))
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range msgs.all() {
			if w, ok := m.(*element.WarningMessage); ok && strings.Contains(w.Text, "sink big-sink: message") &&
				strings.Contains(w.Text, "larger than the broker accepts (16384 bytes); dropped") {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning about the large message: %v", msgs.all())
		}
		nc, _ := nats.Connect(url)
		defer nc.Close()
		js, _ := jetstream.New(nc)
		s, err := js.Stream(context.Background(), "BIG")
		if err != nil {
			t.Fatal(err)
		}
		info, _ := s.Info(context.Background())
		if info.State.Msgs != 20 {
			t.Errorf("%d messages in the stream, want 20 (10 frames × 2 objects)", info.State.Msgs)
		}
	})
}

// pubSelfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func pubSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vidflow test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// TestPublishNATSTLSCredentials publishes over TLS (a CA file) with a user
// name and password; a wrong password is reported and the pipeline goes on.
func TestPublishNATSTLSCredentials(t *testing.T) {
	bin := pubNeed(t, "nats-server")
	dir := t.TempDir()
	cert, key := pubSelfSigned(t, dir)
	port := pubFreePort(t)
	conf := filepath.Join(dir, "nats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\ntls {\n  cert_file: %q\n  key_file: %q\n}\n"+
		"authorization {\n  user: alice\n  password: s3cret\n}\njetstream {\n  store_dir: %q\n}\n", port, cert, key, filepath.Join(dir, "js"))), 0o644)
	proc := &pubProc{t: t, bin: bin, args: []string{"-c", conf}, port: port}
	proc.start()
	t.Cleanup(proc.stop)
	url := fmt.Sprintf("tls://127.0.0.1:%d", port)
	run := func(password string) []string {
		p := vidflow.NewPipeline("tls")
		msgs := &messages{}
		p.OnMessage(msgs.add)
		vidflow.NewFlow(p).Capture([]string{"testsrc://?truth=true&objects=1&width=32&height=32&num-buffers=10"}).
			Publish(vidflow.BrokerURL(url), vidflow.FrameInterval(1), vidflow.BrokerTLS(cert, "", ""),
				vidflow.BrokerCredentials("alice", password), vidflow.Props{"flush-timeout": "500ms"})
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		var w []string
		for _, m := range msgs.all() {
			if wm, ok := m.(*element.WarningMessage); ok {
				w = append(w, wm.Text)
			}
		}
		return w
	}
	if w := run("s3cret"); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	nc, err := nats.Connect(url, nats.RootCAs(cert), nats.UserInfo("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(context.Background(), "VIDFLOW")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Info(context.Background()); info.State.Msgs != 10 {
		t.Errorf("%d messages in the stream, want 10", info.State.Msgs)
	}
	w := strings.Join(run("wrong"), "\n")
	if !strings.Contains(strings.ToLower(w), "authorization violation") || !strings.Contains(w, "10 messages for tls://127.0.0.1") {
		t.Errorf("wrong password: warnings %q", w)
	}
}

func TestPublishRedisOutage(t *testing.T) {
	bin := pubNeed(t, "redis-server")
	dir := t.TempDir()
	port := pubFreePort(t)
	proc := &pubProc{t: t, bin: bin, port: port, args: []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--protected-mode", "no"}}
	t.Cleanup(proc.stop)
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	read := func(t *testing.T, key string) []pubReceived {
		cl := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
		defer cl.Close()
		entries, err := cl.XRange(context.Background(), key, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var got []pubReceived
		for _, e := range entries {
			if e.Values["kind"] == "frame" {
				got = append(got, pubReceived{id: fmt.Sprint(e.Values["id"]), payload: []byte(fmt.Sprint(e.Values["payload"]))})
			}
		}
		return got
	}
	b := &pubBroker{url: url, start: proc.start, stop: proc.stop,
		collect: func(t *testing.T, want int) []pubReceived { return read(t, "vidflow") }}
	t.Run("outage", func(t *testing.T) { pubOutage(t, b) })

	// With a spool, what a run could not deliver is delivered by the next.
	t.Run("spool", func(t *testing.T) {
		spool := filepath.Join(dir, "spool")
		run := func(frames int) {
			p := vidflow.NewPipeline("spool")
			vidflow.NewFlow(p).
				Capture([]string{fmt.Sprintf("testsrc://?truth=true&objects=1&width=64&height=48&num-buffers=%d", frames)}).
				Publish(vidflow.BrokerURL(url), vidflow.Topic("spooled"), vidflow.PayloadType(1), vidflow.FrameInterval(1),
					vidflow.Spool(spool), vidflow.Props{"flush-timeout": "300ms"})
			if err := p.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		run(50) // the broker is down: all 50 stay in the spool
		proc.start()
		defer proc.stop()
		run(1) // frame 0 again, and the 50 from before
		got := read(t, "spooled")
		seen := map[string]bool{}
		for _, r := range got {
			seen[r.id] = true
		}
		if len(seen) != 51 {
			t.Errorf("%d distinct messages after the second run, want 51", len(seen))
		}
	})
}

func TestPublishMQTTOutage(t *testing.T) {
	bin := pubNeed(t, "mosquitto")
	dir := t.TempDir()
	port := pubFreePort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nuser root\nmax_queued_messages 100000\n", port, dir)), 0o644)
	proc := &pubProc{t: t, bin: bin, port: port, args: []string{"-c", conf}}
	t.Cleanup(proc.stop)
	url := fmt.Sprintf("mqtt://127.0.0.1:%d", port)
	// A consumer with a persistent session, subscribed before the run; the
	// broker keeps its queue across the restart.
	var mu sync.Mutex
	var got []pubReceived
	ids := map[string]bool{} // distinct message ids received
	var sub mqtt.Client
	subscribed := make(chan error, 1) // the first connect's SUBACK
	b := &pubBroker{url: url, stop: proc.stop}
	b.start = func() {
		proc.start()
		if sub != nil {
			return
		}
		opts := mqtt.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", port)).SetClientID("vidflow-test-consumer").
			SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(100 * time.Millisecond).SetConnectRetry(true).
			SetOnConnectHandler(func(c mqtt.Client) {
				// DeepStream's MQTT topic: the topic itself, no subtopics.
				tok := c.Subscribe("vidflow", 1, func(_ mqtt.Client, m mqtt.Message) {
					var msg struct {
						MessageID string `json:"messageid"`
					}
					json.Unmarshal(m.Payload(), &msg) // a bad payload fails in checkFrames
					mu.Lock()
					got = append(got, pubReceived{payload: append([]byte(nil), m.Payload()...)})
					ids[msg.MessageID] = true
					mu.Unlock()
				})
				tok.Wait()
				select {
				case subscribed <- tok.Error():
				default:
				}
			})
		sub = mqtt.NewClient(opts)
		if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("consumer: %v", tok.Error())
		}
		// Connect returns before the handler's SUBACK: wait for it, or the
		// first frames are published before anyone is subscribed.
		select {
		case err := <-subscribed:
			if err != nil {
				t.Fatalf("consumer: subscribe: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("consumer: no SUBACK from mosquitto in 5 s")
		}
	}
	b.collect = func(t *testing.T, want int) []pubReceived {
		defer sub.Disconnect(100)
		// Wait for want distinct message ids: copies from retries do not count.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			n := len(ids)
			mu.Unlock()
			if n >= want {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		return append([]pubReceived(nil), got...)
	}
	pubOutage(t, b)
}

func TestPublishKafkaOutage(t *testing.T) {
	dir := t.TempDir()
	port := pubFreePort(t)
	var c *kfake.Cluster
	start := func() {
		var err error
		c, err = kfake.NewCluster(kfake.Ports(port), kfake.DataDir(dir), kfake.SyncWrites(), kfake.SeedTopics(1, "vidflow"))
		if err != nil {
			t.Fatal(err)
		}
	}
	stop := func() {
		if c != nil {
			c.Close()
			c = nil
		}
	}
	t.Cleanup(stop)
	// publish-timeout 1 s (franz-go's least): the Kafka client gives up on
	// a batch after that, so the sink sees the outage (with the default
	// 5 s an outage of 1 s is only latency inside the client).
	b := &pubBroker{url: fmt.Sprintf("kafka://127.0.0.1:%d", port), start: start, stop: stop,
		opts: []vidflow.Option{vidflow.Props{"publish-timeout": "1s"}}}
	b.collect = func(t *testing.T, want int) []pubReceived {
		cl, err := kgo.NewClient(kgo.SeedBrokers(fmt.Sprintf("127.0.0.1:%d", port)), kgo.ConsumeTopics("vidflow"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var got []pubReceived
		distinct := map[string]bool{}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for len(distinct) < want && ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				var id, kind string
				for _, h := range r.Headers {
					switch h.Key {
					case "message-id":
						id = string(h.Value)
					case "kind":
						kind = string(h.Value)
					}
				}
				if kind == "frame" {
					got = append(got, pubReceived{id: id, payload: r.Value})
					distinct[id] = true
				}
			})
		}
		return got
	}
	pubOutage(t, b)
}

func TestPublishErrors(t *testing.T) {
	p := vidflow.NewPipeline("e")
	vidflow.NewFlow(p).Inject(stamps(1, 1)).Publish(vidflow.BrokerURL("amqp://host:5672"))
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "msg-broker-conn-str") || !strings.Contains(err.Error(), "unknown scheme") {
		t.Errorf("bad scheme: %v", err)
	}
	p = vidflow.NewPipeline("e")
	vidflow.NewFlow(p).Inject(stamps(1, 1)).Publish(vidflow.BrokerURL("nats://h:1"), vidflow.Props{"msg-conv-payload-type": 256})
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "custom msg2p library") {
		t.Errorf("payload 256: %v", err)
	}
	// An unreachable broker is not an error: the pipeline runs, warns, and
	// says at the end how many messages were lost.
	goroutines := runtime.NumGoroutine()
	p = vidflow.NewPipeline("e")
	msgs := &messages{}
	p.OnMessage(msgs.add)
	vidflow.NewFlow(p).Capture([]string{"testsrc://?truth=true&objects=2&num-buffers=20&width=32&height=32"}).
		Publish(vidflow.BrokerURL(fmt.Sprintf("redis://127.0.0.1:%d", pubFreePort(t))), vidflow.FrameInterval(1),
			vidflow.Props{"flush-timeout": "200ms"}, vidflow.Name("pub"))
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs.all() {
		if w, ok := m.(*element.WarningMessage); ok && w.Element == "pub" {
			texts = append(texts, w.Text)
		}
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "unavailable") || !strings.Contains(all, "40 messages for redis://127.0.0.1:") || !strings.Contains(all, "were not delivered (lost)") {
		t.Errorf("warnings:\n%s", all)
	}
	checkClean(t, goroutines)
}

// BenchmarkPublish measures messages per second through Publish to each
// broker: 1000 frames of 10 tracked objects, full schema, every frame
// reported (10000 messages), from the first frame until the outbox is
// empty at end-of-stream. Run with -benchtime 1x.
func BenchmarkPublish(b *testing.B) {
	brokers := []struct {
		name  string
		start func(b *testing.B) (string, func())
	}{
		{"nats", func(b *testing.B) (string, func()) {
			port := pubFreePort(b)
			dir := b.TempDir()
			conf := filepath.Join(dir, "nats.conf")
			os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\njetstream {\n  store_dir: %q\n}\n", port, dir)), 0o644)
			p := &pubProc{t: b, bin: pubNeed(b, "nats-server"), args: []string{"-c", conf}, port: port}
			p.start()
			return fmt.Sprintf("nats://127.0.0.1:%d", port), p.stop
		}},
		{"kafka", func(b *testing.B) (string, func()) {
			c, err := kfake.NewCluster(kfake.SeedTopics(1, "vidflow"))
			if err != nil {
				b.Fatal(err)
			}
			return "kafka://" + c.ListenAddrs()[0], c.Close
		}},
		{"mqtt", func(b *testing.B) (string, func()) {
			port := pubFreePort(b)
			conf := filepath.Join(b.TempDir(), "m.conf")
			// set_tcp_nodelay: without it mosquitto's PUBACKs wait for
			// Nagle's algorithm and QoS 1 publishing runs at ~5000 msgs/s.
			os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n", port)), 0o644)
			p := &pubProc{t: b, bin: pubNeed(b, "mosquitto"), args: []string{"-c", conf}, port: port}
			p.start()
			return fmt.Sprintf("mqtt://127.0.0.1:%d", port), p.stop
		}},
		{"redis", func(b *testing.B) (string, func()) {
			port := pubFreePort(b)
			p := &pubProc{t: b, bin: pubNeed(b, "redis-server"), port: port, args: []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1",
				"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", b.TempDir()}}
			p.start()
			return fmt.Sprintf("redis://127.0.0.1:%d", port), p.stop
		}},
	}
	const frames, objects = 1000, 10
	for _, br := range brokers {
		b.Run(br.name, func(b *testing.B) {
			url, stop := br.start(b)
			defer stop()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				p := vidflow.NewPipeline("bench")
				vidflow.NewFlow(p).
					Capture([]string{fmt.Sprintf("testsrc://?truth=true&objects=%d&width=32&height=32&num-buffers=%d", objects, frames)}).
					Publish(vidflow.BrokerURL(url), vidflow.FrameInterval(1), vidflow.Outbox(2*frames*objects, false),
						vidflow.Props{"flush-timeout": "60s"}, vidflow.Name("pub"))
				start := time.Now()
				if err := p.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				for _, s := range p.Stats() {
					if s.Name == "pub" && s.Drops != 0 {
						b.Fatalf("%d drops", s.Drops)
					}
				}
			}
			b.ReportMetric(float64(b.N*frames*objects)/total.Seconds(), "msgs/s")
		})
	}
}
