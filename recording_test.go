package vidflow_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// gopClip writes an H.264 MP4 of frames frames at 30 fps with a key
// frame every 15 (real GStreamer: x264enc, mp4mux), into the test's folder.
func gopClip(t *testing.T, frames int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("clip%d.mp4", frames))
	desc := fmt.Sprintf("videotestsrc num-buffers=%d pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "+
		"x264enc key-int-max=15 speed-preset=ultrafast ! h264parse ! mp4mux ! filesink location=%s", frames, path)
	out, err := exec.Command("gst-launch-1.0", append([]string{"-q"}, strings.Fields(desc)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("making the clip: %v\n%s", err, out)
	}
	return path
}

// firstSampleKey reports whether the file's first video sample is a key
// frame, reading it back through qtdemux or matroskademux.
func firstSampleKey(t *testing.T, path string) bool {
	t.Helper()
	pl, err := gst.Launch(fmt.Sprintf("filesrc location=%q ! parsebin ! appsink name=s sync=false", path))
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	sink, err := pl.AppSink("s")
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.Play(); err != nil {
		t.Fatal(err)
	}
	smp, err := sink.Pull(10 * time.Second)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer smp.Release()
	return smp.KeyFrame()
}

type recordCase struct {
	container       int
	ext             string
	back, dur       time.Duration
	trigger         int64 // frame number at which the probe asks
	at              bool  // StartRecordingAt the frame (else StartRecording: now, the source's last frame)
	wantMin, wantMx time.Duration
}

func TestSmartRecordingFromATrigger(t *testing.T) {
	clip := gopClip(t, 240) // 8 s
	for _, c := range []recordCase{
		{container: 0, ext: ".mp4", back: 2 * time.Second, dur: 2 * time.Second, trigger: 128, at: true}, // from 2.27 s: the key frame at 2 s
		{container: 1, ext: ".mkv", back: time.Second, dur: time.Second, trigger: 90},
	} {
		t.Run(c.ext, func(t *testing.T) {
			dir := t.TempDir()
			p := vidflow.NewPipeline("sr")
			var mu sync.Mutex
			var infos []vidflow.RecordingInfo
			var startErr error
			asked := false
			probe := func(m *media.BatchMeta) {
				for _, f := range m.Frames {
					if f.FrameNumber == c.trigger && !asked {
						asked = true
						done := func(i vidflow.RecordingInfo) {
							mu.Lock()
							infos = append(infos, i)
							mu.Unlock()
						}
						if c.at {
							_, startErr = p.StartRecordingAt("batch_capture-src-0", f.PTS, c.back, c.dur, done)
						} else {
							_, startErr = p.StartRecording("batch_capture-src-0", c.back, c.dur, done)
						}
					}
				}
			}
			err := vidflow.NewFlow(p).
				BatchCapture([]string{clip}, vidflow.RecordConfig{Dir: dir, Prefix: "sr", Cache: 5 * time.Second, Container: c.container}).
				Attach(probe).Render(vidflow.RenderDiscard).Run(context.Background())
			if err != nil || startErr != nil {
				t.Fatal(err, startErr)
			}
			if len(infos) != 1 {
				t.Fatalf("got %d recordings, want 1", len(infos))
			}
			in := infos[0]
			if in.Err != nil || in.Container != c.ext[1:] || in.Width != 320 || in.Height != 240 || !in.ContainsVideo {
				t.Fatalf("recording info %+v", in)
			}
			file := filepath.Join(in.Directory, in.FileName)
			if filepath.Ext(file) != c.ext || !strings.HasPrefix(in.FileName, "sr_batch_capture-src-0_") {
				t.Errorf("file %s", file)
			}
			// It covers back before the trigger to dur after it, starting on
			// the key frame before (at most half a second more: the GOP).
			want := c.back + c.dur
			if in.Duration < want-time.Millisecond || in.Duration > want+600*time.Millisecond {
				t.Errorf("recording covers %v, want %v..%v", in.Duration, want, want+600*time.Millisecond)
			}
			// At the frame: from the key frame before it. Now: the source
			// may be a few frames ahead of the probe.
			trig, ahead := time.Duration(c.trigger)*time.Second/30, time.Duration(0)
			if !c.at {
				ahead = time.Second
			}
			if in.Start > trig-c.back+ahead || in.Start < trig-c.back-600*time.Millisecond {
				t.Errorf("recording starts at %v, want just before %v", in.Start, trig-c.back)
			}
			mi, err := vidflow.Discover(file)
			if err != nil {
				t.Fatal(err)
			}
			if d := mi.Duration; d < want-100*time.Millisecond || d > want+700*time.Millisecond {
				t.Errorf("the file plays %v, want about %v", d, want)
			}
			if len(mi.Video) != 1 || mi.Video[0].Width != 320 || !strings.Contains(mi.Video[0].Caps, "h264") {
				t.Errorf("streams %+v", mi.Video)
			}
			if !firstSampleKey(t, file) {
				t.Error("the recording does not start on a key frame")
			}
		})
	}
	if n := gst.LiveSamples(); n != 0 {
		t.Errorf("%d GStreamer samples not released", n)
	}
}

