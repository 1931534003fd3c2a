package gst

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testStream is a cheap live H.264 stream for RTSP tests.
const testStream = "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! " +
	"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay0 pt=96"

// rtspServer starts a server on port (0: any) serving testStream at /test;
// it is closed at the end of the test.
func rtspServer(tb testing.TB, port int) *RTSPServer {
	tb.Helper()
	s, err := NewRTSPServer("127.0.0.1", port)
	if err != nil {
		tb.Fatalf("NewRTSPServer: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if err := s.Mount("/test", testStream, true); err != nil {
		tb.Fatalf("Mount: %v", err)
	}
	return s
}

// rtspClient plays rtsp://127.0.0.1:port/test into an RGB appsink.
func rtspClient(tb testing.TB, port int, protocols string) (*Pipeline, *AppSink) {
	tb.Helper()
	p := launch(tb, fmt.Sprintf("rtspsrc location=rtsp://127.0.0.1:%d/test protocols=%s latency=100 ! "+
		"decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false", port, protocols))
	s := sink(tb, p, "sink")
	if err := p.Play(); err != nil {
		tb.Fatalf("Play: %v", err)
	}
	return p, s
}

// pullFrames pulls n frames of 320x240 RGB, each within timeout.
func pullFrames(tb testing.TB, s *AppSink, n int, timeout time.Duration) {
	tb.Helper()
	for i := range n {
		smp, err := s.Pull(timeout)
		if err != nil {
			tb.Fatalf("Pull frame %d: %v", i, err)
		}
		w, h, size := smp.Width, smp.Height, len(smp.Data)
		smp.Release()
		if w != 320 || h != 240 || size < 320*240*3 {
			tb.Fatalf("frame %d: %dx%d, %d bytes", i, w, h, size)
		}
	}
}

// endOfStream pulls until the stream ends and returns how: a bus error,
// io.EOF, or ErrTimeout when nothing ended it within limit.
func endOfStream(s *AppSink, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		smp, err := s.Pull(100 * time.Millisecond)
		if err == nil {
			smp.Release()
			continue
		}
		if err != ErrTimeout {
			return time.Since(start), err
		}
	}
	return time.Since(start), ErrTimeout
}

func TestRTSPServerStream(t *testing.T) {
	checkLive(t)
	srv := rtspServer(t, 0)
	if srv.Port() <= 0 {
		t.Fatalf("Port() = %d", srv.Port())
	}
	if u := srv.URL("/test"); u != fmt.Sprintf("rtsp://127.0.0.1:%d/test", srv.Port()) {
		t.Errorf("URL = %q", u)
	}
	p, s := rtspClient(t, srv.Port(), "tcp")
	pullFrames(t, s, 20, 10*time.Second)
	// A second client shares the media.
	_, s2 := rtspClient(t, srv.Port(), "tcp")
	pullFrames(t, s2, 5, 10*time.Second)
	pullFrames(t, s, 5, 10*time.Second)
	_ = p.Close()

	info, err := Discover(srv.URL("/test"), 10*time.Second)
	if err != nil {
		t.Fatalf("Discover over RTSP: %v", err)
	}
	if !info.Live || info.Duration != 0 || len(info.Video) != 1 || info.Video[0].Width != 320 ||
		!strings.Contains(info.Video[0].Codec, "H.264") {
		t.Errorf("Discover over RTSP: %+v", info)
	}
	if info.Frames() != 0 {
		t.Errorf("Frames() of a live stream = %d, want 0", info.Frames())
	}
}

func TestRTSPServerMountErrors(t *testing.T) {
	srv := rtspServer(t, 0)
	for _, c := range []struct{ path, launch, want string }{
		{"test2", testStream, "must start with /"},
		{"/test", testStream, "already mounted"},
		{"/bad", "videotestsrc ! nosuchelement42 ! rtph264pay name=pay0", "nosuchelement42"},
		{"/nopay", "videotestsrc ! x264enc ! rtph264pay", "pay0"},
	} {
		if err := srv.Mount(c.path, c.launch, true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Mount(%q, %q) = %v, want an error with %q", c.path, c.launch, err, c.want)
		}
	}
	if err := srv.Unmount("/nothing"); err == nil {
		t.Error("Unmount of a path never mounted succeeded")
	}
	if err := srv.Unmount("/test"); err != nil {
		t.Fatal(err)
	}
	// An unmounted path answers 404 Not Found.
	p, s := rtspClient(t, srv.Port(), "tcp")
	d, err := endOfStream(s, 10*time.Second)
	var ge *Error
	if !errors.As(err, &ge) || !strings.Contains(strings.ToLower(ge.Text+ge.Debug), "not found") {
		t.Errorf("client of an unmounted path: %v after %v, want a 'not found' bus error", err, d)
	}
	_ = p.Close()
	// Mount again at the same path.
	if err := srv.Mount("/test", testStream, false); err != nil {
		t.Fatal(err)
	}
	_, s = rtspClient(t, srv.Port(), "tcp")
	pullFrames(t, s, 3, 10*time.Second)
}

