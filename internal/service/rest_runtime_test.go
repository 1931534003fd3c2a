package service

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// ptsLog records the gaps between the timestamps of stream 0's frames.
type ptsLog struct {
	mu   sync.Mutex
	last time.Duration
	gaps []time.Duration
}

func (l *ptsLog) probe(m *media.BatchMeta) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, fm := range m.Frames {
		if fm.SourceID != 0 {
			continue
		}
		if l.last != 0 || len(l.gaps) > 0 {
			l.gaps = append(l.gaps, fm.PTS-l.last)
		}
		l.last = fm.PTS
	}
}

// steady reports whether the last n gaps are all want (to a ms).
func (l *ptsLog) steady(n int, want time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.gaps) < n {
		return false
	}
	for _, g := range l.gaps[len(l.gaps)-n:] {
		if math.Abs(float64(g-want)) > float64(time.Millisecond) {
			return false
		}
	}
	return true
}

// The decoder's and converter's endpoints change the running stream:
// after dec/drop-frame-interval 2 the stream's frames are 2/30 s apart in
// its own time (half the frames per second of video), after 0 again 1/30;
// conv/* set GStreamer's videoflip, videocrop and videoscale of the stream,
// read back from them, and its dest-crop.
func TestRESTDecoderAndConverter(t *testing.T) {
	if smallClip == "" {
		t.Skip("no clip")
	}
	leakCheck(t)
	var pts ptsLog
	yml := fmt.Sprintf(`
sources:
  source-config: {properties: {file-loop: true}}
  source-list:
    - {uri: %q, sensor-id: clip, sensor-name: Clip}
max-batch-size: 2
width: 320
height: 240
live-view: {enable: false}
`, smallClip) + clipREST("")
	h := startService(t, yml, Options{Probe: pts.probe})
	frame := time.Second / 30
	waitFor(t, 10*time.Second, "frames 1/30 s apart", func() bool { return pts.steady(5, frame) })

	m := h.checkDS(t, dsCase{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"clip","drop_frame_interval":2}}`, 200, "DROP_FRAME_INTERVAL_UPDATE_SUCCESS", "", ""})
	if got := m["stream"].(map[string]any)["drop_frame_interval"]; got != 2.0 {
		t.Errorf("drop_frame_interval read back %v, want 2", got)
	}
	waitFor(t, 10*time.Second, "frames 2/30 s apart", func() bool { return pts.steady(8, 2*frame) })
	h.checkDS(t, dsCase{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"0","drop_frame_interval":0}}`, 200, "DROP_FRAME_INTERVAL_UPDATE_SUCCESS", "", ""})
	waitFor(t, 10*time.Second, "frames 1/30 s apart again", func() bool { return pts.steady(8, frame) })

	// The conversion, read back from GStreamer's elements.
	st, _ := h.svc.stream("clip")
	for _, c := range []struct {
		path, field, prop string
		value, back       any
	}{
		{"conv/flip-method", "flip_method", "flip-method", 3, 3.0},
		{"conv/flip-method", "flip_method", "flip-method", 6, 6.0},
		{"conv/interpolation-method", "interpolation_method", "interpolation-method", 4, 4.0},
		{"conv/srccrop", "src_crop", "src-crop", "10:20:100:80", "10:20:100:80"},
		{"conv/srccrop", "src_crop", "src-crop", "0:0:0:0", "0:0:0:0"},
		{"conv/destcrop", "dest_crop", "dest-crop", "20:10:160:120", "20:10:160:120"},
		{"conv/destcrop", "dest_crop", "dest-crop", "0:0:0:0", "0:0:0:0"},
	} {
		body := fmt.Sprintf(`{"stream":{"stream_id":"clip","%s":%#v}}`, c.field, c.value)
		if s, ok := c.value.(string); ok {
			body = fmt.Sprintf(`{"stream":{"stream_id":"clip","%s":%q}}`, c.field, s)
		}
		m := h.checkDS(t, dsCase{"/api/v1/" + c.path, body, 200, "", "", ""})
		if got := m["stream"].(map[string]any)[c.field]; got != c.back {
			t.Errorf("%s %v: answered %v, want %v", c.path, c.value, got, c.back)
		}
		v, err := h.svc.Pipeline().Property(st.Element, c.prop)
		if want := fmt.Sprint(c.back); err != nil || fmt.Sprint(v) != want {
			t.Errorf("%s: Property %v %v, want %s", c.prop, v, err, want)
		}
	}
	waitFor(t, 5*time.Second, "frames after the changes", func() bool { return pts.steady(8, frame) })

	for _, c := range []dsCase{
		{"/api/v1/conv/srccrop", `{"stream":{"stream_id":"clip","src_crop":"300:0:100:100"}}`, 422, "SRC_CROP_UPDATE_FAIL", "bad_value", "outside the stream's 320x240 frame"},
		{"/api/v1/conv/destcrop", `{"stream":{"stream_id":"clip","dest_crop":"0:0:400:100"}}`, 422, "DEST_CROP_UPDATE_FAIL", "bad_value", "outside the stream's 320x240 frame"},
		{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"nope","drop_frame_interval":2}}`, 404, "DROP_FRAME_INTERVAL_UPDATE_FAIL", "unknown_stream_id", `"nope"`},
		{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"clip","drop_frame_interval":31}}`, 422, "", "out_of_range", "drop_frame_interval"},
		{"/api/v1/dec/skip-frames", `{"stream":{"stream_id":"clip","skip_frames":1}}`, 501, "SKIP_FRAMES_UPDATE_FAIL", "not_implemented", "non-reference"},
		{"/api/v1/dec/low-latency-mode", `{"stream":{"stream_id":"clip","low_latency_mode":1}}`, 501, "LOW_LATENCY_MODE_UPDATE_FAIL", "not_implemented", "low-latency"},
	} {
		h.checkDS(t, c)
	}
}

