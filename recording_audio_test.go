package vidflow_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// avClip writes an MP4 of 3 s of video (H.264, 30 fps, a key frame every
// 15) and stereo AAC audio at 48 kHz, made by GStreamer's test sources.
func avClip(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "av.mp4")
	desc := "videotestsrc num-buffers=90 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! " +
		"x264enc key-int-max=15 speed-preset=ultrafast ! h264parse ! mp4mux name=m ! filesink location=" + path + " " +
		"audiotestsrc num-buffers=141 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=2 ! avenc_aac ! aacparse ! m."
	out, err := exec.Command("gst-launch-1.0", append([]string{"-q", "-e"}, strings.Fields(desc)...)...).CombinedOutput()
	if err != nil {
		t.Skipf("no AAC clip (needs GStreamer's avenc_aac): %v\n%s", err, out)
	}
	return path
}

// smart-rec-mode: from a clip with audio, mode 0 records both tracks, 1
// the video, 2 the audio; mode 2 on a stream without audio is an error
// naming it. Each file covers the asked second before and after.
func TestSmartRecordingAudio(t *testing.T) {
	av, video := avClip(t), gopClip(t, 90)
	dir := t.TempDir()
	streams := []vidflow.StreamSpec{
		{URI: av, SensorID: "av", Props: vidflow.RecordConfig{Dir: dir, Prefix: "av"}.Props()},
		{URI: av, SensorID: "video", Props: vidflow.RecordConfig{Dir: dir, Prefix: "video", Mode: vidflow.RecordVideo}.Props()},
		{URI: av, SensorID: "audio", Props: vidflow.RecordConfig{Dir: dir, Prefix: "audio", Mode: vidflow.RecordAudio, Container: 1}.Props()},
		{URI: video, SensorID: "silent", Props: vidflow.RecordConfig{Dir: dir, Prefix: "silent", Mode: vidflow.RecordAudio}.Props()},
	}
	p := vidflow.NewPipeline("sr-audio")
	var mu sync.Mutex
	infos := map[string]vidflow.RecordingInfo{}
	errs := map[string]error{}
	probe := func(m *media.BatchMeta) {
		for _, f := range m.Frames {
			if f.FrameNumber != 45 { // 1.5 s
				continue
			}
			_, err := p.StartRecordingAt(f.SensorID, f.PTS, time.Second, time.Second, func(i vidflow.RecordingInfo) {
				mu.Lock()
				infos[f.SensorID] = i
				mu.Unlock()
			})
			mu.Lock()
			errs[f.SensorID] = err
			mu.Unlock()
		}
	}
	if err := vidflow.NewFlow(p).BatchCaptureStreams(streams).Attach(probe).Render(vidflow.RenderDiscard).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := errs["silent"]; err == nil || !strings.Contains(err.Error(), "no audio track") || !strings.Contains(err.Error(), "batch_capture-src-3") ||
		errors.Is(err, vidflow.ErrNoRecorder) {
		t.Errorf("audio only of a stream without audio: %v", err)
	}
	for _, c := range []struct {
		sensor       string
		video, audio int
	}{{"av", 1, 1}, {"video", 1, 0}, {"audio", 0, 1}} {
		in, ok := infos[c.sensor]
		if errs[c.sensor] != nil || !ok || in.Err != nil {
			t.Errorf("%s: %v %+v", c.sensor, errs[c.sensor], in)
			continue
		}
		if in.ContainsVideo != (c.video == 1) || in.ContainsAudio != (c.audio == 1) || (c.audio == 1 && (in.Channels != 2 || in.SampleRate != 48000)) {
			t.Errorf("%s: recording info %+v", c.sensor, in)
		}
		file := filepath.Join(in.Directory, in.FileName)
		mi, err := vidflow.Discover(file)
		if err != nil {
			t.Errorf("%s: %v", c.sensor, err)
			continue
		}
		if len(mi.Video) != c.video || len(mi.Audio) != c.audio {
			t.Errorf("%s: %d video and %d audio streams, want %d and %d", c.sensor, len(mi.Video), len(mi.Audio), c.video, c.audio)
		}
		// 2 s asked; from the key frame before it for video (GOP 0.5 s).
		if mi.Duration < 1900*time.Millisecond || mi.Duration > 2600*time.Millisecond {
			t.Errorf("%s: the file plays %v, want the 2 s asked", c.sensor, mi.Duration)
		}
	}
}
