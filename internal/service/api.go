package service

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow/internal/deepstream"
)

//go:embed web
var webFS embed.FS

// maxBody bounds request bodies (413 beyond).
const maxBody = 1 << 20

// maxInterval bounds set-interval: at 30 fps, 10000 batches skipped is
// over five minutes between inferences, beyond any use.
const maxInterval = 10000

// statusLine is DeepStream's "status" field: "HTTP/1.1 200 OK".
func statusLine(code int) string { return fmt.Sprintf("HTTP/1.1 %d %s", code, http.StatusText(code)) }

// errorBody is every error's JSON: DeepStream's status and reason, plus
// a short machine-readable code and the error in words.
type errorBody struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
	Code   string `json:"code"`
	Error  string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"status":"HTTP/1.1 500 Internal Server Error","reason":"INTERNAL","code":"internal","error":"encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// writeError answers err; reason is DeepStream's (STREAM_ADD_FAIL, ...),
// or "" for the code in capitals.
func writeError(w http.ResponseWriter, err error, reason string) {
	var ae *Error
	if !errors.As(err, &ae) {
		ae = &Error{Status: http.StatusInternalServerError, Code: "internal", Msg: err.Error()}
	}
	if reason == "" {
		reason = strings.ToUpper(ae.Code)
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vidflow"`)
	}
	writeJSON(w, ae.Status, errorBody{Status: statusLine(ae.Status), Reason: reason, Code: ae.Code, Error: ae.Msg})
}

// decode reads a JSON body into v: 413 beyond maxBody, 400 when it is not
// JSON of v's shape.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the body is %d bytes; at most %d", r.ContentLength, maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the body is over %d bytes", maxBody)
		}
		return errorf(http.StatusBadRequest, "bad_body", "reading the body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return errorf(http.StatusBadRequest, "malformed_json", "the body is empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(relaxJSON(body)))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return errorf(http.StatusBadRequest, "malformed_json", "field %q: a JSON %s where %s is wanted", te.Field, te.Value, jsonType(te.Type.Kind().String()))
		case errors.As(err, &se):
			return errorf(http.StatusBadRequest, "malformed_json", "malformed JSON at byte %d: %v", se.Offset, err)
		}
		return errorf(http.StatusBadRequest, "malformed_json", "malformed JSON: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "malformed_json", "malformed JSON: more than one value in the body")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "float64", "uint64":
		return "a number"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return kind
}

// sensorBody is DeepStream's stream/add and stream/remove body.
type sensorBody struct {
	Key   string `json:"key"`
	Value *struct {
		CameraID   string          `json:"camera_id"`
		CameraName string          `json:"camera_name"`
		CameraURL  string          `json:"camera_url"`
		Change     string          `json:"change"`
		Metadata   json.RawMessage `json:"metadata"`
	} `json:"value"`
	Headers json.RawMessage `json:"headers"`
}

// streamBody is the body of the other POSTs: {"stream": {...}}.
type streamBody struct {
	Stream *struct {
		StreamID string `json:"stream_id"`
		Interval *int   `json:"interval"`
		AppQuit  *int   `json:"app_quit"`
	} `json:"stream"`
}