// The encoder's endpoints change the output's running x264enc: its
// bitrate (read back from GStreamer), a key frame on enc/force-idr, one
// every N frames after enc/iframe-interval N — in the file written.
func TestRESTEncoder(t *testing.T) {
	leakCheck(t)
	out := filepath.Join(t.TempDir(), "out.mkv")
	// A small picture: the tiler's scaling is the branch's cost (much
	// more under the race detector).
	yml := apiConfig + fmt.Sprintf("outputs:\n  - {encode: %q, props: {iframeinterval: 1000, enable-osd: false, width: 64, height: 48}}\n", out)
	h := startService(t, yml, Options{})
	// encoded counts the frames the encoder got: the branch to it may be
	// slower than the stream (it drops what comes too late).
	encoded := func() int64 {
		for _, st := range h.svc.Pipeline().Stats() {
			if st.Name == "output-0" {
				return st.FramesIn
			}
		}
		return 0
	}
	more := func(k int64) {
		n := encoded()
		waitFor(t, 20*time.Second, "more encoded frames", func() bool { return encoded() > n+k })
	}
	more(2) // the encoder runs

	m := h.checkDS(t, dsCase{"/api/v1/enc/bitrate", `{"stream":{"stream_id":"0","bitrate":1500000}}`, 200, "BITRATE_UPDATE_SUCCESS", "", ""})
	if got := m["stream"].(map[string]any)["bitrate"]; got != 1500000.0 {
		t.Errorf("bitrate answered %v, want 1500000", got)
	}
	if v, err := h.svc.Pipeline().Property("output-0", "bitrate"); err != nil || v != 1500000 {
		t.Errorf("x264enc's bitrate read back: %v %v, want 1500000", v, err)
	}
	for _, c := range []dsCase{
		{"/api/v1/enc/bitrate", `{"stream":{"stream_id":"0","bitrate":999}}`, 422, "BITRATE_UPDATE_FAIL", "out_of_range", "bitrate"},
		{"/api/v1/enc/bitrate", `{"stream":{"stream_id":"0","bitrate":2147483648}}`, 422, "BITRATE_UPDATE_FAIL", "bad_value", "x264enc takes 1000 to"},
		{"/api/v1/enc/force-idr", `{"stream":{"stream_id":"0","force_idr":2}}`, 422, "", "out_of_range", "force_idr"},
		{"/api/v1/enc/iframe-interval", `{"stream":{"stream_id":"0","iframeinterval":0}}`, 422, "", "out_of_range", "iframeinterval"},
	} {
		h.checkDS(t, c)
	}
	h.checkDS(t, dsCase{"/api/v1/enc/force-idr", `{"stream":{"stream_id":"0","force_idr":1}}`, 200, "FORCE_IDR_UPDATE_SUCCESS", "", ""})
	more(5)
	h.checkDS(t, dsCase{"/api/v1/enc/force-intra", `{"stream":{"stream_id":"0","force_intra":1}}`, 200, "FORCE_INTRA_UPDATE_SUCCESS", "", ""})
	more(5)
	m = h.checkDS(t, dsCase{"/api/v1/enc/iframe-interval", `{"stream":{"stream_id":"0","iframeinterval":4}}`, 200, "IFRAME_INTERVAL_UPDATE_SUCCESS", "", ""})
	if got := m["stream"].(map[string]any)["iframeinterval"]; got != 4.0 {
		t.Errorf("iframeinterval answered %v, want 4", got)
	}
	more(20)
	h.svc.Quit()
	if err := h.svc.Wait(); err != nil {
		t.Fatal(err)
	}
	keys, n, err := gst.KeyFrames(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames, key frames %v", n, keys)
	// 0, the forced IDR and intra frames, then every 4th frame.
	if len(keys) < 6 || keys[0] != 0 || keys[1] >= keys[2] || keys[2]+4 > keys[3] {
		t.Fatalf("%d frames, key frames %v; want 0, the two forced ones, then one every 4 frames", n, keys)
	}
	for i := 4; i < len(keys); i++ {
		if keys[i]-keys[i-1] != 4 {
			t.Errorf("%d frames, key frames %v: after iframe-interval 4, a gap of %d", n, keys, keys[i]-keys[i-1])
			break
		}
	}
}

// The batcher's timeouts, the OSD's mode and the tracker's config change
// while the service runs: the batcher reports the values in force; after
// nvtracker/config-path with maxTargetsPerStream 1, one object of five
// per frame is tracked.
func TestRESTMuxOSDTracker(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	one := filepath.Join(dir, "one-target.yml")
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(one, []byte("%YAML:1.0\nTargetManagement:\n  maxTargetsPerStream: 1\n"), 0o644)
	os.WriteFile(bad, []byte("%YAML:1.0\nTargetManagement:\n  maxTargetsPerStream: 0\n"), 0o644)
	var mu sync.Mutex
	var tracked []int
	probe := func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, fm := range m.Frames {
			n := 0
			for _, o := range fm.Objects {
				if o.TrackID >= 0 {
					n++
				}
			}
			tracked = append(tracked, n)
		}
	}
	// lastFrames reports whether the last n frames each had a number of
	// tracked objects for which ok holds.
	lastFrames := func(n int, ok func(int) bool) bool {
		mu.Lock()
		defer mu.Unlock()
		if len(tracked) < n {
			return false
		}
		for _, k := range tracked[len(tracked)-n:] {
			if !ok(k) {
				return false
			}
		}
		return true
	}
	yml := strings.Replace(apiConfig, "seed=1", "seed=1&truth=true&objects=5", 1)
	yml = strings.Replace(yml, "live-view: {enable: false}", "live-view: {enable: true, fps: 2}", 1)
	yml += fmt.Sprintf("tracker: {}\nrest: {allow-folders: [%q]}\n", dir)
	h := startService(t, yml, Options{Probe: probe})
	waitFor(t, 10*time.Second, "five tracked objects", func() bool { return lastFrames(5, func(k int) bool { return k == 5 }) })

	for _, c := range []struct {
		path, body, field string
		back              float64
		prop              string
		val               time.Duration
	}{
		{"mux/batched-push-timeout", `{"stream":{"batched_push_timeout":100000}}`, "batched_push_timeout", 100000, "batched-push-timeout", 100 * time.Millisecond},
		{"mux/batched-push-timeout", `{"stream":{"batched_push_timeout":-1,}}`, "batched_push_timeout", -1, "batched-push-timeout", -time.Nanosecond},
		{"mux/max-latency", `{"stream":{"max_latency":250}}`, "max_latency", 250, "max-latency", 250 * time.Millisecond},
	} {
		m := h.checkDS(t, dsCase{"/api/v1/" + c.path, c.body, 200, "", "", ""})
		if got := m["stream"].(map[string]any)[c.field]; got != c.back {
			t.Errorf("%s: answered %v, want %v", c.path, got, c.back)
		}
		if v, err := h.svc.Pipeline().Property(Batcher, c.prop); err != nil || v != c.val {
			t.Errorf("%s: the batcher has %v %v, want %v", c.prop, v, err, c.val)
		}
	}
	// Frames go on being batched with the new values.
	n := h.frames.get(0).n
	waitFor(t, 10*time.Second, "frames after the batcher's change", func() bool { return h.frames.get(0).n > n+5 })

	for _, c := range []dsCase{
		{"/api/v1/osd/process-mode", `{"stream":{"stream_id":"0","process_mode":0}}`, 200, "PROCESS_MODE_UPDATE_SUCCESS", "", ""},
		{"/api/v1/osd/process-mode", `{"stream":{"stream_id":"0","process_mode":1}}`, 501, "PROCESS_MODE_UPDATE_FAIL", "not_implemented", "on the CPU"},
		{"/api/v1/osd/process-mode", `{"stream":{"stream_id":"0","process_mode":3}}`, 422, "", "out_of_range", "process_mode"},
		{"/api/v1/nvtracker/config-path", fmt.Sprintf(`{"stream":{"stream_id":"0","config_path":%q}}`, bad), 422, "CONFIG_PATH_UPDATE_FAIL", "bad_value", "maxTargetsPerStream"},
		{"/api/v1/nvtracker/config-path", fmt.Sprintf(`{"stream":{"stream_id":"0","config_path":%q}}`, filepath.Join(dir, "none.yml")), 422, "", "bad_path", "not a readable file"},
		{"/api/v1/nvtracker/config-path", `{"stream":{"stream_id":"0","config_path":"/etc/passwd"}}`, 403, "", "path_not_allowed", ""},
	} {
		h.checkDS(t, c)
	}
	// The refused configs left the tracker as it was.
	n = h.frames.get(0).n
	waitFor(t, 10*time.Second, "more frames", func() bool { return h.frames.get(0).n > n+5 })
	if lastFrames(10, func(k int) bool { return k <= 1 }) {
		t.Errorf("after the refused configs, tracked objects per frame %v; want the five of before", tracked[len(tracked)-10:])
	}
	h.checkDS(t, dsCase{"/api/v1/nvtracker/config-path", fmt.Sprintf(`{"stream":{"stream_id":"0","config_path":%q}}`, one), 200, "CONFIG_PATH_UPDATE_SUCCESS", "", ""})
	waitFor(t, 10*time.Second, "one tracked object per frame", func() bool { return lastFrames(10, func(k int) bool { return k == 1 }) })
	if v, err := h.svc.Pipeline().Property("tracker", "ll-config-file"); err != nil || v != one {
		t.Errorf("ll-config-file read back %v %v, want %s", v, err, one)
	}
}