func TestSmartRecordingBadInput(t *testing.T) {
	clip := gopClip(t, 60)
	// A synthetic stream has no compressed video; an ordinary source
	// without smart-record keeps none.
	p := vidflow.NewPipeline("sr-bad")
	var errs []error
	probe := func(m *media.BatchMeta) {
		if len(errs) == 0 {
			for _, s := range []string{"batch_capture-src-0", "batch_capture-src-1", "nosuch"} {
				_, err := p.StartRecording(s, 0, time.Second, nil)
				errs = append(errs, err)
			}
		}
	}
	err := vidflow.NewFlow(p).BatchCapture([]string{"testsrc://?num-buffers=20&width=64&height=48", clip}).
		Attach(probe).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 3 {
		t.Fatalf("errors %v", errs)
	}
	if !errors.Is(errs[0], vidflow.ErrNoRecorder) || !strings.Contains(errs[0].Error(), `"batch_capture-src-0" (testsrc)`) {
		t.Errorf("testsrc: %v", errs[0])
	}
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "smart-record is not set") || !strings.Contains(errs[1].Error(), "batch_capture-src-1") {
		t.Errorf("no smart-record: %v", errs[1])
	}
	if errs[2] == nil || !strings.Contains(errs[2].Error(), `"nosuch"`) {
		t.Errorf("no such source: %v", errs[2])
	}
	// Before Start, and settings out of range.
	if _, err := vidflow.NewPipeline("x").StartRecording("a", 0, 0, nil); err == nil {
		t.Error("StartRecording before Start")
	}
	err = vidflow.NewFlow(vidflow.NewPipeline("y")).BatchCapture([]string{clip},
		vidflow.Props{"smart-record": 2, "smart-rec-dir-path": filepath.Join(t.TempDir(), "missing")}).Render(vidflow.RenderDiscard).Err()
	if err == nil || !strings.Contains(err.Error(), "smart-rec-dir-path") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := os.Stat(clip); err != nil {
		t.Fatal(err)
	}
}

// A camera (RTSP, served by a vidflow pipeline) records too: parsebin
// depayloads its RTP, and the file plays from a key frame.
func TestSmartRecordingRTSP(t *testing.T) {
	port := freeTCPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server, err := serveRTSP(ctx, port)
	if err != nil {
		t.Skip(err)
	}
	defer server.Stop()
	dir := t.TempDir()
	p := vidflow.NewPipeline("sr-rtsp")
	got := make(chan vidflow.RecordingInfo, 1)
	var once sync.Once
	var startErr error
	probe := func(m *media.BatchMeta) {
		for _, f := range m.Frames {
			if f.FrameNumber == 40 {
				once.Do(func() {
					_, startErr = p.StartRecording("batch_capture-src-0", time.Second, time.Second, func(i vidflow.RecordingInfo) { got <- i })
					if startErr != nil {
						got <- vidflow.RecordingInfo{Err: startErr}
					}
				})
			}
		}
	}
	err = vidflow.NewFlow(p).BatchCapture([]string{fmt.Sprintf("rtsp://127.0.0.1:%d/test", port)},
		vidflow.Props{"select-rtp-protocol": 4, "live-source": true}, vidflow.RecordConfig{Dir: dir, Cache: 3 * time.Second}).
		Attach(probe).Render(vidflow.RenderDiscard).Err()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var in vidflow.RecordingInfo
	select {
	case in = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no recording after 30 s")
	}
	p.Stop()
	if in.Err != nil {
		t.Fatal(in.Err)
	}
	file := filepath.Join(in.Directory, in.FileName)
	mi, err := vidflow.Discover(file)
	if err != nil {
		t.Fatal(err)
	}
	if mi.Duration < 1900*time.Millisecond || mi.Duration > 4*time.Second || !firstSampleKey(t, file) {
		t.Errorf("the RTSP recording plays %v (want 2 s and at most a GOP more), key frame first: %v", mi.Duration, firstSampleKey(t, file))
	}
}

// A still image and an injected stream have no compressed video to
// record: the errors name the stream and say why.
func TestSmartRecordingImageAndInjected(t *testing.T) {
	img := mediaFile(t, "media/images/dog.jpg")
	p := vidflow.NewPipeline("sr-image")
	var imgErr error
	err := vidflow.NewFlow(p).BatchCapture([]string{img}, vidflow.RecordConfig{Dir: t.TempDir()}).
		Attach(func(m *media.BatchMeta) {
			_, imgErr = p.StartRecording("batch_capture-src-0", 0, time.Second, nil)
		}).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if imgErr == nil || !strings.Contains(imgErr.Error(), "still image (jpeg)") || !strings.Contains(imgErr.Error(), "batch_capture-src-0") {
		t.Errorf("image: %v", imgErr)
	}
	q := vidflow.NewPipeline("sr-inject")
	var injErr error
	err = vidflow.NewFlow(q).Inject([]media.BufferProvider{&stampProvider{n: 3, w: 32, h: 24}}).
		Attach(func(m *media.BatchMeta) {
			_, injErr = q.StartRecording("inject-src-0", 0, time.Second, nil)
		}).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(injErr, vidflow.ErrNoRecorder) || !strings.Contains(injErr.Error(), `"inject-src-0" (appsrc)`) {
		t.Errorf("injected: %v", injErr)
	}
}