// Handler is the service's HTTP API and web view.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	g := newGuard(s)
	route := func(pattern, name string, open bool, methods []string, h http.HandlerFunc) {
		mux.Handle(pattern, s.wrap(g, name, open, methods, h))
	}
	get, post := []string{http.MethodGet, http.MethodHead}, []string{http.MethodPost}

	route("/api/v1/session", "session", false, []string{http.MethodPost, http.MethodDelete}, g.handleSession)
	route("/api/v1/stream/add", "stream/add", false, post, func(w http.ResponseWriter, r *http.Request) { s.handleAdd(g, w, r) })
	route("/api/v1/stream/remove", "stream/remove", false, post, s.handleRemove)
	route("/api/v1/stream/get-stream-info", "stream/get-stream-info", false, get, s.handleStreamInfo)
	route("/api/v1/stream/{id}/mjpeg", "stream/mjpeg", false, get, s.handleLive(false))
	route("/api/v1/stream/{id}/snapshot", "stream/snapshot", false, get, s.handleLive(true))
	route("/api/v1/infer/set-interval", "infer/set-interval", false, post, s.handleInterval)
	route("/api/v1/inferserver/set-interval", "inferserver/set-interval", false, post, s.handleInterval)
	route("/api/v1/app/quit", "app/quit", false, post, s.handleQuit)
	s.recordingRoutes(route)
	s.modelRoutes(g, route)
	s.dsRoutes(g, route)
	route("/api/v1/cluster", "cluster", false, get, s.handleCluster)
	route("/api/v1/metrics", "metrics-json", false, get, s.handleMetricsJSON)
	route("/metrics", "metrics", false, get, s.handlePrometheus)
	route("/api/v1/health/get-dsready-state", "health/get-dsready-state", true, get, s.handleDSReady)
	for _, p := range []string{"", "/api/v1"} {
		route(p+"/live", "live", true, get, s.handleHealth("live"))
		route(p+"/ready", "ready", true, get, s.handleHealth("ready"))
		route(p+"/startup", "startup", true, get, s.handleHealth("startup"))
	}
	route("/api/v1/openapi.json", "openapi", true, get, s.handleOpenAPI)
	static, _ := fs.Sub(webFS, "web")
	files := http.FileServerFS(static)
	route("/{$}", "page", true, get, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	route("/static/", "static", true, get, http.StripPrefix("/static/", files).ServeHTTP)
	route("/api/", "unknown", true, nil, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, "no_such_endpoint", "no endpoint %s %s (see /api/v1/openapi.json)", r.Method, r.URL.Path), "")
	})
	// Every other path too answers JSON, as DeepStream's clients parse it.
	route("/", "unknown", true, nil, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, "no_such_endpoint", "no endpoint %s %s (see /api/v1/openapi.json)", r.Method, r.URL.Path), "")
	})
	return mux
}

type reqKey struct {
	route string
	code  int
}

// statusRecorder remembers the status code for the request counters.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// wrap adds to a handler what every route has: the Host check (403 for
// a name other than loopback's when listening there), CORS for the
// allowed origins only, the method check (405), the JSON content type of
// POSTs (415), the Origin check of requests that change something (403),
// the token (401, unless open), and the request counters.
func (s *Service) wrap(g *guard, name string, open bool, methods []string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			s.reqMu.Lock()
			if s.requests == nil {
				s.requests = map[reqKey]int64{}
			}
			s.requests[reqKey{name, rec.code}]++
			s.reqMu.Unlock()
		}()
		w = rec
		if !g.hostAllowed(r) {
			writeError(w, errorf(http.StatusForbidden, "host_not_allowed", "this server answers requests for localhost only"), "")
			return
		}
		if g.cors(w, r, methods) {
			return
		}
		var err *Error
		switch {
		case methods != nil && !contains(methods, r.Method):
			w.Header().Set("Allow", strings.Join(methods, ", "))
			err = errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s takes %s, not %s", r.URL.Path, strings.Join(methods, " or "), r.Method)
		case !jsonBody(r):
			err = errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "%s %s takes a JSON body: send \"Content-Type: application/json\"", r.Method, r.URL.Path)
		case !g.originAllowed(r):
			err = errorf(http.StatusForbidden, "origin_not_allowed", "requests from pages of %q are not allowed (rest.cors-origins)", r.Header.Get("Origin"))
		case !open && !g.authorized(r):
			msg := "this endpoint needs \"Authorization: Bearer <token>\" (or the web page's session)"
			if r.Header.Get("Authorization") != "" {
				msg = "the bearer token is wrong"
			}
			err = errorf(http.StatusUnauthorized, "unauthorized", "%s", msg)
		}
		if err != nil {
			writeError(w, err, "")
			return
		}
		h(w, r)
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// handleAdd is stream/add: the body's fields bounded, the URL through
// the allow-lists and (when on) the reachability check, then AddStream.
func (s *Service) handleAdd(g *guard, w http.ResponseWriter, r *http.Request) {
	const fail = "STREAM_ADD_FAIL"
	var b sensorBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, fail)
		return
	}
	if err := checkSensor(&b, "add"); err != nil {
		writeError(w, err, fail)
		return
	}
	v := b.Value
	for _, check := range []func() *Error{
		func() *Error { return checkFields(v.CameraID, v.CameraName, v.CameraURL) },
		func() *Error { return g.checkURI(v.CameraURL) },
		func() *Error { return g.checkReachable(v.CameraURL) },
	} {
		if err := check(); err != nil {
			writeError(w, err, fail)
			return
		}
	}
	if s.opts.Cluster != nil {
		s.clusterAdd(w, r, v.CameraID, v.CameraName, v.CameraURL)
		return
	}
	// The checks above are the REST API's; AddStream's own reachability
	// check is not asked for.
	id, err := s.addStream(v.CameraID, v.CameraName, v.CameraURL, false)
	if err != nil {
		writeError(w, err, fail)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "STREAM_ADD_SUCCESS",
		"stream": map[string]any{"camera_id": v.CameraID, "camera_name": v.CameraName, "camera_url": deepstream.Redact(v.CameraURL), "source_id": id}})
}