// roi/update replaces the stream's regions of the service's
// nvdspreprocess: the detector (a stand-in model on ONNX Runtime whose one
// box is at the centre of what it sees) finds its object in the new
// region. Regions of no area, unknown streams and a service without
// preprocess are refused.
func TestRESTROIUpdate(t *testing.T) {
	if _, err := infer.InitORT(""); err != nil {
		t.Skip(err)
	}
	leakCheck(t)
	dir := t.TempDir()
	cfg, _ := writeStandIn(t, dir, "det", 3)
	pre := filepath.Join(dir, "preprocess.txt")
	os.WriteFile(pre, []byte("[property]\nenable=1\ntarget-unique-ids=1\nprocess-on-frame=1\n"+
		"[group-0]\nsrc-ids=0\nprocess-on-roi=1\nroi-params-src-0=0;0;64;64\n"), 0o644)
	var mu sync.Mutex
	var centre [2]float32
	probe := func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, fm := range m.Frames {
			for _, o := range fm.Objects {
				centre = [2]float32{o.Rect.Left + o.Rect.Width/2, o.Rect.Top + o.Rect.Height/2}
			}
		}
	}
	at := func(x, y float32) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return math.Abs(float64(centre[0]-x)) < 2 && math.Abs(float64(centre[1]-y)) < 2
		}
	}
	yml := apiConfig + fmt.Sprintf("infer: {config: %q}\npreprocess: {config: %q}\n", cfg, pre)
	h := startService(t, yml, Options{Probe: probe})
	waitFor(t, 10*time.Second, "the object in the first region", at(32, 32))

	m := h.checkDS(t, dsCase{"/api/v1/roi/update", `{"stream":{"stream_id":"0","roi_count":1,"roi":[{"roi_id":"0","left":200,"top":100,"width":64,"height":64},]}}`,
		200, "ROI_UPDATE_SUCCESS", "", ""})
	if got := m["stream"].(map[string]any)["roi-params-src"]; got != "200;100;64;64" {
		t.Errorf("roi/update answered regions %v, want 200;100;64;64", got)
	}
	waitFor(t, 10*time.Second, "the object in the new region", at(232, 132))
	for _, c := range []dsCase{
		{"/api/v1/roi/update", `{"stream":{"stream_id":"UniqueSensorId9","roi_count":1,"roi":[{"roi_id":"0","left":0,"top":0,"width":64,"height":64}]}}`, 404, "ROI_UPDATE_FAIL", "unknown_stream_id", `"UniqueSensorId9"`},
		{"/api/v1/roi/update", `{"stream":{"stream_id":"0","roi_count":1,"roi":[{"roi_id":"0","left":0,"top":0,"width":0,"height":64}]}}`, 422, "ROI_UPDATE_FAIL", "out_of_range", "roi[0]"},
		{"/api/v1/roi/update", `{"stream":{"stream_id":"0","roi_count":1,"roi":[{"roi_id":"0","left":0,"top":0,"width":64}]}}`, 400, "ROI_UPDATE_FAIL", "missing_field", "roi[0].height"},
	} {
		h.checkDS(t, c)
	}
}

