package publish

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
)

// spoolChildEnv names the spool directory of the child process of
// TestSpoolKill9; set, TestSpoolHelperProcess is that child.
const spoolChildEnv = "VIDFLOW_SPOOL_CHILD_DIR"

// Child settings: a small outbox and small segments, so that drop-oldest
// advances the done mark and segments are deleted while the kill comes.
const (
	childCapacity = 3000
	childSegBytes = 16 << 10
	// The child prints the numbers of the messages it put by this many.
	childPrintBatch = 50
)

// testPorts is the part of element.Ports the deliverer uses.
type testPorts struct {
	element.Ports
	mu    sync.Mutex
	warns []string
	drops int
}

func (p *testPorts) Name() string { return "pub" }
func (p *testPorts) Warn(format string, args ...any) {
	p.mu.Lock()
	p.warns = append(p.warns, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}
func (p *testPorts) Dropped(n int) { p.mu.Lock(); p.drops += n; p.mu.Unlock() }

// startDeliverer runs a deliverer of ob to fb until the returned stop is called.
func startDeliverer(ob *Outbox, fb *fakeBroker, p element.Ports) (stop func()) {
	_, u, _ := ParseConnString("nats://127.0.0.1:1", "")
	s := &Sink{opts: Options{URL: u}, batch: 256, retryMin: 5 * time.Millisecond, retryMax: 20 * time.Millisecond}
	d := &deliverer{s: s, p: p, ob: ob, ad: fb}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.run(ctx) }()
	return func() { cancel(); <-done }
}

// TestSpoolHelperProcess is the child of TestSpoolKill9: it spools
// messages for a broker that is down, and prints each message's number
// once Put returned (the message is spooled), until it is killed.
func TestSpoolHelperProcess(t *testing.T) {
	dir := os.Getenv(spoolChildEnv)
	if dir == "" {
		t.Skip("the child of TestSpoolKill9")
	}
	sp, err := OpenSpool(dir, childSegBytes)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ob := NewOutbox(childCapacity, DropOldest, sp)
	startDeliverer(ob, &fakeBroker{down: true}, &testPorts{})
	out := bufio.NewWriterSize(os.Stdout, 4096)
	for i := 0; ; i++ {
		ob.Put(msg(i))
		fmt.Fprintln(out, i)
		if i%childPrintBatch == childPrintBatch-1 {
			out.Flush()
			time.Sleep(time.Millisecond)
		}
	}
}

// TestSpoolKill9: a publisher whose broker is down is killed (SIGKILL) at
// random moments; the next run, with the broker up, delivers every message
// the killed one had spooled (and the outbox still held), once per id.
func TestSpoolKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	for iter := 0; iter < 5; iter++ {
		seed := time.Now().UnixNano()
		t.Logf("iteration %d: seed %d", iter, seed)
		rng := rand.New(rand.NewSource(seed))
		dir := t.TempDir()
		// Two kills into the same spool: recovery after a crash is itself killed.
		var printed int
		for kill := 0; kill < 2; kill++ {
			printed = spoolChild(t, dir, time.Duration(150+rng.Intn(450))*time.Millisecond)
		}
		// Messages are numbered from 0 in each child: the second child's
		// numbers repeat the first's, so only its own are checked, by payload.
		fb := &fakeBroker{}
		sp, err := OpenSpool(dir, childSegBytes)
		if err != nil {
			t.Fatal(err)
		}
		ob := NewOutbox(childCapacity, DropOldest, sp)
		stop := startDeliverer(ob, fb, &testPorts{})
		waitEmpty(t, ob)
		stop()
		if err := sp.Close(); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, m := range fb.got() {
			got[m.ID] = true
			if "id-"+string(m.Payload) != m.ID {
				t.Fatalf("seed %d: message %s delivered with payload %q", seed, m.ID, m.Payload)
			}
		}
		// The outbox held the newest childCapacity messages put; up to
		// childPrintBatch puts may not have been printed.
		lost := 0
		for i := max(0, printed+childPrintBatch-childCapacity); i < printed; i++ {
			if !got[fmt.Sprintf("id-%d", i)] {
				if lost < 5 {
					t.Logf("missing id-%d", i)
				}
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("seed %d: %d of the last %d spooled messages (of %d) not delivered", seed, lost, min(printed, childCapacity-childPrintBatch), printed)
		}
		// Nothing is delivered again by a later run.
		sp2, err := OpenSpool(dir, childSegBytes)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(sp2.Pending()); n != 0 {
			t.Errorf("seed %d: %d messages pending after all were delivered", seed, n)
		}
		sp2.Close()
	}
}

