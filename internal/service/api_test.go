package service

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const apiConfig = `
sources:
  source-list:
    - {uri: "testsrc://?is-live=true&framerate=30&width=320&height=240&seed=1", sensor-id: UniqueSensorId1, sensor-name: UniqueSensorName1}
max-batch-size: 3
width: 320
height: 240
live-view: {enable: false}
`

// The REST API driven with DeepStream's own request bodies (spec §4.2 and
// the deepstream-server sample), checking the answers' shapes.
func TestRESTDeepStreamBodies(t *testing.T) {
	leakCheck(t)
	h := startService(t, apiConfig+clipREST(""), Options{})

	code, m := h.do("GET", "/api/v1/stream/get-stream-info", nil)
	want := map[string]any{"reason": "GET_LIVE_STREAM_INFO_SUCCESS", "status": "HTTP/1.1 200 OK",
		"stream-info": map[string]any{"stream-count": 1.0, "stream-info": []any{map[string]any{
			"camera_id": "UniqueSensorId1", "camera_name": "UniqueSensorName1", "source_id": 0.0,
			"camera_url": "testsrc://?is-live=true&framerate=30&width=320&height=240&seed=1"}}}}
	if code != 200 || !jsonEqual(m, want) {
		t.Fatalf("get-stream-info: %d %v", code, m)
	}
	// GET with a body, as DeepStream's README shows it.
	if code, m := h.do("GET", "/api/v1/stream/get-stream-info", "{}"); code != 200 || m["reason"] != "GET_LIVE_STREAM_INFO_SUCCESS" {
		t.Errorf("get-stream-info with {}: %d %v", code, m)
	}

	// stream/add with the sample's body verbatim but for the URL.
	body := `{
    "key": "sensor",
    "value": {
        "camera_id": "uniqueSensorID1",
        "camera_name": "front_door",
        "camera_url": "CAMERA_URL",
        "change": "camera_add",
        "metadata": {
            "resolution": "1920 x1080",
            "codec": "h264",
            "framerate": 30
        }
    },
    "headers": {
        "source": "vst",
        "created_at": "2021-06-01T14:34:13.417Z"
    }
  }`
	url := testsrc(2)
	if smallClip != "" {
		url = "file://" + smallClip
	}
	code, m = h.do("POST", "/api/v1/stream/add", strings.Replace(body, "CAMERA_URL", url, 1))
	if code != 200 || m["reason"] != "STREAM_ADD_SUCCESS" || m["status"] != "HTTP/1.1 200 OK" {
		t.Fatalf("stream/add: %d %v", code, m)
	}
	added := m["stream"].(map[string]any)
	if added["camera_id"] != "uniqueSensorID1" || added["source_id"] != 1.0 {
		t.Errorf("stream/add answer: %v", m)
	}
	waitFor(t, 10*time.Second, "frames of the added stream", func() bool { return h.frames.get(1).n > 5 })

	code, m = h.do("GET", "/api/v1/stream/get-stream-info", nil)
	info := m["stream-info"].(map[string]any)
	if code != 200 || info["stream-count"] != 2.0 {
		t.Fatalf("get-stream-info after add: %v", m)
	}
	ids := []string{}
	for _, s := range info["stream-info"].([]any) {
		ids = append(ids, s.(map[string]any)["camera_id"].(string))
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"UniqueSensorId1", "uniqueSensorID1"}) {
		t.Errorf("camera ids %v", ids)
	}

	// stream/remove with the sample's body (change: camera_remove).
	code, m = h.do("POST", "/api/v1/stream/remove", strings.NewReplacer("CAMERA_URL", url, "camera_add", "camera_remove").Replace(body))
	if code != 200 || m["reason"] != "STREAM_REMOVE_SUCCESS" || m["stream"].(map[string]any)["source_id"] != 1.0 {
		t.Fatalf("stream/remove: %d %v", code, m)
	}
	if _, m := h.do("GET", "/api/v1/stream/get-stream-info", nil); m["stream-info"].(map[string]any)["stream-count"] != 1.0 {
		t.Errorf("after remove: %v", m)
	}

	// Health, as DeepStream answers it.
	code, m = h.do("GET", "/api/v1/health/get-dsready-state", nil)
	if code != 200 || !jsonEqual(m, map[string]any{"health-info": map[string]any{"ds-ready": "YES"},
		"reason": "GET_DS_READINESS_INFO_SUCCESS", "status": "HTTP/1.1 200 OK"}) {
		t.Errorf("get-dsready-state: %d %v", code, m)
	}
	for _, p := range []string{"/live", "/ready", "/startup", "/api/v1/live", "/api/v1/ready", "/api/v1/startup"} {
		if code, m := h.do("GET", p, nil); code != 200 || !strings.HasSuffix(m["reason"].(string), "_INFO_SUCCESS") {
			t.Errorf("%s: %d %v", p, code, m)
		}
	}

	// infer/set-interval with the sample's body: no model here.
	code, m = h.do("POST", "/api/v1/infer/set-interval", `{"stream":{"stream_id":"0","interval":2}}`)
	if code != http.StatusConflict || m["reason"] != "INFER_INTERVAL_UPDATE_FAIL" || m["code"] != "no_infer" {
		t.Errorf("set-interval without a model: %d %v", code, m)
	}

	// Metrics, JSON and Prometheus.
	code, m = h.do("GET", "/api/v1/metrics", nil)
	if code != 200 || m["reason"] != "GET_METRICS_INFO_SUCCESS" || m["stream_count"] != 1.0 {
		t.Fatalf("metrics: %d %v", code, m)
	}
	st := m["streams"].([]any)[0].(map[string]any)
	if st["camera_id"] != "UniqueSensorId1" || st["state"] != "playing" || st["frames"].(float64) < 5 || st["fps"].(float64) <= 0 {
		t.Errorf("metrics stream: %v", st)
	}
	checkPrometheus(t, h)

	// app/quit with the sample's body stops the service.
	code, m = h.do("POST", "/api/v1/app/quit", `{"stream":{"app_quit":1}}`)
	if code != 200 || m["reason"] != "QUIT_SUCCESS" {
		t.Fatalf("app/quit: %d %v", code, m)
	}
	done := make(chan error)
	go func() { done <- h.svc.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after quit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not stop after app/quit")
	}
	if s := h.frames.get(0); len(s.gaps) > 0 {
		t.Errorf("stream 0 had gaps: %v", s.gaps)
	}
}

var promLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfa]+$`)

// checkPrometheus checks /metrics is well-formed text format and has the
// per-stream and per-element series.
func checkPrometheus(t *testing.T, h *harness) {
	t.Helper()
	code, raw := h.raw("GET", "/metrics", nil, nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	types := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			if _, dup := types[f[2]]; dup {
				t.Errorf("metric %s typed twice", f[2])
			}
			types[f[2]] = f[3]
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		if !promLine.MatchString(line) {
			t.Errorf("malformed line %q", line)
		}
	}
	for name, typ := range map[string]string{"vidflow_stream_fps": "gauge", "vidflow_stream_frames_total": "counter",
		"vidflow_stream_drops_total": "counter", "vidflow_stream_reconnects_total": "counter",
		"vidflow_stream_latency_seconds": "histogram", "vidflow_element_queue_depth": "gauge",
		"vidflow_element_latency_seconds": "gauge", "vidflow_up": "gauge"} {
		if types[name] != typ {
			t.Errorf("%s is %q, want %s", name, types[name], typ)
		}
	}
	text := string(raw)
	for _, want := range []string{
		`vidflow_stream_frames_total{source_id="0",sensor_id="UniqueSensorId1",sensor_name="UniqueSensorName1"} `,
		`vidflow_stream_latency_seconds_bucket{source_id="0",sensor_id="UniqueSensorId1",sensor_name="UniqueSensorName1",le="+Inf"} `,
		`vidflow_element_queue_depth{element="streammux",kind="nvstreammux"} `,
		`vidflow_element_latency_seconds{element="streammux",kind="nvstreammux",quantile="0.95"} `,
		`vidflow_http_requests_total{route="stream/add",code="200"} 1`,
		"vidflow_up 1\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, `source_id="1"`) {
		t.Errorf("/metrics still has the removed stream:\n%s", text)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// Bad input: the right status and a JSON reason, and the running stream
// never disturbed (no gap in its frame numbers).
func TestRESTBadInput(t *testing.T) {
	leakCheck(t)
	// Everything allowed, for the checks behind the allow-lists.
	h := startService(t, apiConfig+"rest: {allow-folders: [/], allow-schemes: [rtsp, rtsps, http, https, testsrc], check-reachable: true}\n", Options{})
	waitFor(t, 5*time.Second, "frames", func() bool { return h.frames.get(0).n > 3 })

	// A port nobody listens on, for "unreachable".
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()

	big := `{"key":"sensor","value":{"camera_id":"big","camera_url":"testsrc://","change":"camera_add","metadata":{"x":"` +
		strings.Repeat("a", 1<<20) + `"}}}`
	for _, c := range []struct {
		name, method, path string
		body               any
		code               int
		errCode, reason    string
	}{
		{"malformed JSON", "POST", "/api/v1/stream/add", `{"key":"sensor","value":{`, 400, "malformed_json", "STREAM_ADD_FAIL"},
		{"not an object", "POST", "/api/v1/stream/add", `[1,2]`, 400, "malformed_json", "STREAM_ADD_FAIL"},
		{"two values", "POST", "/api/v1/stream/add", `{} {}`, 400, "malformed_json", "STREAM_ADD_FAIL"},
		{"empty body", "POST", "/api/v1/stream/add", ``, 400, "malformed_json", "STREAM_ADD_FAIL"},
		{"camera_id a number", "POST", "/api/v1/stream/add", `{"key":"sensor","value":{"camera_id":7,"camera_url":"testsrc://","change":"camera_add"}}`, 400, "malformed_json", "STREAM_ADD_FAIL"},
		{"no value", "POST", "/api/v1/stream/add", `{"key":"sensor"}`, 400, "missing_field", "STREAM_ADD_FAIL"},
		{"no camera_id", "POST", "/api/v1/stream/add", addBody("", "x", testsrc(3)), 400, "missing_field", "STREAM_ADD_FAIL"},
		{"no camera_url", "POST", "/api/v1/stream/add", addBody("x", "x", ""), 400, "missing_field", "STREAM_ADD_FAIL"},
		{"remove on add", "POST", "/api/v1/stream/add", removeBody("x", testsrc(3)), 400, "bad_field", "STREAM_ADD_FAIL"},
		{"wrong key", "POST", "/api/v1/stream/add", `{"key":"camera","value":{"camera_id":"x","camera_url":"testsrc://","change":"camera_add"}}`, 400, "bad_field", "STREAM_ADD_FAIL"},
		{"duplicate id", "POST", "/api/v1/stream/add", addBody("UniqueSensorId1", "again", testsrc(3)), 409, "duplicate_camera_id", "STREAM_ADD_FAIL"},
		{"bad scheme", "POST", "/api/v1/stream/add", addBody("x", "x", "ftp://example.org/cam"), 422, "bad_uri", "STREAM_ADD_FAIL"},
		{"missing file", "POST", "/api/v1/stream/add", addBody("x", "x", "file:///nonexistent/video.mp4"), 422, "bad_uri", "STREAM_ADD_FAIL"},
		{"no host", "POST", "/api/v1/stream/add", addBody("x", "x", "rtsp:///cam"), 422, "bad_uri", "STREAM_ADD_FAIL"},
		{"unreachable rtsp", "POST", "/api/v1/stream/add", addBody("x", "x", "rtsp://"+closed+"/cam"), 422, "unreachable", "STREAM_ADD_FAIL"},
		{"unreachable http", "POST", "/api/v1/stream/add", addBody("x", "x", "http://"+closed+"/v.mp4"), 422, "unreachable", "STREAM_ADD_FAIL"},
		{"bad testsrc property", "POST", "/api/v1/stream/add", addBody("x", "x", "testsrc://?colour=red"), 422, "bad_uri", "STREAM_ADD_FAIL"},
		{"too large", "POST", "/api/v1/stream/add", big, 413, "body_too_large", "STREAM_ADD_FAIL"},
		{"unknown id", "POST", "/api/v1/stream/remove", removeBody("nobody", ""), 404, "unknown_camera_id", "STREAM_REMOVE_FAIL"},
		{"remove without id", "POST", "/api/v1/stream/remove", removeBody("", ""), 400, "missing_field", "STREAM_REMOVE_FAIL"},
		{"add on remove", "POST", "/api/v1/stream/remove", addBody("UniqueSensorId1", "", ""), 400, "bad_field", "STREAM_REMOVE_FAIL"},
		{"interval missing", "POST", "/api/v1/infer/set-interval", `{"stream":{"stream_id":"0"}}`, 400, "missing_field", "INFER_INTERVAL_UPDATE_FAIL"},
		{"interval negative", "POST", "/api/v1/infer/set-interval", `{"stream":{"interval":-1}}`, 400, "bad_field", "INFER_INTERVAL_UPDATE_FAIL"},
		{"quit without body", "POST", "/api/v1/app/quit", ``, 400, "malformed_json", "QUIT_FAIL"},
		{"quit 0", "POST", "/api/v1/app/quit", `{"stream":{"app_quit":0}}`, 400, "bad_field", "QUIT_FAIL"},
		{"GET on add", "GET", "/api/v1/stream/add", nil, 405, "method_not_allowed", "METHOD_NOT_ALLOWED"},
		{"POST on info", "POST", "/api/v1/stream/get-stream-info", `{}`, 405, "method_not_allowed", "METHOD_NOT_ALLOWED"},
		{"unknown endpoint", "POST", "/api/v1/roi/nothing", `{}`, 404, "no_such_endpoint", "NO_SUCH_ENDPOINT"},
		{"unknown live view", "GET", "/api/v1/stream/nobody/snapshot", nil, 404, "live_view_disabled", "LIVE_VIEW_DISABLED"},
	} {
		code, m := h.do(c.method, c.path, c.body)
		if code != c.code || m["code"] != c.errCode || m["reason"] != c.reason || m["status"] != statusLine(c.code) || m["error"] == "" {
			t.Errorf("%s: got %d %v; want %d %s %s", c.name, code, m, c.code, c.errCode, c.reason)
		}
	}

	// Batch full: max-batch-size 3, one stream running.
	h.add("b1", testsrc(4))
	h.add("b2", testsrc(5))
	code, m := h.do("POST", "/api/v1/stream/add", addBody("b3", "", testsrc(6)))
	if code != http.StatusTooManyRequests || m["code"] != "batch_full" || !strings.Contains(m["error"].(string), "max-batch-size 3") {
		t.Errorf("batch full: %d %v", code, m)
	}
	h.remove("b2")
	h.add("b3", testsrc(6)) // room again

	// A camera_id that no camera has is a 404, even when a stream has
	// that number as its source id (issue 18: it removed that stream).
	if code, m := h.do("POST", "/api/v1/stream/remove", removeBody("1", "")); code != 404 || m["code"] != "unknown_camera_id" {
		t.Errorf("remove camera_id 1 (a source id only): %d %v", code, m)
	}

	// The first stream went on all along.
	before := h.frames.get(0).n
	time.Sleep(300 * time.Millisecond)
	s := h.frames.get(0)
	if s.n <= before || len(s.gaps) > 0 {
		t.Errorf("the running stream was disturbed: frames %d → %d, gaps %v", before, s.n, s.gaps)
	}
	if _, m := h.do("GET", "/api/v1/stream/get-stream-info", nil); m["stream-info"].(map[string]any)["stream-count"] != 3.0 {
		t.Errorf("streams: %v", m)
	}
}

// With rest.auth-token, everything but health needs the bearer token.
func TestRESTAuth(t *testing.T) {
	leakCheck(t)
	h := startService(t, apiConfig+"rest: {auth-token: s3cret}\n", Options{})
	h.token = ""
	for _, c := range []struct {
		method, path string
		body         any
		hdr          map[string]string
		code         int
	}{
		{"GET", "/api/v1/stream/get-stream-info", nil, nil, 401},
		{"GET", "/api/v1/stream/get-stream-info", nil, map[string]string{"Authorization": "Bearer wrong"}, 401},
		{"GET", "/api/v1/stream/get-stream-info", nil, map[string]string{"Authorization": "Basic czNjcmV0"}, 401},
		{"GET", "/api/v1/stream/get-stream-info", nil, map[string]string{"Authorization": "Bearer s3cret"}, 200},
		{"GET", "/api/v1/stream/get-stream-info?access_token=s3cret", nil, nil, 401}, // never in a URL (issue 20): the page has a cookie
		{"GET", "/api/v1/stream/get-stream-info?access_token=s3cre", nil, nil, 401},
		{"POST", "/api/v1/stream/add", addBody("x", "", testsrc(2)), nil, 401},
		{"POST", "/api/v1/stream/add?access_token=s3cret", addBody("x", "", testsrc(2)), nil, 401}, // not for POST
		{"POST", "/api/v1/stream/remove", removeBody("UniqueSensorId1", ""), nil, 401},
		{"POST", "/api/v1/app/quit", `{"stream":{"app_quit":1}}`, nil, 401},
		{"GET", "/metrics", nil, nil, 401},
		{"GET", "/metrics", nil, map[string]string{"Authorization": "bearer s3cret"}, 200},
		{"GET", "/api/v1/metrics", nil, nil, 401},
		{"GET", "/live", nil, nil, 200},
		{"GET", "/ready", nil, nil, 200},
		{"GET", "/api/v1/health/get-dsready-state", nil, nil, 200},
		{"GET", "/api/v1/openapi.json", nil, nil, 200},
		{"GET", "/", nil, nil, 200},
	} {
		code, raw := h.raw(c.method, c.path, c.body, c.hdr)
		if code != c.code {
			t.Errorf("%s %s %v: %d, want %d: %s", c.method, c.path, c.hdr, code, c.code, raw)
		}
		if code == 401 {
			var m map[string]any
			if json.Unmarshal(raw, &m) != nil || m["code"] != "unauthorized" {
				t.Errorf("%s %s: 401 body %s", c.method, c.path, raw)
			}
		}
	}
	if n := len(h.svc.Streams()); n != 1 {
		t.Errorf("%d streams after unauthorised requests", n)
	}
}

// The OpenAPI description is valid JSON and describes every route.
func TestOpenAPI(t *testing.T) {
	data, err := webFS.ReadFile("web/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, r := range routes() {
		if _, ok := doc.Paths[r]; !ok {
			t.Errorf("openapi.json lacks %s", r)
		}
	}
	for p := range doc.Paths {
		if !slices.Contains(routes(), p) {
			t.Errorf("openapi.json has %s, which the server does not serve", p)
		}
	}
}

// A service that cannot listen fails at Start, and Wait says so too.
func TestStartFails(t *testing.T) {
	leakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg, err := Parse([]byte(apiConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.REST.Port = &port
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start: %v", err)
	}
	if werr := s.Wait(); werr == nil || werr.Error() != err.Error() {
		t.Errorf("Wait: %v", werr)
	}
}
