package vidflow_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// media returns a file of the set-up cache, skipping the test when it is
// missing (scripts/setup.sh makes it; CI runs that first).
func mediaFile(t testing.TB, rel string) string {
	t.Helper()
	dir := os.Getenv("VIDFLOW_CACHE")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "vidflow")
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is missing: run scripts/setup.sh", p)
	}
	return p
}

// streamLog records per-stream frame numbers and PTS and checks order.
type streamLog struct {
	mu     sync.Mutex
	frames map[int][]int64
	pts    map[int][]time.Duration
	sizes  map[[2]int]int
}

func newStreamLog() *streamLog {
	return &streamLog{frames: map[int][]int64{}, pts: map[int][]time.Duration{}, sizes: map[[2]int]int{}}
}

func (l *streamLog) probe(m *media.BatchMeta) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range m.Frames {
		l.frames[f.SourceID] = append(l.frames[f.SourceID], f.FrameNumber)
		l.pts[f.SourceID] = append(l.pts[f.SourceID], f.PTS)
		l.sizes[[2]int{f.Width, f.Height}]++
	}
}

func (l *streamLog) check(t *testing.T, streams int, frames int) {
	t.Helper()
	if len(l.frames) != streams {
		t.Errorf("%d streams delivered frames, want %d", len(l.frames), streams)
	}
	for s := 0; s < streams; s++ {
		if len(l.frames[s]) != frames {
			t.Errorf("stream %d: %d frames, want %d", s, len(l.frames[s]), frames)
		}
		for i, n := range l.frames[s] {
			if n != int64(i) {
				t.Errorf("stream %d: frame %d numbered %d", s, i, n)
				break
			}
		}
		for i := 1; i < len(l.pts[s]); i++ {
			if l.pts[s][i] <= l.pts[s][i-1] {
				t.Errorf("stream %d: PTS %v after %v at frame %d", s, l.pts[s][i], l.pts[s][i-1], i)
				break
			}
		}
	}
}

func checkNoSamples(t *testing.T) {
	t.Helper()
	if n := gst.LiveSamples(); n != 0 {
		t.Errorf("%d GStreamer samples not released", n)
	}
}

func TestBatchCaptureRealVideo(t *testing.T) {
	clip := mediaFile(t, "media/vtest.mp4")
	info, err := vidflow.Discover(clip)
	if err != nil {
		t.Fatal(err)
	}
	frames := int(info.Frames())
	if frames != 795 || info.Video[0].Width != 768 || info.Live {
		t.Fatalf("Discover: %d frames, %+v", frames, info)
	}
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprint(n, "streams"), func(t *testing.T) {
			g := runtime.NumGoroutine()
			uris := make([]string, n)
			for i := range uris {
				uris[i] = clip
			}
			l := newStreamLog()
			err := vidflow.NewFlow(vidflow.NewPipeline("vtest")).BatchCapture(uris, vidflow.Width(384), vidflow.Height(288)).
				Attach(l.probe).Render(vidflow.RenderDiscard).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			l.check(t, n, frames)
			if l.sizes[[2]int{384, 288}] != frames*n {
				t.Errorf("frame sizes %v, want all 384x288 (scaled in GStreamer)", l.sizes)
			}
			checkClean(t, g)
			checkNoSamples(t)
		})
	}
}

// makeClip encodes a synthetic clip with vidflow itself.
func makeClip(t *testing.T, dir, name, codec string, frames int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	err := vidflow.NewFlow(vidflow.NewPipeline("make-"+name)).
		Capture([]string{fmt.Sprintf("testsrc://?width=320&height=240&num-buffers=%d", frames)}).
		Encode(path, vidflow.Props{"codec": codec, "iframeinterval": 5}).Run(context.Background())
	if err != nil {
		t.Fatalf("encoding %s: %v", name, err)
	}
	return path
}