// spoolChild runs the child on dir, kills it after d and returns how many
// messages it reported spooled.
func spoolChild(t *testing.T, dir string, d time.Duration) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), spoolChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	last := make(chan int)
	go func() {
		n := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, err := strconv.Atoi(sc.Text()); err == nil && v+1 > n {
				n = v + 1
			}
		}
		last <- n
	}()
	// d counts from the start; the child spools within ~100 ms of it.
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	n := <-last
	_ = cmd.Wait()
	t.Logf("killed after %v: %d messages spooled", d, n)
	return n
}

func waitEmpty(t *testing.T, ob *Outbox) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ob.Len() > 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages not delivered", ob.Len())
		}
	}
}

var keptRE = regexp.MustCompile(`(\d+) messages for \S+ were not delivered \(kept in the spool`)

// TestSpoolFullDisk: a spool on a tmpfs too small for what a run leaves;
// the messages it reports kept all come back in the next run, and none in
// the one after; those it could not keep are counted as drops.
func TestSpoolFullDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=96k"); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	fb := &fakeBroker{down: true}
	props := element.Props{"spool-dir": dir, "flush-timeout": 50}
	msgs, r := runSink(t, 100, props, fb, nil)
	w := warnings(msgs)
	m := keptRE.FindStringSubmatch(w)
	drops := pubDrops(r)
	if m == nil && drops == 0 {
		t.Fatalf("run 1 warnings:\n%s", w)
	}
	kept := 0
	if m != nil {
		kept, _ = strconv.Atoi(m[1])
	}
	t.Logf("run 1: %d kept, %d dropped", kept, drops)
	if kept == 0 || kept >= 400 || int64(kept)+drops != 400 {
		t.Errorf("run 1: %d kept + %d dropped, want 400 with some of each (disk too small)\n%s", kept, drops, w)
	}
	fb.setDown(false)
	runSink(t, 5, props, fb, nil)
	first := distinct(fb.got())
	if len(first) != kept+20 {
		t.Errorf("run 2 delivered %d distinct messages, want the %d kept + 20 new", len(first), kept)
	}
	n := len(fb.got())
	runSink(t, 5, props, fb, nil)
	again := 0
	for _, m := range fb.got()[n:] {
		if first[m.ID] {
			again++
		}
	}
	if again > 0 || len(distinct(fb.got()[n:])) != 20 {
		t.Errorf("run 3: %d messages of earlier runs delivered again, %d distinct", again, len(distinct(fb.got()[n:])))
	}
}

func distinct(ms []*Message) map[string]bool {
	s := map[string]bool{}
	for _, m := range ms {
		s[m.ID] = true
	}
	return s
}

func pubDrops(r *engine.Run) int64 {
	for _, s := range r.Stats() {
		if s.Name == "pub" {
			return s.Drops
		}
	}
	return 0
}

// TestSpoolCorruptRecord: a damaged record in the middle of a segment is
// skipped with a warning; the records after it are delivered.
func TestSpoolCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	fb := &fakeBroker{down: true}
	props := element.Props{"spool-dir": dir, "flush-timeout": 50}
	runSink(t, 20, props, fb, nil) // 80 messages stay in the spool
	segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var seg string
	for _, p := range segs {
		if st, err := os.Stat(p); err == nil && st.Size() > 0 {
			seg = p
		}
	}
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x5a
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fb.setDown(false)
	msgs, _ := runSink(t, 1, props, fb, nil)
	if n := len(distinct(fb.got())); n != 79+4 {
		t.Errorf("%d distinct messages delivered, want 79 of the first run and 4 new", n)
	}
	if w := warnings(msgs); !regexp.MustCompile(`corrupt`).MatchString(w) {
		t.Errorf("no warning about the corrupt record:\n%s", w)
	}
}
