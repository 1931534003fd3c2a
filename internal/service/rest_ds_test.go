package service

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/media"
)

// dsCase is one request to DeepStream's REST endpoints and what the
// service must answer.
type dsCase struct {
	path, body string
	code       int
	reason     string // "" for none checked
	errCode    string // the error's "code"; "" on success
	say        string // a piece of "error"
}

func (h *harness) checkDS(t *testing.T, c dsCase) map[string]any {
	t.Helper()
	method := "POST"
	var body any = c.body
	if c.body == "" {
		method, body = "GET", nil
	}
	code, m := h.do(method, c.path, body)
	if code != c.code || (c.reason != "" && m["reason"] != c.reason) || (c.errCode != "" && m["code"] != c.errCode) ||
		!strings.Contains(fmt.Sprint(m["error"]), c.say) {
		t.Errorf("%s %s: %d %v; want %d %s %s %q", method, c.path, code, m, c.code, c.reason, c.errCode, c.say)
	}
	if want := fmt.Sprintf("HTTP/1.1 %d ", c.code); !strings.HasPrefix(fmt.Sprint(m["status"]), want) {
		t.Errorf("%s: status %v", c.path, m["status"])
	}
	return m
}

// Every DeepStream REST endpoint with DeepStream's bodies, on a service
// with one synthetic stream and no outputs: bodies are checked first; what
// the service has no element for (encoder, OSD, analytics) is 409, what
// vidflow cannot do 501 naming why (never a silent 200); unknown paths
// answer JSON. rest_runtime_test.go has the settings taking effect.
func TestRESTDeepStreamSetters(t *testing.T) {
	leakCheck(t)
	h := startService(t, apiConfig, Options{})
	waitFor(t, 10*time.Second, "frames", func() bool { return h.frames.get(0).n > 3 })
	for _, c := range []dsCase{
		// A testsrc:// stream has no decoder to drop frames of.
		{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"0","drop_frame_interval":2}}`, 501, "DROP_FRAME_INTERVAL_UPDATE_FAIL", "not_implemented", `stream "UniqueSensorId1"'s source cannot change "drop-frame-interval"`},
		// The camera_id names the stream as well; trailing commas and
		// comments as DeepStream's parser takes them.
		{"/api/v1/dec/drop-frame-interval", "{\"stream\":{\"stream_id\":\"UniqueSensorId1\", // camera\n\"drop_frame_interval\":2,},}", 501, "DROP_FRAME_INTERVAL_UPDATE_FAIL", "not_implemented", ""},
		{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"7","drop_frame_interval":2}}`, 404, "DROP_FRAME_INTERVAL_UPDATE_FAIL", "unknown_stream_id", `"7"`},
		{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"0","drop_frame_interval":31}}`, 422, "", "out_of_range", "0 to 30"},
		{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"0"}}`, 400, "", "missing_field", "drop_frame_interval"},
		{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"0","drop_frame_interval":"2"}}`, 400, "", "bad_field", "whole number"},
		{"/api/v1/dec/drop-frame-interval", `{"stream":{"stream_id":"0","drop_frame_interval":2}`, 400, "", "malformed_json", ""},
		{"/api/v1/dec/skip-frames", `{"stream":{"stream_id":"0","skip_frames":2}}`, 501, "SKIP_FRAMES_UPDATE_FAIL", "not_implemented", "dec-skip-frames"},
		{"/api/v1/dec/skip-frames", `{"stream":{"stream_id":"9","skip_frames":2}}`, 404, "SKIP_FRAMES_UPDATE_FAIL", "unknown_stream_id", `"9"`},
		{"/api/v1/dec/skip-frames", `{"stream":{"stream_id":"0","skip_frames":3}}`, 422, "", "out_of_range", ""},
		{"/api/v1/dec/low-latency-mode", `{"stream":{"stream_id":"0","low_latency_mode":1}}`, 501, "LOW_LATENCY_MODE_UPDATE_FAIL", "not_implemented", "low-latency"},
		{"/api/v1/dec/low-latency-mode", `{"stream":{"stream_id":"0","low_latency_mode":true}}`, 501, "", "not_implemented", ""},
		{"/api/v1/dec/low-latency-mode", `{"stream":{"stream_id":"0","low_latency_mode":2}}`, 400, "", "bad_field", ""},
		{"/api/v1/enc/bitrate", `{"stream":{"stream_id":"0","bitrate":1000000}}`, 409, "BITRATE_UPDATE_FAIL", "no_element", "no outputs"},
		{"/api/v1/enc/bitrate", `{"stream":{"stream_id":"0","bitrate":0}}`, 422, "", "out_of_range", ""},
		{"/api/v1/enc/force-idr", `{"stream":{"stream_id":"0","force_idr":1}}`, 409, "FORCE_IDR_UPDATE_FAIL", "no_element", ""},
		{"/api/v1/enc/force-intra", `{"stream":{"stream_id":"0","force_intra":1}}`, 409, "FORCE_INTRA_UPDATE_FAIL", "no_element", ""},
		{"/api/v1/enc/iframe-interval", `{"stream":{"stream_id":"0","iframeinterval":30}}`, 409, "IFRAME_INTERVAL_UPDATE_FAIL", "no_element", ""},
		{"/api/v1/mux/batched-push-timeout", `{"stream":{"batched_push_timeout":-2}}`, 422, "", "out_of_range", "batched_push_timeout"},
		{"/api/v1/mux/max-latency", `{"stream":{"max_latency":-1}}`, 422, "", "out_of_range", "max_latency"},
		{"/api/v1/osd/process-mode", `{"stream":{"stream_id":"0","process_mode":0}}`, 409, "PROCESS_MODE_UPDATE_FAIL", "no_element", "no OSD"},
		// A testsrc:// stream is not converted by GStreamer.
		{"/api/v1/conv/srccrop", `{"stream":{"stream_id":"0","src_crop":"0:0:100:100"}}`, 501, "SRC_CROP_UPDATE_FAIL", "not_implemented", "src-crop"},
		{"/api/v1/conv/srccrop", `{"stream":{"stream_id":"0","src_crop":"0:0:100"}}`, 422, "", "out_of_range", "left:top:width:height"},
		{"/api/v1/conv/srccrop", `{"stream":{"src_crop":"0:0:100:100"}}`, 400, "", "missing_field", "stream_id"},
		{"/api/v1/conv/flip-method", `{"stream":{"stream_id":"0","flip_method":8}}`, 422, "FLIP_METHOD_UPDATE_FAIL", "out_of_range", "flip_method"},
		{"/api/v1/conv/interpolation-method", `{"stream":{"stream_id":"0","interpolation_method":7}}`, 422, "", "out_of_range", "interpolation_method"},
		// A path outside rest.allow-folders is refused before anything.
		{"/api/v1/nvtracker/config-path", `{"stream":{"stream_id":"0","config_path":"/etc/passwd"}}`, 403, "CONFIG_PATH_UPDATE_FAIL", "path_not_allowed", ""},
		{"/api/v1/roi/update", `{"stream":{"stream_id":"0","roi_count":2,"roi":[{"roi_id":"0","left":100,"top":300,"width":400,"height":400},{"roi_id":"1","left":550,"top":300,"width":500,"height":500}]}}`,
			409, "ROI_UPDATE_FAIL", "no_element", "nvdspreprocess"},
		{"/api/v1/roi/update", `{"stream":{"stream_id":"0","roi_count":2,"roi":[{"roi_id":"0","left":100,"top":300,"width":400,"height":400}]}}`, 400, "ROI_UPDATE_FAIL", "bad_field", "roi_count"},
		{"/api/v1/roi/update", `{"stream":{"stream_id":"0","roi_count":1,"roi":[{"roi_id":"0","left":-1,"top":0,"width":4,"height":4}]}}`, 422, "", "out_of_range", ""},
		{"/api/v1/analytics/reload-config", `{"stream":{"stream_id":"0"}}`, 409, "ANALYTICS_RELOAD_CONFIG_FAIL", "no_element", "no analytics"},
		{"/version", "", 200, "GET_VERSION_SUCCESS", "", ""},
		{"/api/v1/version", "", 200, "GET_VERSION_SUCCESS", "", ""},
		{"/no/such/thing", "", 404, "NO_SUCH_ENDPOINT", "no_such_endpoint", "/no/such/thing"},
		{"/version", `{}`, 405, "", "method_not_allowed", ""},
	} {
		h.checkDS(t, c)
	}
	if _, m := h.do("GET", "/version", nil); !strings.HasPrefix(fmt.Sprint(m["version"]), "vidflow ") {
		t.Errorf("version: %v", m)
	}

	// The security defaults hold on the new endpoints too.
	body := `{"stream":{"stream_id":"0","drop_frame_interval":2}}`
	for _, c := range []struct {
		hdr  map[string]string
		body string
		code int
	}{
		{map[string]string{"Content-Type": "text/plain"}, body, 415},
		{map[string]string{"Origin": "http://evil.example"}, body, 403},
		{nil, `{"stream":{"x":"` + strings.Repeat("a", maxBody) + `"}}`, 413},
	} {
		code, raw := h.raw("POST", "/api/v1/dec/drop-frame-interval", c.body, c.hdr)
		var m map[string]any
		if code != c.code || json.Unmarshal(raw, &m) != nil {
			t.Errorf("%v: %d %.200s; want %d", c.hdr, code, raw, c.code)
		}
	}
}