func TestRTSPServerCloseAndRestart(t *testing.T) {
	checkLive(t)
	srv := rtspServer(t, 0)
	port := srv.Port()
	_, s := rtspClient(t, port, "tcp")
	pullFrames(t, s, 5, 10*time.Second)

	// Close with a client connected and streaming returns promptly.
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close with a connected client took %v", d)
	}
	if err := srv.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := srv.Mount("/x", testStream, true); err != ErrServerClosed {
		t.Errorf("Mount after Close: %v, want ErrServerClosed", err)
	}
	// The connected client learns it (over TCP: EOS and a warning "The
	// server closed the connection", see TestRTSPErrorLatency).
	if d, err := endOfStream(s, 10*time.Second); err == ErrTimeout {
		t.Errorf("connected client still streaming %v after Close", d)
	}

	// A new client gets a connection error on the bus within a few seconds.
	_, s = rtspClient(t, port, "tcp")
	d, err := endOfStream(s, 5*time.Second)
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("new client after Close: %v after %v, want a bus error", err, d)
	}
	t.Logf("new client after Close: %v after %v", err, d)

	// The port is free again: a second server takes it and serves.
	srv2 := rtspServer(t, port)
	if srv2.Port() != port {
		t.Fatalf("restarted server on port %d, want %d", srv2.Port(), port)
	}
	_, s = rtspClient(t, port, "tcp")
	pullFrames(t, s, 5, 10*time.Second)
	// Taking a port in use fails with a clear error.
	if s3, err := NewRTSPServer("127.0.0.1", port); err == nil {
		_ = s3.Close()
		t.Error("a second server on a port in use started")
	} else if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error does not name the port: %v", err)
	}
}

// cThreads returns the number of threads of this process that C code
// started (GStreamer, GLib), leaving out the Go runtime's threads, which Go
// keeps once made: those carry the name of the executable.
func cThreads(tb testing.TB) int {
	self, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	n := 0
	for _, e := range ents {
		if comm, err := os.ReadFile("/proc/self/task/" + e.Name() + "/comm"); err == nil &&
			string(comm) != string(self) {
			n++
		}
	}
	return n
}

// fds returns the number of open file descriptors of this process.
func fds(tb testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	return len(ents)
}

// Servers that are started, played and closed again leave no threads or
// sockets behind.
func TestRTSPServerNoLeak(t *testing.T) {
	checkLive(t)
	cycle := func() {
		srv, err := NewRTSPServer("", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Mount("/test", testStream, true); err != nil {
			t.Fatal(err)
		}
		p, s := rtspClient(t, srv.Port(), "udp")
		pullFrames(t, s, 2, 10*time.Second)
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		_ = p.Close()
	}
	cycle()
	time.Sleep(200 * time.Millisecond)
	base, baseFDs := cThreads(t), fds(t)
	for range 5 {
		cycle()
	}
	// Up to 2 idle GLib thread-pool threads may linger (for 15 s).
	n, nFDs := 0, 0
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(100 * time.Millisecond) {
		if n, nFDs = cThreads(t), fds(t); n <= base+2 && nFDs <= baseFDs {
			break
		}
	}
	t.Logf("C threads %d -> %d, file descriptors %d -> %d", base, n, baseFDs, nFDs)
	if n > base+2 {
		t.Errorf("C threads grew from %d to %d over 5 server cycles", base, n)
	}
	if nFDs > baseFDs {
		t.Errorf("file descriptors grew from %d to %d over 5 server cycles", baseFDs, nFDs)
	}
}

// ---- an RTSP server in a subprocess, which a test can kill -9 ----

// TestRTSPHelperProcess is not a test: run by startRTSPProcess in a child
// process, it serves testStream at /test on $VIDFLOW_RTSP_HELPER_PORT,
// prints "RTSP-READY <port>" and serves until killed or its stdin closes.
func TestRTSPHelperProcess(t *testing.T) {
	ps := os.Getenv("VIDFLOW_RTSP_HELPER_PORT")
	if ps == "" {
		t.Skip("helper process for the RTSP tests")
	}
	port, _ := strconv.Atoi(ps)
	s, err := NewRTSPServer("127.0.0.1", port)
	if err != nil {
		fmt.Println("RTSP-FAILED", err)
		os.Exit(1)
	}
	if err := s.Mount("/test", testStream, true); err != nil {
		fmt.Println("RTSP-FAILED", err)
		os.Exit(1)
	}
	fmt.Println("RTSP-READY", s.Port())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent goes away
	_ = s.Close()
	os.Exit(0)
}

// startRTSPProcess runs TestRTSPHelperProcess in a child process serving
// /test on port (0: any) and returns the port and the process. The process
// is killed at the end of the test.
func startRTSPProcess(tb testing.TB, port int) (int, *exec.Cmd) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRTSPHelperProcess$")
	cmd.Env = append(os.Environ(), "VIDFLOW_RTSP_HELPER_PORT="+strconv.Itoa(port))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "RTSP-") {
				ready <- l
				break
			}
		}
		close(ready)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-ready:
		if p, ok := strings.CutPrefix(l, "RTSP-READY "); ok {
			n, err := strconv.Atoi(p)
			if err == nil {
				return n, cmd
			}
		}
		tb.Fatalf("RTSP helper process: %q", l)
	case <-time.After(20 * time.Second):
		tb.Fatal("RTSP helper process did not start within 20 s")
	}
	return 0, nil
}