func TestBatchCaptureH264AndH265Clips(t *testing.T) {
	dir := t.TempDir()
	clips := []string{
		makeClip(t, dir, "a.mp4", "h264", 40), makeClip(t, dir, "b.mkv", "h265", 40),
		makeClip(t, dir, "c.mp4", "h265", 40), makeClip(t, dir, "d.mkv", "h264", 40),
	}
	g := runtime.NumGoroutine()
	l := newStreamLog()
	err := vidflow.NewFlow(vidflow.NewPipeline("clips")).BatchCapture(clips).Attach(l.probe).
		Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.check(t, 4, 40)
	if l.sizes[[2]int{320, 240}] != 160 {
		t.Errorf("sizes %v, want 160 frames of 320x240", l.sizes)
	}
	checkClean(t, g)
	checkNoSamples(t)
}

func TestCaptureStillImage(t *testing.T) {
	img := mediaFile(t, "media/images/dog.jpg")
	l := newStreamLog()
	err := vidflow.NewFlow(vidflow.NewPipeline("img")).Capture([]string{"file://" + img}).Attach(l.probe).
		Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.frames[0]) != 1 || l.sizes[[2]int{768, 576}] != 1 {
		t.Errorf("image gave frames %v sizes %v, want one 768x576 frame", l.frames, l.sizes)
	}
}

func TestFileLoop(t *testing.T) {
	clip := makeClip(t, t.TempDir(), "loop.mp4", "h264", 15)
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("loop")
	l := newStreamLog()
	n := 0
	stopAt := make(chan struct{})
	r := retrieverFunc(func(b *media.Buffer) error {
		l.probe(b.Meta())
		if n++; n == 50 {
			close(stopAt)
		}
		return nil
	})
	vidflow.NewFlow(p).Capture([]string{clip}, vidflow.Props{"file-loop": true}).Retrieve(r)
	launched := gst.Launched()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopAt:
	case <-time.After(60 * time.Second):
		t.Fatal("file-loop did not deliver 50 frames")
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	l.check(t, 1, len(l.frames[0]))
	if len(l.frames[0]) < 50 {
		t.Errorf("%d frames, want at least 50 from a 15-frame clip looping", len(l.frames[0]))
	}
	// Looping seeks back in the same pipeline (a new one per loop costs a
	// decoder and its surface pool each time).
	if n := gst.Launched() - launched; n != 1 {
		t.Errorf("%d GStreamer pipelines launched for one looping file, want 1", n)
	}
	checkClean(t, g)
	checkNoSamples(t)
}

func TestEncodeAndReadBack(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"out.mp4", "out.mkv"} {
		clip := makeClip(t, dir, name, "h264", 25)
		info, err := vidflow.Discover(clip)
		if err != nil || info.Frames() != 25 || info.Video[0].Width != 320 || info.Video[0].Height != 240 {
			t.Errorf("%s: Discover says %v frames, %+v (%v); want 25 of 320x240", name, info.Frames(), info, err)
		}
		l := newStreamLog()
		err = vidflow.NewFlow(vidflow.NewPipeline("back")).Capture([]string{clip}).Attach(l.probe).
			Render(vidflow.RenderDiscard).Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(l.frames[0]) != 25 || l.sizes[[2]int{320, 240}] != 25 {
			t.Errorf("%s read back: %d frames, sizes %v; want 25 of 320x240", name, len(l.frames[0]), l.sizes)
		}
	}
	// An image sequence.
	err := vidflow.NewFlow(vidflow.NewPipeline("jpg")).Capture([]string{"testsrc://?num-buffers=3"}).
		Encode(filepath.Join(dir, "frame.jpg")).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("frame%05d.jpg", i))); err != nil {
			t.Error(err)
		}
	}
}

func TestCaptureAndEncodeErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.mp4")
	os.WriteFile(corrupt, []byte(strings.Repeat("not a video ", 1000)), 0o644)
	cases := []struct {
		name string
		run  func() error
		want []string
	}{
		{"corrupt file", func() error {
			return vidflow.NewFlow(vidflow.NewPipeline("x")).Capture([]string{corrupt}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{`element "capture-src-0" (nvurisrcbin)`, corrupt}},
		{"missing file", func() error {
			return vidflow.NewFlow(vidflow.NewPipeline("x")).BatchCapture([]string{"/nope.mp4"}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{`BatchCapture: file "/nope.mp4" doesn't exist`}},
		{"unknown scheme", func() error {
			return vidflow.NewFlow(vidflow.NewPipeline("x")).Capture([]string{"gopher://x"}).Run(context.Background())
		}, []string{`unsupported scheme "gopher"`}},
		{"encode extension", func() error {
			return vidflow.NewFlow(vidflow.NewPipeline("x")).Capture([]string{"testsrc://"}).Encode("out.avi").Run(context.Background())
		}, []string{`Encode: destination "out.avi": unknown extension ".avi"`}},
		{"encode remote host", func() error {
			return vidflow.NewFlow(vidflow.NewPipeline("x")).Capture([]string{"testsrc://"}).Encode("udp://10.1.2.3:5000").Run(context.Background())
		}, []string{`host "10.1.2.3" is not local`}},
		{"encode codec", func() error {
			return vidflow.NewFlow(vidflow.NewPipeline("x")).Capture([]string{"testsrc://"}).Encode("o.mp4", vidflow.Props{"codec": "vp9"}).Run(context.Background())
		}, []string{`codec "vp9": want h264 or h265`}},
		{"no display", func() error {
			t.Setenv("DISPLAY", "")
			t.Setenv("WAYLAND_DISPLAY", "")
			return vidflow.NewFlow(vidflow.NewPipeline("x")).Capture([]string{"testsrc://"}).Render().Run(context.Background())
		}, []string{"Render(RenderDisplay): no display (DISPLAY is not set)"}},
		{"bad source property", func() error {
			return vidflow.NewFlow(vidflow.NewPipeline("x")).BatchCapture([]string{corrupt}, vidflow.Props{"latency": "soon"}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{`(nvurisrcbin): property "latency": want integer`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := runtime.NumGoroutine()
			err := c.run()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			checkClean(t, g)
			checkNoSamples(t)
		})
	}
}

func TestSourceListYAML(t *testing.T) {
	dir := t.TempDir()
	a := makeClip(t, dir, "a.mp4", "h264", 10)
	list := filepath.Join(dir, "sources.yml")
	os.WriteFile(list, []byte(fmt.Sprintf(`source-list:
- uri: "file://%s"
  sensor-id: cam-1
  sensor-name: Front door
- uri: "%s"
  sensor-id: cam-2
  sensor-name: Back door
source-config:
  source-bin: "nvurisrcbin"
  properties:
    batched-push-timeout: 40000
    width: 160
    height: 120
    file-loop: false
`, a, a)), 0o644)
	sensors := map[string]string{}
	l := newStreamLog()
	err := vidflow.NewFlow(vidflow.NewPipeline("yaml")).BatchCapture([]string{list}).Attach(func(m *media.BatchMeta) {
		l.probe(m)
		for _, f := range m.Frames {
			sensors[f.SensorID] = f.SensorName
		}
	}).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.check(t, 2, 10)
	if sensors["cam-1"] != "Front door" || sensors["cam-2"] != "Back door" || l.sizes[[2]int{160, 120}] != 20 {
		t.Errorf("sensors %v sizes %v", sensors, l.sizes)
	}
	os.WriteFile(list, []byte("source-list:\n- url: x\n"), 0o644)
	err = vidflow.NewFlow(vidflow.NewPipeline("yaml")).BatchCapture([]string{list}).Err()
	if err == nil || !strings.Contains(err.Error(), "field url not found") {
		t.Errorf("bad source list: %v", err)
	}
}

// rssMB is the process's resident memory.
func rssMB(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	var size, rss int64
	fmt.Sscan(string(b), &size, &rss)
	return float64(rss*int64(os.Getpagesize())) / (1 << 20)
}

// A long run of a looping file keeps memory flat: no GStreamer buffer or
// frame leaks, run after run of the decoder.
func TestFileLoopLongRunFlatMemory(t *testing.T) {
	clip := makeClip(t, t.TempDir(), "long.mp4", "h264", 60)
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("long")
	var mu sync.Mutex
	n := 0
	var early, late float64
	var maxSamples int64
	done := make(chan struct{})
	r := retrieverFunc(func(b *media.Buffer) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		maxSamples = max(maxSamples, gst.LiveSamples())
		switch n {
		case 600:
			runtime.GC()
			early = rssMB(t)
		case 4000:
			runtime.GC()
			late = rssMB(t)
			close(done)
		}
		return nil
	})
	vidflow.NewFlow(p).Capture([]string{clip}, vidflow.Props{"file-loop": true}).Retrieve(r)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("only %d frames in 3 minutes", n)
	}
	p.Stop()
	t.Logf("RSS %.1f MB after 600 frames, %.1f MB after 4000; at most %d samples alive", early, late, maxSamples)
	if late-early > 15 {
		t.Errorf("memory grew by %.1f MB over 3400 frames", late-early)
	}
	if maxSamples > 16 {
		t.Errorf("%d GStreamer samples alive at once: queues are not bounded", maxSamples)
	}
	checkClean(t, g)
	checkNoSamples(t)
}

func TestCaptureHTTPAndAVI(t *testing.T) {
	dir := filepath.Dir(mediaFile(t, "media/vtest.mp4"))
	avi := mediaFile(t, "media/vtest.avi")
	info, err := vidflow.Discover(avi)
	if err != nil {
		t.Fatal(err)
	}
	l := newStreamLog()
	err = vidflow.NewFlow(vidflow.NewPipeline("avi")).BatchCapture([]string{avi}, vidflow.Width(192), vidflow.Height(144)).
		Attach(l.probe).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.check(t, 1, int(info.Frames()))

	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	l = newStreamLog()
	err = vidflow.NewFlow(vidflow.NewPipeline("http")).BatchCapture([]string{srv.URL + "/vtest.mp4"}, vidflow.Width(192), vidflow.Height(144)).
		Attach(l.probe).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.check(t, 1, 795)
	err = vidflow.NewFlow(vidflow.NewPipeline("http")).Capture([]string{srv.URL + "/missing.mp4"}).Render(vidflow.RenderDiscard).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "missing.mp4") {
		t.Errorf("missing HTTP resource: %v", err)
	}
}

func TestEncodeUDPAndGstElements(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	// A receiver built from the gstsrc kind: RTP/H.264 from UDP.
	recv := vidflow.NewPipeline("udp-recv")
	got := make(chan struct{}, 100)
	recv.Add("gstsrc", "udp", vidflow.Props{"description": fmt.Sprintf(
		`udpsrc port=%d caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" ! rtph264depay ! h264parse ! avdec_h264`, port)}).
		Add("appsink", "out", nil).Link("udp", "out").
		Attach("out", retrieverFunc(func(*media.Buffer) error {
			select {
			case got <- struct{}{}:
			default:
			}
			return nil
		}), "")
	if err := recv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer recv.Stop()
	send := vidflow.NewPipeline("udp-send")
	vidflow.NewFlow(send).Capture([]string{"testsrc://?is-live=true&num-buffers=-1&width=320&height=240"}).
		Encode(fmt.Sprintf("udp://127.0.0.1:%d", port), vidflow.Props{"iframeinterval": 5})
	if err := send.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer send.Stop()
	for i := 0; i < 20; i++ {
		select {
		case <-got:
		case <-time.After(20 * time.Second):
			t.Fatalf("%d frames came back over UDP", i)
		}
	}
	// gstsink: any GStreamer description fed frames.
	err = vidflow.NewPipeline("gstsink").Add("testsrc", "src", vidflow.Props{"num-buffers": 10}).
		Add("gstsink", "sink", vidflow.Props{"description": "videoconvert ! fakesink"}).Link("src", "sink").Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = vidflow.NewPipeline("bad").Add("gstsrc", "src", vidflow.Props{"description": "nosuchelement"}).
		Add("fakesink", "sink", nil).Link("src", "sink").Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `no element "nosuchelement"`) {
		t.Errorf("bad gstsrc description: %v", err)
	}
}

// Batcher options of BatchCapture reach the batcher: format among them.
func TestBatchCaptureFormatGoesToBatcher(t *testing.T) {
	var got media.ColorFormat
	r := retrieverFunc(func(b *media.Buffer) error {
		s, err := b.Surface(0)
		if err != nil {
			return err
		}
		got = s.Format
		return nil
	})
	err := vidflow.NewFlow(vidflow.NewPipeline("fmt")).BatchCapture([]string{"testsrc://?num-buffers=2"},
		vidflow.Props{"format": "RGBA"}).Retrieve(r).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != media.RGBA {
		t.Errorf("batch frames are %v, want RGBA", got)
	}
}
