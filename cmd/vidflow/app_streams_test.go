package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
	"github.com/vidflow/vidflow/internal/dsapp"
	"github.com/vidflow/vidflow/internal/elements/sources"
)

// test5Config is NVIDIA's deepstream-test5 config with two sources
// ([source0], [source1]), each with its own (commented) smart-record keys.
const test5Config = "../../internal/dsapp/testdata/test5_dec_infer-resnet_tracker_sgie_tiled_display.txt"

// sampleClip cuts the first frames of the sample video (no re-encode) into
// dir; the test is skipped where set-up has not fetched it.
func sampleClip(t *testing.T, dir string, frames int) string {
	t.Helper()
	video := cli.MediaPath("vtest.mp4")
	if _, err := os.Stat(video); err != nil {
		t.Skipf("%s missing: run scripts/setup.sh", video)
	}
	clip := filepath.Join(dir, "clip.mp4")
	out, err := exec.Command("gst-launch-1.0", "-q", "filesrc", "location="+video, "!", "qtdemux", "!", "h264parse", "!",
		"identity", "eos-after="+strconv.Itoa(frames+1), "!", "mp4mux", "!", "filesink", "location="+clip).CombinedOutput()
	if err != nil {
		t.Fatalf("cutting the clip: %v %s", err, out)
	}
	return clip
}

// test5Sets turn NVIDIA's config into one that runs here: its two RTSP
// cameras become the sample clip, the display a fake sink held to the
// clip's pace (sync=1: the recording events' ticker sees it play), the
// models and the broker off.
func test5Sets(clip string) []string {
	return []string{"source0.type=2", "source0.uri=file://" + clip, "source1.type=2", "source1.uri=file://" + clip,
		"primary-gie.enable=0", "tracker.enable=0", "secondary-gie0.enable=0", "secondary-gie1.enable=0",
		"tiled-display.enable=0", "osd.enable=0", "sink0.type=1", "sink0.sync=1", "sink1.enable=0"}
}

// Smart recording set in [source0] only (deepstream-app's local events,
// smart-record=2) records that stream only: its file appears, in its own
// folder with its own prefix; [source1], without smart-record, has no
// ring (StartRecording on it says so) and no file.
func TestAppSmartRecordOneSource(t *testing.T) {
	dir := t.TempDir()
	clip := sampleClip(t, dir, 40) // 4 s at the sample's 10 fps
	rec0, rec1 := filepath.Join(dir, "rec0"), filepath.Join(dir, "rec1")
	os.Mkdir(rec0, 0o755)
	os.Mkdir(rec1, 0o755)
	sets := append(test5Sets(clip), "source0.smart-record=2", "source0.smart-rec-dir-path="+rec0,
		"source0.smart-rec-file-prefix=cam0", "source0.smart-rec-interval=1", "source0.smart-rec-start-time=1",
		"source0.smart-rec-duration=1")
	a, err := dsapp.Load(test5Config, sets...)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Sources) != 2 || a.Sources[0].SmartRecord == nil || a.Sources[1].SmartRecord != nil {
		t.Fatalf("sources %+v: want two, local smart-record events on source0 only", a.Sources)
	}
	p := vidflow.NewPipeline("app-sr-one")
	if err := buildApp(p, a, newPerf(io.Discard, len(a.Sources))); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if _, err := p.StartRecording("batch_capture-src-1", 0, time.Second, nil); err == nil || !strings.Contains(err.Error(), "smart-record is not set") {
		t.Errorf("recording [source1], which has no smart-record: %v", err)
	}
	var out syncBuffer
	done := make(chan struct{})
	wait := recordEvents(p, a, &out, done)
	err = p.Wait()
	close(done)
	wait()
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "smart record [source0]: "+rec0+"/cam0_batch_capture-src-0_") {
		t.Fatalf("no recording of [source0] reported:\n%s", s)
	}
	files0, _ := filepath.Glob(filepath.Join(rec0, "*"))
	files1, _ := filepath.Glob(filepath.Join(rec1, "*"))
	if len(files0) == 0 || len(files1) != 0 {
		t.Fatalf("files %v in source0's folder, %v in an unused one", files0, files1)
	}
	for _, f := range files0 {
		if !strings.HasPrefix(filepath.Base(f), "cam0_batch_capture-src-0_") {
			t.Errorf("%s: not [source0]'s", f)
		}
		info, err := vidflow.Discover(f)
		if err != nil || len(info.Video) != 1 || info.Duration <= 0 {
			t.Errorf("%s: %+v, %v: want a file that plays", f, info, err)
		}
	}
}

// Each group's own smart-rec-* properties reach its own stream only:
// with both sources recording (smart-record=1, cloud events: none local),
// each into its folder, under its prefix and in its container, a
// recording asked of each lands there.
func TestAppSmartRecordPerSourceProps(t *testing.T) {
	dir := t.TempDir()
	clip := sampleClip(t, dir, 20)
	rec0, rec1 := filepath.Join(dir, "rec0"), filepath.Join(dir, "rec1")
	os.Mkdir(rec0, 0o755)
	os.Mkdir(rec1, 0o755)
	sets := append(test5Sets(clip),
		"source0.smart-record=1", "source0.smart-rec-dir-path="+rec0, "source0.smart-rec-file-prefix=cam0",
		"source1.smart-record=1", "source1.smart-rec-dir-path="+rec1, "source1.smart-rec-file-prefix=cam1", "source1.smart-rec-container=1")
	a, err := dsapp.Load(test5Config, sets...)
	if err != nil {
		t.Fatal(err)
	}
	p := vidflow.NewPipeline("app-sr-each")
	if err := buildApp(p, a, newPerf(io.Discard, len(a.Sources))); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	infos := make(chan vidflow.RecordingInfo, 2)
	for i := range 2 {
		name := "batch_capture-src-" + strconv.Itoa(i)
		for {
			_, err := p.StartRecording(name, 0, 500*time.Millisecond, func(ri vidflow.RecordingInfo) { infos <- ri })
			if err == nil {
				break
			}
			if !errors.Is(err, sources.ErrNotReady) {
				t.Fatalf("%s: %v", name, err)
			}
			time.Sleep(20 * time.Millisecond) // before its first frame: ask again
		}
	}
	got := map[string]vidflow.RecordingInfo{}
	for range 2 {
		ri := <-infos
		got[ri.Source] = ri
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ src, dir, prefix, container string }{
		{"batch_capture-src-0", rec0, "cam0_", "mp4"}, {"batch_capture-src-1", rec1, "cam1_", "mkv"}} {
		ri := got[w.src]
		if ri.Err != nil || ri.Directory != w.dir || !strings.HasPrefix(ri.FileName, w.prefix+w.src) || ri.Container != w.container {
			t.Errorf("%s recorded %+v: want %s/%s...%s", w.src, ri, w.dir, w.prefix, w.container)
		}
	}
}