// checkSensor checks a stream/add or stream/remove body.
func checkSensor(b *sensorBody, change string) error {
	switch {
	case b.Value == nil:
		return errorf(http.StatusBadRequest, "missing_field", `missing "value" (want {"key":"sensor","value":{"camera_id":…,"camera_url":…,"change":"camera_%s"}})`, change)
	case b.Key != "" && b.Key != "sensor":
		return errorf(http.StatusBadRequest, "bad_field", `"key" is %q; want "sensor"`, b.Key)
	case b.Value.CameraID == "":
		return errorf(http.StatusBadRequest, "missing_field", `missing "value.camera_id"`)
	case change == "add" && b.Value.CameraURL == "":
		return errorf(http.StatusBadRequest, "missing_field", `missing "value.camera_url"`)
	case b.Value.Change == "":
		return errorf(http.StatusBadRequest, "missing_field", `missing "value.change" (want "camera_%s")`, change)
	case !strings.Contains(b.Value.Change, change):
		return errorf(http.StatusBadRequest, "bad_field", `"value.change" is %q; this endpoint wants "camera_%s"`, b.Value.Change, change)
	}
	return nil
}

func (s *Service) handleRemove(w http.ResponseWriter, r *http.Request) {
	const fail = "STREAM_REMOVE_FAIL"
	var b sensorBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, fail)
		return
	}
	if err := checkSensor(&b, "remove"); err != nil {
		writeError(w, err, fail)
		return
	}
	if s.opts.Cluster != nil {
		s.clusterRemove(w, r, b.Value.CameraID)
		return
	}
	st, err := s.RemoveStream(b.Value.CameraID)
	if err != nil {
		writeError(w, err, fail)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "STREAM_REMOVE_SUCCESS",
		"stream": map[string]any{"camera_id": st.CameraID, "camera_name": st.CameraName, "camera_url": deepstream.Redact(st.URI), "source_id": st.SourceID}})
}

type streamInfo struct {
	CameraID   string `json:"camera_id"`
	CameraName string `json:"camera_name"`
	SourceID   int    `json:"source_id"`
	CameraURL  string `json:"camera_url"`
}

func (s *Service) handleStreamInfo(w http.ResponseWriter, r *http.Request) {
	if s.opts.Cluster != nil {
		s.clusterStreamInfo(w, r)
		return
	}
	list := []streamInfo{}
	for _, st := range s.Streams() {
		list = append(list, streamInfo{CameraID: st.CameraID, CameraName: st.CameraName, SourceID: st.SourceID, CameraURL: deepstream.Redact(st.URI)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "GET_LIVE_STREAM_INFO_SUCCESS",
		"stream-info": map[string]any{"stream-count": len(list), "stream-info": list}})
}

func (s *Service) handleLive(snapshot bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.live == nil {
			writeError(w, errorf(http.StatusNotFound, "live_view_disabled", "the live view is off (live-view: enable: false)"), "")
			return
		}
		id := r.PathValue("id")
		st, ok := s.stream(id)
		if !ok {
			writeError(w, errorf(http.StatusNotFound, "unknown_camera_id", "no stream with camera_id %q", id), "")
			return
		}
		if snapshot {
			s.serveSnapshot(w, r, st)
		} else {
			s.serveMJPEG(w, r, st)
		}
	}
}

