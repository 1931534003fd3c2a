package vidflow_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

func freeTCPPort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serveRTSP runs a vidflow pipeline serving a live synthetic stream at
// rtsp://127.0.0.1:port/test until ctx ends; it returns once serving.
func serveRTSP(ctx context.Context, port int) (*vidflow.Pipeline, error) {
	p := vidflow.NewPipeline("rtsp-server")
	ready := make(chan struct{})
	var once sync.Once
	p.OnMessage(func(m element.Message) {
		if w, ok := m.(*element.WarningMessage); ok && strings.Contains(w.Text, "serving rtsp://") {
			once.Do(func() { close(ready) })
		}
	})
	err := vidflow.NewFlow(p).Capture([]string{"testsrc://?is-live=true&width=320&height=240&framerate=25"}).
		Render(vidflow.RenderStream, vidflow.Props{"rtsp-port": port, "rtsp-mount-point": "/test"}).Err()
	if err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	select {
	case <-ready:
		return p, nil
	case <-time.After(20 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("RTSP server pipeline not serving after 20 s")
	}
}

// TestRTSPServerProcess is not a test: run by startServerProcess in a child
// process, it serves RTSP with vidflow until its stdin closes.
func TestRTSPServerProcess(t *testing.T) {
	port, _ := strconv.Atoi(os.Getenv("VIDFLOW_TEST_RTSP_PORT"))
	if port == 0 {
		t.Skip("child process of TestRTSPReconnects")
	}
	p, err := serveRTSP(context.Background(), port)
	if err != nil {
		fmt.Println("RTSP-FAILED", err)
		os.Exit(1)
	}
	fmt.Println("RTSP-READY")
	io.Copy(io.Discard, os.Stdin)
	p.Stop()
	os.Exit(0)
}

func startServerProcess(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRTSPServerProcess$")
	cmd.Env = append(os.Environ(), "VIDFLOW_TEST_RTSP_PORT="+strconv.Itoa(port))
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "RTSP-") {
				ready <- l
			}
		}
	}()
	select {
	case l := <-ready:
		if l != "RTSP-READY" {
			t.Fatalf("RTSP server process: %s", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RTSP server process did not start")
	}
	return cmd
}

func TestRenderStreamPlayedByRTSPClient(t *testing.T) {
	port := freeTCPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server, err := serveRTSP(ctx, port)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan [2]int, 100)
	r := retrieverFunc(func(b *media.Buffer) error {
		fm := b.Meta().Frames[0]
		select {
		case got <- [2]int{fm.Width, fm.Height}:
		default:
		}
		return nil
	})
	client := vidflow.NewPipeline("rtsp-client")
	vidflow.NewFlow(client).Capture([]string{fmt.Sprintf("rtsp://127.0.0.1:%d/test", port)}, vidflow.Props{"select-rtp-protocol": 4}).Retrieve(r)
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		select {
		case sz := <-got:
			if sz != [2]int{320, 240} {
				t.Fatalf("frame of %v, want 320x240", sz)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d frames from the RTSP stream", i)
		}
	}
	client.Stop()
	server.Stop()
	checkNoSamples(t)
}

func TestRTSPReconnects(t *testing.T) {
	port := freeTCPPort(t)
	server := startServerProcess(t, port)

	var mu sync.Mutex
	last := map[int]time.Time{}
	count := map[int]int{}
	var reconnectWarnings int
	p := vidflow.NewPipeline("reconnect")
	p.OnMessage(func(m element.Message) {
		if w, ok := m.(*element.WarningMessage); ok && strings.Contains(w.Text, "Trying reconnection") {
			mu.Lock()
			reconnectWarnings++
			mu.Unlock()
		}
	})
	uris := []string{fmt.Sprintf("rtsp://127.0.0.1:%d/test", port), "testsrc://?is-live=true&framerate=25&width=320&height=240"}
	f := vidflow.NewFlow(p).BatchCapture(uris, vidflow.Props{"select-rtp-protocol": 4, "rtsp-reconnect-interval": 3,
		"init-rtsp-reconnect-interval": 1, "batched-push-timeout": 40000, "width": 320, "height": 240}).
		Attach(func(m *media.BatchMeta) {
			mu.Lock()
			defer mu.Unlock()
			for _, fm := range m.Frames {
				last[fm.SourceID] = time.Now()
				count[fm.SourceID]++
			}
		}).Render(vidflow.RenderDiscard)
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for time.Now().Before(deadline) {
			mu.Lock()
			done := ok()
			mu.Unlock()
			if done {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s (frames %v)", what, count)
	}
	waitFor("the camera's first 25 frames", 30*time.Second, func() bool { return count[0] >= 25 })

	// The camera dies.
	server.Process.Kill()
	server.Wait()
	killed := time.Now()
	mu.Lock()
	before := count[1]
	mu.Unlock()
	time.Sleep(4 * time.Second)
	mu.Lock()
	during, stale := count[1]-before, last[0].Before(killed.Add(time.Second))
	mu.Unlock()
	if !stale {
		t.Error("the camera stream kept delivering after its server was killed")
	}
	if during < 50 {
		t.Errorf("the other stream delivered %d frames in 4 s while the camera was down, want ~100", during)
	}

	// It comes back on the same port: the source reconnects by itself.
	startServerProcess(t, port)
	restarted := time.Now()
	waitFor("the camera to come back", 60*time.Second, func() bool { return last[0].After(restarted) && count[0] >= 50 })
	mu.Lock()
	w := reconnectWarnings
	mu.Unlock()
	if w == 0 {
		t.Error("no \"Trying reconnection\" warning")
	}
	var reconnects int64
	for _, s := range p.Stats() {
		reconnects += s.Reconnects
	}
	if reconnects == 0 {
		t.Error("statistics count no reconnection")
	}
}