// dec/skip-frames 2 decodes key frames only: a clip with a key frame every
// 10 frames then gives frames 10/30 s apart in its own time; 0 gives every
// frame again.
func TestRESTSkipFrames(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "gop10.mp4")
	out, err := exec.Command("gst-launch-1.0", "-q", "videotestsrc", "num-buffers=90", "pattern=ball", "!",
		"video/x-raw,width=160,height=120,framerate=30/1", "!", "x264enc", "speed-preset=ultrafast", "key-int-max=10", "!", "mp4mux", "!",
		"filesink", "location="+clip).CombinedOutput()
	if err != nil {
		t.Skipf("gst-launch-1.0: %v: %s", err, out)
	}
	leakCheck(t)
	var pts ptsLog
	yml := fmt.Sprintf(`
sources:
  source-config: {properties: {file-loop: true}}
  source-list:
    - {uri: %q, sensor-id: clip}
max-batch-size: 1
width: 160
height: 120
live-view: {enable: false}
`, clip)
	h := startService(t, yml, Options{Probe: pts.probe})
	frame := time.Second / 30
	waitFor(t, 10*time.Second, "frames 1/30 s apart", func() bool { return pts.steady(5, frame) })
	m := h.checkDS(t, dsCase{"/api/v1/dec/skip-frames", `{"stream":{"stream_id":"clip","skip_frames":2}}`, 200, "SKIP_FRAMES_UPDATE_SUCCESS", "", ""})
	if got := m["stream"].(map[string]any)["skip_frames"]; got != 2.0 {
		t.Errorf("skip_frames read back %v, want 2", got)
	}
	waitFor(t, 10*time.Second, "key frames only, 10/30 s apart", func() bool { return pts.steady(5, 10*frame) })
	h.checkDS(t, dsCase{"/api/v1/dec/skip-frames", `{"stream":{"stream_id":"clip","skip_frames":0}}`, 200, "SKIP_FRAMES_UPDATE_SUCCESS", "", ""})
	waitFor(t, 10*time.Second, "every frame again", func() bool { return pts.steady(12, frame) })
}