func (s *Service) handleInterval(w http.ResponseWriter, r *http.Request) {
	const fail = "INFER_INTERVAL_UPDATE_FAIL"
	var b streamBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, fail)
		return
	}
	switch {
	case b.Stream == nil:
		writeError(w, errorf(http.StatusBadRequest, "missing_field", `missing "stream" (want {"stream":{"stream_id":"0","interval":2}})`), fail)
		return
	case b.Stream.Interval == nil:
		writeError(w, errorf(http.StatusBadRequest, "missing_field", `missing "stream.interval"`), fail)
		return
	case *b.Stream.Interval < 0:
		writeError(w, errorf(http.StatusBadRequest, "bad_field", `"stream.interval" must not be negative, got %d`, *b.Stream.Interval), fail)
		return
	case *b.Stream.Interval > maxInterval:
		writeError(w, errorf(http.StatusUnprocessableEntity, "out_of_range", `"stream.interval" is %d; at most %d`, *b.Stream.Interval, maxInterval), fail)
		return
	}
	if err := s.SetInterval(*b.Stream.Interval); err != nil {
		writeError(w, err, fail)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "INFER_INTERVAL_UPDATE_SUCCESS", "interval": *b.Stream.Interval})
}

func (s *Service) handleQuit(w http.ResponseWriter, r *http.Request) {
	var b streamBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, "QUIT_FAIL")
		return
	}
	if b.Stream == nil || b.Stream.AppQuit == nil {
		writeError(w, errorf(http.StatusBadRequest, "missing_field", `missing "stream.app_quit" (want {"stream":{"app_quit":1}})`), "QUIT_FAIL")
		return
	}
	if *b.Stream.AppQuit != 1 {
		writeError(w, errorf(http.StatusBadRequest, "bad_field", `"stream.app_quit" is %d; 1 quits`, *b.Stream.AppQuit), "QUIT_FAIL")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "QUIT_SUCCESS"})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	s.addEvent("quit requested over REST")
	s.Quit() // the shutdown waits for this answer to end

}

func (s *Service) handleMetricsJSON(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.metricsView())
}

func (s *Service) handlePrometheus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	s.writePrometheus(w)
}

func (s *Service) handleDSReady(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "GET_DS_READINESS_INFO_SUCCESS",
		"health-info": map[string]any{"ds-ready": yesNo(s.Ready())}})
}

// handleHealth answers /live (the process serves), /startup (the
// configured streams were added) and /ready (the pipeline runs and takes
// streams): 200, or 503 with the same body saying NO.
func (s *Service) handleHealth(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := s.state.Load()
		ok := true
		switch what {
		case "ready", "startup":
			ok = st == stateRunning
		case "live":
			ok = st != stateStopped
		}
		code := http.StatusOK
		reason := "GET_" + strings.ToUpper(what) + "_INFO_SUCCESS"
		if !ok {
			code = http.StatusServiceUnavailable
			reason = "GET_" + strings.ToUpper(what) + "_INFO_FAIL"
		}
		writeJSON(w, code, map[string]any{"status": statusLine(code), "reason": reason,
			"health-info": map[string]any{what: yesNo(ok), "state": stateName(st)}})
	}
}

func stateName(st int32) string {
	return [...]string{"new", "starting", "running", "stopping", "stopped"}[st]
}

func (s *Service) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, err := webFS.ReadFile("web/openapi.json")
	if err != nil {
		writeError(w, err, "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// routes lists the API's paths, for the OpenAPI test.
func routes() []string {
	r := []string{"/api/v1/stream/add", "/api/v1/stream/remove", "/api/v1/stream/get-stream-info", "/api/v1/stream/{id}/mjpeg",
		"/api/v1/stream/{id}/snapshot", "/api/v1/infer/set-interval", "/api/v1/inferserver/set-interval", "/api/v1/app/quit",
		"/api/v1/metrics", "/metrics", "/api/v1/health/get-dsready-state", "/live", "/ready", "/startup", "/api/v1/openapi.json", "/api/v1/session", "/api/v1/cluster",
		"/api/v1/record/start", "/api/v1/record/stop", "/api/v1/record", "/api/v1/infer/model"}
	r = append(r, dsRoutePaths()...)
	sort.Strings(r)
	return r
}