// A server process killed with SIGKILL mid-stream: the client ends within a
// few seconds, and a server restarted on the same port serves new clients.
func TestRTSPServerProcessKill(t *testing.T) {
	checkLive(t)
	port, cmd := startRTSPProcess(t, 0)
	p, s := rtspClient(t, port, "tcp")
	pullFrames(t, s, 5, 10*time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	d, err := endOfStream(s, 10*time.Second)
	if err == ErrTimeout {
		t.Fatalf("client still waiting %v after the server was killed", d)
	}
	t.Logf("client after kill -9: %v after %v", err, d)
	_ = p.Close()

	startRTSPProcess(t, port)
	_, s = rtspClient(t, port, "tcp")
	pullFrames(t, s, 5, 10*time.Second)
}

// TestRTSPErrorLatency measures how rtspsrc (default timeouts) reports a
// server that disappears mid-stream, over TCP and UDP: closed in-process
// (RTSPServer.Close), killed (SIGKILL: the kernel closes its sockets), and
// frozen (SIGSTOP: silence, like a network cut). It only logs; run it with
// VIDFLOW_RTSP_LATENCY=1 go test -v -run RTSPErrorLatency (up to ~2 min).
func TestRTSPErrorLatency(t *testing.T) {
	if os.Getenv("VIDFLOW_RTSP_LATENCY") == "" {
		t.Skip("set VIDFLOW_RTSP_LATENCY=1 to measure")
	}
	const limit = 45 * time.Second
	for _, how := range []string{"close", "kill", "stop"} {
		for _, proto := range []string{"tcp", "udp"} {
			t.Run(how+"/"+proto, func(t *testing.T) {
				checkLive(t)
				var port int
				var gone func()
				if how == "close" {
					srv := rtspServer(t, 0)
					port, gone = srv.Port(), func() { _ = srv.Close() }
				} else {
					var cmd *exec.Cmd
					port, cmd = startRTSPProcess(t, 0)
					sig := map[string]syscall.Signal{"kill": syscall.SIGKILL, "stop": syscall.SIGSTOP}[how]
					gone = func() { _ = cmd.Process.Signal(sig) }
				}
				p, s := rtspClient(t, port, proto)
				pullFrames(t, s, 10, 10*time.Second)
				for { // forget the messages of the start
					if _, ok := p.PopMessage(0); !ok {
						break
					}
				}
				start := time.Now()
				gone()
				var bus []string
				var end time.Duration
				// Until the first EOS/error, and one second more to see what follows.
				for time.Since(start) < limit && (end == 0 || time.Since(start) < end+time.Second) {
					if smp, err := s.Pull(0); err == nil {
						smp.Release()
						continue
					}
					m, ok := p.PopMessage(20 * time.Millisecond)
					if !ok {
						continue
					}
					switch {
					case m.Type == MessageEOS || m.Type == MessageError:
						if end == 0 {
							end = time.Since(start)
						}
					case m.Type == MessageWarning, m.Type == MessageElement && strings.Contains(m.Text, "Timeout"):
					default:
						continue
					}
					bus = append(bus, fmt.Sprintf("%v %v %s", time.Since(start).Round(10*time.Millisecond), m.Type, m.Text))
				}
				t.Logf("%s over %s: first EOS/error after %v (0: none within %v); bus: %q", how, proto,
					end.Round(10*time.Millisecond), limit, bus)
			})
		}
	}
}

// freePort returns a TCP port nothing listens on.
func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Nothing listening at all: the client's error comes at once.
func TestRTSPConnectionRefused(t *testing.T) {
	_, s := rtspClient(t, freePort(t), "tcp")
	d, err := endOfStream(s, 5*time.Second)
	var ge *Error
	if !errors.As(err, &ge) || d > 3*time.Second {
		t.Errorf("client of a closed port: %v after %v, want a bus error at once", err, d)
	}
}