// analytics/reload-config replaces the rules of the running analytics
// element: the frames' ROI counts change from the old rule's label to the
// new one's. A body with trailing commas is taken as DeepStream takes it.
func TestRESTAnalyticsReload(t *testing.T) {
	leakCheck(t)
	rules := func(label string) string {
		return "[property]\nenable=1\nconfig-width=320\nconfig-height=240\n[roi-filtering-stream-0]\nenable=1\nroi-" + label + "=0;0;320;0;320;240;0;240\n"
	}
	first := filepath.Join(clipDir, "analytics-a.txt")
	second := filepath.Join(clipDir, "analytics-b.txt")
	for f, l := range map[string]string{first: "Before", second: "After"} {
		if err := os.WriteFile(f, []byte(rules(l)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	labels := map[string]bool{}
	probe := func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, fm := range m.Frames {
			if a, ok := fm.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta); ok {
				for l := range a.ObjInROI {
					labels[l] = true
				}
			}
		}
	}
	seen := func(l string) bool { mu.Lock(); defer mu.Unlock(); return labels[l] }
	h := startService(t, apiConfig+clipREST("")+fmt.Sprintf("analytics: {config: %q}\n", first), Options{Probe: probe})
	waitFor(t, 10*time.Second, "the first rules", func() bool { return seen("Before") })

	h.checkDS(t, dsCase{"/api/v1/analytics/reload-config", `{"stream":{"config_file_path":"/etc/hosts"}}`, 403, "ANALYTICS_RELOAD_CONFIG_FAIL", "path_not_allowed", ""})
	bad := filepath.Join(clipDir, "analytics-bad.txt")
	os.WriteFile(bad, []byte("[property]\nosd-mode=5\n"), 0o644)
	h.checkDS(t, dsCase{"/api/v1/analytics/reload-config", fmt.Sprintf(`{"stream":{"config_file_path":%q}}`, bad), 422, "", "bad_config", "osd-mode"})
	h.checkDS(t, dsCase{"/api/v1/analytics/reload-config", fmt.Sprintf("{\"stream\":{\"stream_id\":\"0\",\"config_file_path\":%q,},}", second), 200, "ANALYTICS_RELOAD_CONFIG_SUCCESS", "", ""})
	waitFor(t, 10*time.Second, "the new rules", func() bool { return seen("After") })
	mu.Lock()
	clear(labels)
	mu.Unlock()
	n := h.frames.get(0).n
	waitFor(t, 10*time.Second, "more frames", func() bool { return h.frames.get(0).n > n+5 })
	if seen("Before") || !seen("After") {
		t.Errorf("after the reload, ROI labels %v; want After only", labels)
	}
}

// relaxJSON takes what jsoncpp's default reader takes (trailing commas,
// comments, a byte-order mark) into the same JSON value, keeping the
// length; what is not JSON stays refused.
func TestRelaxJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1,}`:                        `{"a":1}`,
		`[1,2 , ]`:                        `[1,2]`,
		`{"s":",}"}`:                      `{"s":",}"}`,
		"{\"a\":1 // x,}\n}":              `{"a":1}`,
		`{"a":/* c */1}`:                  `{"a":1}`,
		`{"e":"\\",}`:                     `{"e":"\\"}`,
		`{"q":"\"//",}`:                   `{"q":"\"//"}`,
		"\xEF\xBB\xBF{}":                  `{}`,
		`{"a":[{"b":1,},],"c":{"d":2,},}`: `{"a":[{"b":1}],"c":{"d":2}}`,
		`{"url":"http://x/y","n":1}`:      `{"url":"http://x/y","n":1}`,
		"{\"a\":1,\r\n}":                  `{"a":1}`,
		`{"x":"a\"b,}c",}`:                `{"x":"a\"b,}c"}`,
		`{"a":1 /**/ , /* */ }`:           `{"a":1}`,
		`{"a":"/* not a comment */",}`:    `{"a":"/* not a comment */"}`,
		`{"a":1}//end`:                    `{"a":1}`,
	} {
		got := relaxJSON([]byte(in))
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil || json.Unmarshal([]byte(want), &w) != nil || !jsonEqual(g, w) || len(got) != len(in) {
			t.Errorf("relaxJSON(%q) = %q (%v); want %s", in, got, err, want)
		}
	}
	for _, in := range []string{`{"a":1,,}`, `{"a":1 /* , }`, `{,}`, `[1,,]`, `[,]`, `{"a":1}{"b":2}`, `{'a':1}`} {
		var v any
		if json.Unmarshal(relaxJSON([]byte(in)), &v) == nil {
			t.Errorf("relaxJSON(%q) = %q: JSON; want it refused", in, relaxJSON([]byte(in)))
		}
	}
}