// Without a preprocess section, roi/update replaces the stream's
// ROI-filtering regions of the analytics: objects are reported in the new
// region (its label the roi_id) and no longer in the old one.
func TestRESTROIUpdateAnalytics(t *testing.T) {
	leakCheck(t)
	rules := filepath.Join(t.TempDir(), "analytics.txt")
	os.WriteFile(rules, []byte("[property]\nenable=1\n[roi-filtering-stream-0]\nenable=1\nroi-Old=0;0;320;0;320;240;0;240\n"), 0o644)
	var mu sync.Mutex
	labels := map[string]bool{}
	probe := func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, fm := range m.Frames {
			if a, ok := fm.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta); ok {
				for l, n := range a.ObjInROI {
					if n > 0 {
						labels[l] = true
					}
				}
			}
		}
	}
	seen := func(l string) bool { mu.Lock(); defer mu.Unlock(); return labels[l] }
	yml := strings.Replace(apiConfig, "seed=1", "seed=1&truth=true&objects=5", 1) + fmt.Sprintf("analytics: {config: %q}\n", rules)
	h := startService(t, yml, Options{Probe: probe})
	waitFor(t, 10*time.Second, "objects in the old region", func() bool { return seen("Old") })

	m := h.checkDS(t, dsCase{"/api/v1/roi/update", `{"stream":{"stream_id":"UniqueSensorId1","roi_count":1,"roi":[{"roi_id":"Door","left":0,"top":0,"width":320,"height":240}]}}`,
		200, "ROI_UPDATE_SUCCESS", "", ""})
	if got := m["stream"].(map[string]any)["roi-filtering-stream"]; got != "roi-Door=0;0;320;0;320;240;0;240" {
		t.Errorf("roi/update answered %v", got)
	}
	waitFor(t, 10*time.Second, "objects in the new region", func() bool { return seen("Door") })
	mu.Lock()
	clear(labels)
	mu.Unlock()
	n := h.frames.get(0).n
	waitFor(t, 10*time.Second, "more frames", func() bool { return h.frames.get(0).n > n+5 })
	if seen("Old") || !seen("Door") {
		t.Errorf("after roi/update, regions with objects %v; want Door only", labels)
	}
	h.checkDS(t, dsCase{"/api/v1/roi/update", `{"stream":{"stream_id":"0","roi_count":1,"roi":[{"roi_id":"a=b","left":0,"top":0,"width":9,"height":9}]}}`,
		422, "ROI_UPDATE_FAIL", "bad_value", "roi-"})
}
