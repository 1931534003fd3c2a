package gst

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// launch builds a pipeline or fails the test; the pipeline is closed at the
// end of the test.
func launch(tb testing.TB, desc string) *Pipeline {
	tb.Helper()
	p, err := Launch(desc)
	if err != nil {
		tb.Fatalf("Launch: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

func sink(tb testing.TB, p *Pipeline, name string) *AppSink {
	tb.Helper()
	s, err := p.AppSink(name)
	if err != nil {
		tb.Fatalf("AppSink(%q): %v", name, err)
	}
	return s
}

// checkLive fails the test if samples pulled during it were not released.
func checkLive(t *testing.T) {
	before := LiveSamples()
	t.Cleanup(func() {
		if n := LiveSamples() - before; n != 0 {
			t.Errorf("%d samples not released", n)
		}
	})
}

// mediaFile returns the path of a file made by scripts/setup-media.sh, or
// skips the test.
func mediaFile(tb testing.TB, name string) string {
	tb.Helper()
	cache := os.Getenv("VIDFLOW_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			tb.Skipf("no $VIDFLOW_CACHE and no home directory: %v", err)
		}
		cache = filepath.Join(home, ".cache", "vidflow")
	}
	path := filepath.Join(cache, "media", name)
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("%s not available (run scripts/setup-media.sh): %v", path, err)
	}
	return path
}

func fileURI(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }

func TestVersion(t *testing.T) {
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	if err := Init(); err != nil { // idempotent
		t.Fatal(err)
	}
	if v := Version(); !strings.HasPrefix(v, "1.") {
		t.Fatalf("Version() = %q", v)
	}
}

// pullAll pulls samples until io.EOF and returns them unreleased.
func pullAll(t *testing.T, s *AppSink) []*Sample {
	t.Helper()
	var out []*Sample
	for {
		smp, err := s.Pull(10 * time.Second)
		if err == io.EOF {
			return out
		}
		if err != nil {
			for _, x := range out {
				x.Release()
			}
			t.Fatalf("Pull after %d samples: %v", len(out), err)
		}
		out = append(out, smp)
	}
}

func TestPullRGB(t *testing.T) {
	checkLive(t)
	p := launch(t, "videotestsrc num-buffers=30 pattern=ball ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! appsink name=sink sync=false")
	s := sink(t, p, "sink")
	if err := p.Play(); err != nil {
		t.Fatal(err)
	}
	// Hold every sample until the end: views stay valid while later samples
	// are pulled.
	samples := pullAll(t, s)
	if len(samples) != 30 {
		t.Fatalf("got %d samples, want 30", len(samples))
	}
	if got := LiveSamples(); got < 30 {
		t.Errorf("LiveSamples() = %d while holding 30", got)
	}
	prev := time.Duration(-1)
	for i, smp := range samples {
		if len(smp.Data) != 64*48*3 || smp.Width != 64 || smp.Height != 48 || smp.Format != "RGB" ||
			smp.Planes != 1 || smp.Strides[0] != 64*3 || smp.Offsets[0] != 0 {
			t.Fatalf("sample %d: len %d %dx%d %s planes %d strides %v offsets %v", i, len(smp.Data),
				smp.Width, smp.Height, smp.Format, smp.Planes, smp.Strides, smp.Offsets)
		}
		if smp.PTS <= prev {
			t.Errorf("sample %d: PTS %v not after %v", i, smp.PTS, prev)
		}
		if smp.Duration <= 0 {
			t.Errorf("sample %d: duration %v", i, smp.Duration)
		}
		prev = smp.PTS
	}
	if bytes.Equal(samples[0].Data, samples[15].Data) {
		t.Error("frames 0 and 15 of pattern=ball are identical: views were overwritten?")
	}
	for _, smp := range samples {
		smp.Release()
		smp.Release() // idempotent
		if smp.Data != nil {
			t.Fatal("Data not cleared by Release")
		}
	}
	if _, err := s.Pull(time.Second); err != io.EOF {
		t.Fatalf("Pull after EOS: %v, want io.EOF", err)
	}
	// The bus saw the pipeline reach PLAYING, a stream start and EOS.
	var playing, start, eos bool
	for !eos {
		m, ok := p.PopMessage(5 * time.Second)
		if !ok {
			t.Fatalf("no EOS on the bus (playing=%v stream-start=%v)", playing, start)
		}
		switch m.Type {
		case MessageStateChanged:
			playing = playing || (m.Source == p.Name() && m.NewState == StatePlaying)
		case MessageStreamStart:
			start = true
		case MessageEOS:
			eos = true
		case MessageError:
			t.Fatal(m.Err())
		}
	}
	if !playing || !start {
		t.Errorf("bus: playing=%v stream-start=%v", playing, start)
	}
}

func TestPullI420(t *testing.T) {
	for _, c := range []struct {
		w, h    int
		strides [4]int
		offsets [4]int
		size    int
	}{
		{64, 48, [4]int{64, 32, 32}, [4]int{0, 64 * 48, 64*48 + 32*24}, 64*48 + 2*32*24},
		// Odd sizes: rows are padded to 4 bytes, chroma rounds up.
		// GStreamer rounds the luma height up to even for the chroma offset.
		{62, 45, [4]int{64, 32, 32}, [4]int{0, 64 * 46, 64*46 + 32*23}, 64*46 + 2*32*23},
	} {
		t.Run(fmt.Sprintf("%dx%d", c.w, c.h), func(t *testing.T) {
			checkLive(t)
			p := launch(t, fmt.Sprintf("videotestsrc num-buffers=5 ! video/x-raw,format=I420,width=%d,height=%d ! appsink name=sink sync=false", c.w, c.h))
			s := sink(t, p, "sink")
			if err := p.Play(); err != nil {
				t.Fatal(err)
			}
			n := 0
			for ; ; n++ {
				smp, err := s.Pull(10 * time.Second)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if smp.Format != "I420" || smp.Width != c.w || smp.Height != c.h || smp.Planes != 3 ||
					smp.Strides != c.strides || smp.Offsets != c.offsets || len(smp.Data) != c.size {
					t.Errorf("sample %d: %s %dx%d planes %d strides %v offsets %v len %d; want strides %v offsets %v len %d",
						n, smp.Format, smp.Width, smp.Height, smp.Planes, smp.Strides, smp.Offsets, len(smp.Data),
						c.strides, c.offsets, c.size)
				}
				smp.Release()
			}
			if n != 5 {
				t.Errorf("got %d samples, want 5", n)
			}
		})
	}
}

func TestAppSrcRoundTrip(t *testing.T) {
	checkLive(t)
	const w, h, frames = 8, 4, 10
	p := launch(t, "appsrc name=src ! queue max-size-buffers=2 ! appsink name=sink sync=false")
	src, err := p.AppSrc("src")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.SetCaps(fmt.Sprintf("video/x-raw,format=RGB,width=%d,height=%d,framerate=10/1", w, h)); err != nil {
		t.Fatal(err)
	}
	s := sink(t, p, "sink")
	if err := p.Play(); err != nil {
		t.Fatal(err)
	}
	frame := func(i int) []byte {
		b := make([]byte, w*h*3)
		for j := range b {
			b[j] = byte(i*31 + j)
		}
		return b
	}
	pushErr := make(chan error, 1)
	go func() {
		for i := range frames {
			buf := frame(i)
			if err := src.Push(buf, time.Duration(i)*100*time.Millisecond, 100*time.Millisecond); err != nil {
				pushErr <- err
				return
			}
			clear(buf) // the pipeline holds its own copy
		}
		pushErr <- src.EndOfStream()
	}()
	for i := range frames {
		smp, err := s.Pull(10 * time.Second)
		if err != nil {
			t.Fatalf("Pull %d: %v", i, err)
		}
		if !bytes.Equal(smp.Data, frame(i)) || smp.PTS != time.Duration(i)*100*time.Millisecond ||
			smp.Duration != 100*time.Millisecond || smp.Format != "RGB" || smp.Width != w {
			t.Errorf("frame %d: pts %v dur %v %s %dx%d data %v", i, smp.PTS, smp.Duration, smp.Format,
				smp.Width, smp.Height, smp.Data[:6])
		}
		smp.Release()
	}
	if _, err := s.Pull(10 * time.Second); err != io.EOF {
		t.Fatalf("Pull after EndOfStream: %v, want io.EOF", err)
	}
	if err := <-pushErr; err != nil {
		t.Fatal(err)
	}
	if err := src.Push(frame(0), 0, NoTime); err == nil || !strings.Contains(err.Error(), "end of stream") {
		t.Errorf("Push after EndOfStream: %v", err)
	}
}

func TestAppSrcStoppedAndClosed(t *testing.T) {
	p := launch(t, "appsrc name=src ! fakesink")
	src, err := p.AppSrc("src")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Push([]byte{1, 2, 3}, 0, NoTime); !errors.Is(err, ErrFlushing) || !strings.Contains(err.Error(), `"src"`) {
		t.Errorf("Push on a stopped pipeline: %v, want ErrFlushing naming the appsrc", err)
	}
	if err := src.Push(nil, 0, NoTime); err == nil {
		t.Error("Push(nil) succeeded")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Push([]byte{1}, 0, NoTime); err != ErrClosed {
		t.Errorf("Push after Close: %v, want ErrClosed", err)
	}
}

func TestCloseUnblocksPull(t *testing.T) {
	checkLive(t)
	p := launch(t, "appsrc name=src caps=video/x-raw,format=GRAY8,width=4,height=4,framerate=1/1 ! appsink name=sink")
	s := sink(t, p, "sink")
	if err := p.Play(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(20 * time.Millisecond); err != ErrTimeout {
		t.Fatalf("Pull with nothing pushed: %v, want ErrTimeout", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Pull(-1)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil { // safe twice
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != ErrClosed && err != ErrFlushing {
			t.Errorf("blocked Pull returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Pull")
	}
	if _, err := s.Pull(0); err != ErrClosed {
		t.Errorf("Pull after Close: %v", err)
	}
	if err := p.Play(); err != ErrClosed {
		t.Errorf("Play after Close: %v", err)
	}
	if _, ok := p.PopMessage(0); ok {
		t.Error("PopMessage after Close returned a message")
	}
}

func TestCloseUnblocksPopMessage(t *testing.T) {
	p := launch(t, "videotestsrc ! fakesink") // never played: the bus stays empty
	done := make(chan bool, 1)
	go func() {
		_, ok := p.PopMessage(-1)
		done <- ok
	}()
	start := time.Now()
	if _, ok := p.PopMessage(50 * time.Millisecond); ok {
		t.Error("PopMessage on an idle bus returned a message")
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("PopMessage(50ms) took %v", d)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case ok := <-done:
		if ok {
			t.Error("blocked PopMessage returned a message after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock PopMessage")
	}
}

func TestStopAndReplay(t *testing.T) {
	checkLive(t)
	p := launch(t, "videotestsrc num-buffers=3 ! video/x-raw,format=GRAY8,width=8,height=8 ! appsink name=sink sync=false")
	s := sink(t, p, "sink")
	for round := range 2 {
		if err := p.Play(); err != nil {
			t.Fatal(err)
		}
		for _, smp := range pullAll(t, s) {
			if smp.Format != "GRAY8" || len(smp.Data) != 64 {
				t.Errorf("round %d: %s len %d", round, smp.Format, len(smp.Data))
			}
			smp.Release()
		}
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pull(10 * time.Millisecond); err != ErrFlushing {
			t.Errorf("Pull on a stopped pipeline: %v, want ErrFlushing", err)
		}
	}
}

func TestParseErrorNamesElement(t *testing.T) {
	_, err := Launch("videotestsrc ! nosuchelement42 ! fakesink")
	if err == nil || !strings.Contains(err.Error(), "nosuchelement42") {
		t.Fatalf("Launch with unknown element: %v", err)
	}
	_, err = Launch("videotestsrc bogus-property=1 ! fakesink")
	if err == nil || !strings.Contains(err.Error(), "bogus-property") {
		t.Fatalf("Launch with unknown property: %v", err)
	}
}

func TestMissingFileError(t *testing.T) {
	const missing = "/nonexistent/vidflow-missing.mp4"
	p := launch(t, "filesrc name=reader location="+missing+" ! fakesink")
	err := p.Play()
	if err == nil {
		t.Fatal("Play succeeded on a missing file")
	}
	if !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "reader") {
		t.Errorf("Play error does not name the file and element: %v", err)
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.Source != "reader" {
		t.Errorf("Play error is not a *gst.Error from \"reader\": %#v", err)
	}
	for {
		m, ok := p.PopMessage(2 * time.Second)
		if !ok {
			t.Fatal("no Error message on the bus")
		}
		if m.Type != MessageError {
			continue
		}
		if m.Source != "reader" || !strings.Contains(m.Text+m.Debug, missing) {
			t.Errorf("error message %+v does not name the element and file", m)
		}
		break
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Err() = %v", err)
	}
}

func TestSetProperty(t *testing.T) {
	checkLive(t)
	p := launch(t, "videotestsrc name=src ! identity name=id ! capsfilter name=cf ! appsink name=sink sync=false")
	errs := []struct {
		elem, prop string
		val        any
		want       []string
	}{
		{"src", "no-such-prop", 1, []string{`"src"`, `"no-such-prop"`}},
		{"nobody", "pattern", 1, []string{`"nobody"`}},
		{"src", "pattern", "no-such-pattern", []string{`"pattern"`, `"src"`, "no-such-pattern"}},
		{"src", "pattern", 999, []string{"out of range", `"pattern"`}},
		{"src", "num-buffers", -5, []string{"out of range", `"num-buffers"`}},
		{"src", "num-buffers", int64(1) << 40, []string{"out of range"}},
		{"src", "is-live", 3, []string{`"is-live"`, "gboolean"}},
		{"id", "drop-probability", 2.0, []string{"out of range", `"drop-probability"`}},
		{"sink", "max-buffers", -1, []string{"out of range", `"max-buffers"`}},
		{"src", "name", struct{}{}, []string{"unsupported Go type"}},
		{"cf", "caps", "video/x-raw,width=", []string{`"caps"`, `"cf"`}},
	}
	for _, e := range errs {
		err := p.SetProperty(e.elem, e.prop, e.val)
		if err == nil {
			t.Errorf("SetProperty(%q, %q, %v) succeeded", e.elem, e.prop, e.val)
			continue
		}
		for _, w := range e.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("SetProperty(%q, %q, %v) = %v; want it to mention %s", e.elem, e.prop, e.val, err, w)
			}
		}
	}
	// Valid settings, checked through their effect: 5 black 16x8 RGB frames.
	for _, e := range []struct {
		elem, prop string
		val        any
	}{
		{"src", "num-buffers", 5},
		{"src", "pattern", "snow"}, // enum by nick
		{"src", "pattern", 2},      // enum by number: black
		{"src", "is-live", false},
		{"src", "timestamp-offset", time.Duration(0)},
		{"id", "drop-probability", 0.0}, // float64 into a gfloat
		{"sink", "max-buffers", uint(2)},
		{"cf", "caps", "video/x-raw,format=RGB,width=16,height=8"}, // caps from string
	} {
		if err := p.SetProperty(e.elem, e.prop, e.val); err != nil {
			t.Errorf("SetProperty(%q, %q, %v): %v", e.elem, e.prop, e.val, err)
		}
	}
	if !p.HasElement("cf") || p.HasElement("nobody") {
		t.Error("HasElement")
	}
	s := sink(t, p, "sink")
	if err := p.Play(); err != nil {
		t.Fatal(err)
	}
	samples := pullAll(t, s)
	if len(samples) != 5 {
		t.Errorf("got %d samples, want 5", len(samples))
	}
	for i, smp := range samples {
		if len(smp.Data) != 16*8*3 || !bytes.Equal(smp.Data, make([]byte, 16*8*3)) {
			t.Errorf("sample %d: len %d, not black", i, len(smp.Data))
		}
		smp.Release()
	}
}

func TestAppSinkLookupErrors(t *testing.T) {
	p := launch(t, "videotestsrc name=src ! fakesink")
	if _, err := p.AppSink("src"); err == nil || !strings.Contains(err.Error(), `"src"`) || !strings.Contains(err.Error(), "not an appsink") {
		t.Errorf("AppSink on a videotestsrc: %v", err)
	}
	if _, err := p.AppSink("nobody"); err == nil || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("AppSink on a missing element: %v", err)
	}
	if _, err := p.AppSrc("src"); err == nil || !strings.Contains(err.Error(), "not an appsrc") {
		t.Errorf("AppSrc on a videotestsrc: %v", err)
	}
}

func TestDecodeVtest(t *testing.T) {
	checkLive(t)
	path := mediaFile(t, "vtest.mp4")
	p := launch(t, "uridecodebin uri="+fileURI(path)+
		" ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=320,height=240 ! appsink name=sink sync=false")
	s := sink(t, p, "sink")
	if err := p.Play(); err != nil {
		t.Fatal(err)
	}
	n := 0
	prev := time.Duration(-1)
	for {
		smp, err := s.Pull(10 * time.Second)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if len(smp.Data) != 320*240*3 || smp.Format != "RGB" || smp.Width != 320 || smp.Height != 240 {
			t.Fatalf("frame %d: %s %dx%d len %d", n, smp.Format, smp.Width, smp.Height, len(smp.Data))
		}
		if smp.PTS <= prev {
			t.Errorf("frame %d: PTS %v not after %v", n, smp.PTS, prev)
		}
		prev = smp.PTS
		smp.Release()
		n++
	}
	if n != 795 {
		t.Errorf("decoded %d frames of %s, want 795", n, path)
	}
	if err := p.Err(); err != nil {
		t.Error(err)
	}
}

func BenchmarkPullRGB320x240(b *testing.B) {
	p := launch(b, "videotestsrc ! video/x-raw,format=RGB,width=320,height=240 ! appsink name=sink sync=false")
	s := sink(b, p, "sink")
	if err := p.Play(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		smp, err := s.Pull(10 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		smp.Release()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkDecode decodes the sample files to raw frames at native size
// (make them with scripts/setup-media.sh).
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ file, format string }{
		{"vtest.mp4", "RGB"}, {"vtest-720p.mp4", "RGB"}, {"vtest-720p.mp4", "I420"}, {"vtest-1080p.mp4", "RGB"},
	} {
		b.Run(strings.TrimSuffix(c.file, ".mp4")+"-"+c.format, func(b *testing.B) {
			path := mediaFile(b, c.file)
			frames := 0
			for b.Loop() {
				p := launch(b, "uridecodebin uri="+fileURI(path)+" ! videoconvert ! video/x-raw,format="+
					c.format+" ! appsink name=sink sync=false")
				s := sink(b, p, "sink")
				if err := p.Play(); err != nil {
					b.Fatal(err)
				}
				for {
					smp, err := s.Pull(10 * time.Second)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					smp.Release()
					frames++
				}
				_ = p.Close()
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func TestBusIsBounded(t *testing.T) {
	checkLive(t)
	// level posts one Element message per buffer: 3000 messages nobody pops
	// while streaming.
	p := launch(t, "audiotestsrc num-buffers=3000 samplesperbuffer=64 ! level interval=1000 post-messages=true ! appsink name=sink sync=false")
	s := sink(t, p, "sink")
	if err := p.Play(); err != nil {
		t.Fatal(err)
	}
	for _, smp := range pullAll(t, s) {
		smp.Release()
	}
	n, level, eos := 0, 0, false
	for !eos {
		m, ok := p.PopMessage(5 * time.Second)
		if !ok {
			t.Fatalf("no EOS after %d messages", n)
		}
		n++
		if m.Type == MessageElement && strings.HasPrefix(m.Text, "level") {
			level++
		}
		eos = m.Type == MessageEOS
	}
	if n-1 > 1024 || level < 500 { // EOS may pass the bound
		t.Errorf("popped %d messages (%d from level), want at most 1024 + EOS and many level messages", n, level)
	}
}

func TestPullReturnsBusError(t *testing.T) {
	checkLive(t)
	junk := filepath.Join(t.TempDir(), "junk.mp4")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a video "), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	p := launch(t, "filesrc location="+junk+" ! decodebin name=dec ! appsink name=sink sync=false")
	s := sink(t, p, "sink")
	if err := p.Play(); err != nil {
		t.Logf("Play: %v", err) // may fail at once or later, from the streaming thread
	}
	start := time.Now()
	_, err := s.Pull(time.Minute)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Pull took %v to report the bus error", d)
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.Source == "" {
		t.Fatalf("Pull on undecodable input: %v, want the bus *Error", err)
	}
	t.Logf("Pull error: %v", err)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Err(); err != nil {
		t.Errorf("Err() after Stop = %v, want nil", err)
	}
}
