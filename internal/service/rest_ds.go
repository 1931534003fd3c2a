package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// The rest of DeepStream's REST server (nvds_rest_server: decoder,
// encoder, batcher, OSD, converter, tracker, preprocess ROIs, analytics,
// version). Each endpoint checks DeepStream's body, then sets the
// property on the running element with Pipeline.SetProperty (the element
// applies it between buffers) and answers with the value read back from
// it. Where the service has no such element the answer is 409; where
// vidflow's element cannot do what DeepStream's does, 501 saying why —
// never a silent success, since a client would believe a setting that is
// not in force.

// AnalyticsElement is the name of the service's nvdsanalytics element.
const AnalyticsElement = "analytics"

// valueKind is what a body field holds.
type valueKind int

const (
	intValue  valueKind = iota
	boolValue           // true/false or 0/1, as jsoncpp's asBool
	cropValue           // "left:top:width:height"
	pathValue           // a config file under rest.allow-folders
)

// dsEndpoint is one of DeepStream's setters: the body's field in
// "stream", its bounds, and where the value goes.
type dsEndpoint struct {
	path     string // under /api/v1/
	reason   string // DeepStream's status, less _SUCCESS / _FAIL
	field    string
	kind     valueKind
	min, max int64
	perCam   bool // stream_id names the stream it applies to (404 if none)
	// target names the elements and the property (st is the stream of
	// stream_id when perCam); an error when the service has none, or when
	// vidflow cannot do this at all.
	target func(s *Service, st Stream) (elems []string, prop string, err *Error)
	// value turns the checked body value into the property's value.
	value func(v any) any
	// back turns the value read back into the body's unit; nil: as is.
	back func(v any) any
}

// maxPixels bounds crops and ROIs: larger than any frame vidflow makes.
const maxPixels = 1 << 15

func dsEndpoints() []dsEndpoint {
	notHere := func(format string, args ...any) func(*Service, Stream) ([]string, string, *Error) {
		return func(*Service, Stream) ([]string, string, *Error) {
			return nil, "", errorf(http.StatusNotImplemented, "not_implemented", format, args...)
		}
	}
	us := func(v any) any { return time.Duration(v.(int64)) * time.Microsecond }
	ms := func(v any) any { return time.Duration(v.(int64)) * time.Millisecond }
	inUS := func(v any) any { return durationIn(v, time.Microsecond) }
	inMS := func(v any) any { return durationIn(v, time.Millisecond) }
	on := func(any) any { return true }
	return []dsEndpoint{
		{path: "dec/drop-frame-interval", reason: "DROP_FRAME_INTERVAL_UPDATE", field: "drop_frame_interval", min: 0, max: 30, perCam: true,
			target: streamElement("drop-frame-interval")},
		{path: "dec/skip-frames", reason: "SKIP_FRAMES_UPDATE", field: "skip_frames", min: 0, max: 2, perCam: true,
			target: streamElement("dec-skip-frames")},
		{path: "dec/low-latency-mode", reason: "LOW_LATENCY_MODE_UPDATE", field: "low_latency_mode", kind: boolValue, perCam: true,
			target: notHere("vidflow's decoders have no low-latency mode (NVDEC's nvv4l2decoder option): GStreamer's decoders take their threading " +
				"when they start, so low-latency-mode is accepted in configs with a warning and cannot be set while a stream runs")},
		{path: "enc/bitrate", reason: "BITRATE_UPDATE", field: "bitrate", min: 1000, max: 1 << 31, target: encoders("bitrate")},
		{path: "enc/force-idr", reason: "FORCE_IDR_UPDATE", field: "force_idr", min: 1, max: 1, target: encoders("force-idr"), value: on},
		{path: "enc/force-intra", reason: "FORCE_INTRA_UPDATE", field: "force_intra", min: 1, max: 1, target: encoders("force-intra"), value: on},
		{path: "enc/iframe-interval", reason: "IFRAME_INTERVAL_UPDATE", field: "iframeinterval", min: 1, max: 1 << 20, target: encoders("iframeinterval")},
		{path: "mux/batched-push-timeout", reason: "BATCHED_PUSH_TIMEOUT_UPDATE", field: "batched_push_timeout", min: -1, max: 60_000_000,
			target: oneElement(Batcher, "batched-push-timeout"), value: us, back: inUS},
		{path: "mux/max-latency", reason: "MAX_LATENCY_UPDATE", field: "max_latency", min: 0, max: 600_000,
			target: oneElement(Batcher, "max-latency"), value: ms, back: inMS},
		{path: "osd/process-mode", reason: "PROCESS_MODE_UPDATE", field: "process_mode", min: 0, max: 2, target: osdMode},
		{path: "conv/srccrop", reason: "SRC_CROP_UPDATE", field: "src_crop", kind: cropValue, perCam: true, target: streamElement("src-crop")},
		{path: "conv/destcrop", reason: "DEST_CROP_UPDATE", field: "dest_crop", kind: cropValue, perCam: true, target: streamElement("dest-crop")},
		{path: "conv/flip-method", reason: "FLIP_METHOD_UPDATE", field: "flip_method", min: 0, max: 7, perCam: true, target: streamElement("flip-method")},
		{path: "conv/interpolation-method", reason: "INTERPOLATION_METHOD_UPDATE", field: "interpolation_method", min: 0, max: 6, perCam: true,
			target: streamElement("interpolation-method")},
		{path: "nvtracker/config-path", reason: "CONFIG_PATH_UPDATE", field: "config_path", kind: pathValue, target: tracker},
	}
}

// durationIn is a time.Duration read back as a number of unit.
func durationIn(v any, unit time.Duration) any {
	if d, ok := v.(time.Duration); ok {
		if d < 0 {
			return int64(-1)
		}
		return int64(d / unit)
	}
	return v
}

// streamElement is a target of the stream's own source element (its
// decoder and conversion: DeepStream's nvurisrcbin and its nvvideoconvert).
func streamElement(prop string) func(*Service, Stream) ([]string, string, *Error) {
	return func(_ *Service, st Stream) ([]string, string, *Error) {
		return []string{st.Element}, prop, nil
	}
}

// oneElement is a target of one named element, 409 when the config has none.
func oneElement(name, prop string) func(*Service, Stream) ([]string, string, *Error) {
	return func(s *Service, _ Stream) ([]string, string, *Error) {
		if !slices.Contains(s.p.Elements(), name) {
			return nil, "", errorf(http.StatusConflict, "no_element", "the service's pipeline has no element %q", name)
		}
		return []string{name}, prop, nil
	}
}

// encoders is every output's encoder: DeepStream's server sets its one
// encoder, the service has one per output.
func encoders(prop string) func(*Service, Stream) ([]string, string, *Error) {
	return func(s *Service, _ Stream) ([]string, string, *Error) {
		var list []string
		for i := range s.cfg.Outputs {
			list = append(list, fmt.Sprintf("output-%d", i))
		}
		if len(list) == 0 {
			return nil, "", errorf(http.StatusConflict, "no_element", "the service encodes nothing: its config has no outputs, so there is no encoder whose %s could change", prop)
		}
		return list, prop, nil
	}
}

func osdMode(s *Service, _ Stream) ([]string, string, *Error) {
	if !slices.Contains(s.p.Elements(), "osd") {
		return nil, "", errorf(http.StatusConflict, "no_element", "the service's pipeline has no OSD (no live view, and the outputs draw nothing)")
	}
	return []string{"osd"}, "process-mode", nil
}

func tracker(s *Service, _ Stream) ([]string, string, *Error) {
	if !s.cfg.Tracker.enabled() {
		return nil, "", errorf(http.StatusConflict, "no_element", "the service runs no tracker (no tracker section in its config)")
	}
	return []string{"tracker"}, "ll-config-file", nil
}

// dsRoutes registers the endpoints above, roi/update, analytics/
// reload-config and /version.
func (s *Service) dsRoutes(g *guard, route func(pattern, name string, open bool, methods []string, h http.HandlerFunc)) {
	post, get := []string{http.MethodPost}, []string{http.MethodGet, http.MethodHead}
	for _, e := range dsEndpoints() {
		route("/api/v1/"+e.path, e.path, false, post, s.handleSetter(g, e))
	}
	route("/api/v1/roi/update", "roi/update", false, post, s.handleROI)
	route("/api/v1/analytics/reload-config", "analytics/reload-config", false, post, func(w http.ResponseWriter, r *http.Request) { s.handleAnalyticsReload(g, w, r) })
	route("/version", "version", true, get, s.handleVersion)
	route("/api/v1/version", "version", true, get, s.handleVersion)
}

// dsRoutePaths lists dsRoutes' paths, for routes().
func dsRoutePaths() []string {
	var r []string
	for _, e := range dsEndpoints() {
		r = append(r, "/api/v1/"+e.path)
	}
	return append(r, "/api/v1/roi/update", "/api/v1/analytics/reload-config", "/version", "/api/v1/version")
}

// dsBody is {"stream": {...}} with fields read as each endpoint needs.
type dsBody struct {
	Stream map[string]json.RawMessage `json:"stream"`
}

func (s *Service) handleSetter(g *guard, e dsEndpoint) http.HandlerFunc {
	fail := e.reason + "_FAIL"
	return func(w http.ResponseWriter, r *http.Request) {
		var b dsBody
		if err := decode(w, r, &b); err != nil {
			writeError(w, err, fail)
			return
		}
		if b.Stream == nil {
			writeError(w, errorf(http.StatusBadRequest, "missing_field", `missing "stream" (want {"stream":{"stream_id":"0","%s":…}})`, e.field), fail)
			return
		}
		st, id, err := s.dsStreamID(b.Stream, e.perCam)
		if err == nil {
			var v any
			if v, err = e.check(g, b.Stream); err == nil {
				if v, err = s.apply(e, st, v); err == nil {
					s.addEvent("%s set to %v over REST", e.path, v)
					answer := map[string]any{e.field: v}
					if id != "" {
						answer["stream_id"] = id
					}
					writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": e.reason + "_SUCCESS", "stream": answer})
					return
				}
			}
		}
		writeError(w, err, fail)
	}
}

// dsStreamID reads stream_id (a string, or a number as some clients
// send it); with need, it must name a stream of the service, returned.
func (s *Service) dsStreamID(m map[string]json.RawMessage, need bool) (Stream, string, *Error) {
	raw, ok := m["stream_id"]
	if !ok {
		if need {
			return Stream{}, "", errorf(http.StatusBadRequest, "missing_field", `missing "stream.stream_id"`)
		}
		return Stream{}, "", nil
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		var n int64
		if json.Unmarshal(raw, &n) != nil {
			return Stream{}, "", errorf(http.StatusBadRequest, "bad_field", `"stream.stream_id" must be a string such as "0"`)
		}
		id = strconv.FormatInt(n, 10)
	}
	if len(id) > maxIDLen {
		return Stream{}, "", errorf(http.StatusUnprocessableEntity, "out_of_range", `"stream.stream_id" is %d bytes; at most %d`, len(id), maxIDLen)
	}
	if !need {
		return Stream{}, id, nil
	}
	st, ok := s.stream(id)
	if !ok {
		return Stream{}, "", errorf(http.StatusNotFound, "unknown_stream_id", "no stream with stream_id %q (a source id or camera_id of get-stream-info)", id)
	}
	return st, id, nil
}

// check reads and bounds the endpoint's field.
func (e dsEndpoint) check(g *guard, m map[string]json.RawMessage) (any, *Error) {
	raw, ok := m[e.field]
	if !ok {
		return nil, errorf(http.StatusBadRequest, "missing_field", `missing "stream.%s"`, e.field)
	}
	switch e.kind {
	case boolValue:
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return b, nil
		}
		var n int64
		if json.Unmarshal(raw, &n) != nil || n < 0 || n > 1 {
			return nil, errorf(http.StatusBadRequest, "bad_field", `"stream.%s" must be true, false, 1 or 0`, e.field)
		}
		return n == 1, nil
	case cropValue:
		var c string
		if json.Unmarshal(raw, &c) != nil {
			return nil, errorf(http.StatusBadRequest, "bad_field", `"stream.%s" must be a string "left:top:width:height"`, e.field)
		}
		if err := checkCrop(c); err != nil {
			return nil, errorf(http.StatusUnprocessableEntity, "out_of_range", `"stream.%s": %s`, e.field, err.Error())
		}
		return c, nil
	case pathValue:
		var p string
		if json.Unmarshal(raw, &p) != nil {
			return nil, errorf(http.StatusBadRequest, "bad_field", `"stream.%s" must be a string (a file path)`, e.field)
		}
		return g.checkConfigPath("stream."+e.field, p)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, errorf(http.StatusBadRequest, "bad_field", `"stream.%s" must be a whole number`, e.field)
	}
	if n < e.min || n > e.max {
		return nil, errorf(http.StatusUnprocessableEntity, "out_of_range", `"stream.%s" is %d; want %d to %d`, e.field, n, e.min, e.max)
	}
	return n, nil
}

func checkCrop(c string) error {
	parts := strings.Split(c, ":")
	if len(parts) != 4 {
		return fmt.Errorf("%q is not left:top:width:height", c)
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > maxPixels {
			return fmt.Errorf("%q: each of left:top:width:height must be a whole number from 0 to %d", c, maxPixels)
		}
	}
	return nil
}

// checkConfigPath admits a config file a client names only inside
// rest.allow-folders (as stream/add's files), so that the API reads no
// other file of the host, nor tells whether one exists.
func (g *guard) checkConfigPath(field, p string) (string, *Error) {
	if p == "" || len(p) > maxURLLen {
		return "", errorf(http.StatusBadRequest, "bad_field", "%q must be a file path of at most %d bytes", field, maxURLLen)
	}
	p = strings.TrimPrefix(p, "file://")
	if !filepath.IsAbs(p) {
		return "", errorf(http.StatusUnprocessableEntity, "bad_path", "%q: a relative path; want an absolute path", field)
	}
	p = filepath.Clean(p)
	real, allowed, regular := g.allowedFile(p)
	if !allowed {
		return "", errorf(http.StatusForbidden, "path_not_allowed", "%q: files outside the allowed folders are refused (rest.allow-folders)", field)
	}
	if !regular {
		return "", errorf(http.StatusUnprocessableEntity, "bad_path", "%q: %q is not a readable file", field, p)
	}
	return real, nil
}

// apply sets the value on the endpoint's elements and returns it as the
// first element reads it back (in the body's unit). An element that
// cannot do it is 501, naming why.
func (s *Service) apply(e dsEndpoint, st Stream, v any) (any, *Error) {
	elems, prop, terr := e.target(s, st)
	if terr != nil {
		return nil, terr
	}
	set := v
	if e.value != nil {
		set = e.value(v)
	}
	what := func(name string) string {
		if st.Element == name {
			return fmt.Sprintf("stream %q's source", st.CameraID)
		}
		return fmt.Sprintf("vidflow's %s element", name)
	}
	for _, name := range elems {
		if err := s.p.SetProperty(name, prop, set); err != nil {
			msg := err.Error()
			if strings.Contains(msg, "cannot change") || strings.Contains(msg, "can change after Add") {
				return nil, errorf(http.StatusNotImplemented, "not_implemented", "%s: %s cannot change %q while it runs: %s", e.path, what(name), prop, msg)
			}
			return nil, errorf(http.StatusUnprocessableEntity, "bad_value", "%s: %s", e.path, msg)
		}
	}
	if b, err := s.p.Property(elems[0], prop); err == nil && prop != "force-idr" && prop != "force-intra" {
		if e.back != nil {
			b = e.back(b)
		}
		return b, nil
	}
	return v, nil
}

// roiBody is DeepStream's roi/update body.
type roiBody struct {
	Stream *struct {
		StreamID string `json:"stream_id"`
		ROICount *int   `json:"roi_count"`
		ROI      []struct {
			ROIID  string   `json:"roi_id"`
			Left   *float64 `json:"left"`
			Top    *float64 `json:"top"`
			Width  *float64 `json:"width"`
			Height *float64 `json:"height"`
		} `json:"roi"`
	} `json:"stream"`
}

// maxROIs bounds roi/update's list.
const maxROIs = 64

// handleROI is roi/update: the body checked as DeepStream's parser does,
// then the stream's regions replaced, from the next batch on: those of
// the preprocess element (DeepStream's target: the detector infers on
// them), else, with no preprocess section, the stream's ROI-filtering
// regions of the analytics (labels from roi_id, in the analytics config's
// coordinates). With neither the service has no regions: 409.
func (s *Service) handleROI(w http.ResponseWriter, r *http.Request) {
	const fail = "ROI_UPDATE_FAIL"
	var b roiBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, fail)
		return
	}
	st, err := s.checkROI(&b)
	if err != nil {
		writeError(w, err, fail)
		return
	}
	elem, prop, answerKey := PreprocessElement, fmt.Sprintf("roi-params-src-%d", st.SourceID), "roi-params-src"
	switch {
	case s.cfg.Preprocess != nil:
	case s.cfg.Analytics != nil:
		elem, prop, answerKey = AnalyticsElement, fmt.Sprintf("roi-filtering-stream-%d", st.SourceID), "roi-filtering-stream"
	default:
		writeError(w, errorf(http.StatusConflict, "no_element", "the service's pipeline has no nvdspreprocess, whose regions roi/update replaces, nor analytics ROIs: "+
			"the detector sees whole frames. Add a preprocess section (preprocess: {config: <nvdspreprocess config>}) whose groups take the stream with process-on-roi=1"), fail)
		return
	}
	rois := make([]media.Rect, len(b.Stream.ROI))
	var lines []string
	for i, q := range b.Stream.ROI {
		rois[i] = media.Rect{Left: float32(*q.Left), Top: float32(*q.Top), Width: float32(*q.Width), Height: float32(*q.Height)}
		if rois[i].Width <= 0 || rois[i].Height <= 0 {
			writeError(w, errorf(http.StatusUnprocessableEntity, "out_of_range", `"stream.roi[%d]" has no area (width and height must be positive)`, i), fail)
			return
		}
		label := q.ROIID
		if label == "" {
			label = strconv.Itoa(i)
		}
		l, t, r, bt := *q.Left, *q.Top, *q.Left+*q.Width, *q.Top+*q.Height
		lines = append(lines, fmt.Sprintf("roi-%s=%g;%g;%g;%g;%g;%g;%g;%g", label, l, t, r, t, r, bt, l, bt))
	}
	var value any = rois
	if elem == AnalyticsElement {
		value = strings.Join(lines, "\n")
	}
	if err := s.p.SetProperty(elem, prop, value); err != nil {
		writeError(w, errorf(http.StatusUnprocessableEntity, "bad_value", "roi/update: %v", err), fail)
		return
	}
	s.addEvent("stream %s: %d regions set over REST", st.CameraID, len(rois))
	answer := map[string]any{"stream_id": b.Stream.StreamID, "roi_count": len(rois)}
	if v, err := s.p.Property(elem, prop); err == nil {
		answer[answerKey] = v
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "ROI_UPDATE_SUCCESS", "stream": answer})
}

func (s *Service) checkROI(b *roiBody) (Stream, *Error) {
	st := b.Stream
	switch {
	case st == nil:
		return Stream{}, errorf(http.StatusBadRequest, "missing_field", `missing "stream" (want {"stream":{"stream_id":"0","roi_count":1,"roi":[{"roi_id":"0","left":0,"top":0,"width":100,"height":100}]}})`)
	case st.StreamID == "":
		return Stream{}, errorf(http.StatusBadRequest, "missing_field", `missing "stream.stream_id"`)
	case st.ROICount == nil:
		return Stream{}, errorf(http.StatusBadRequest, "missing_field", `missing "stream.roi_count"`)
	case *st.ROICount != len(st.ROI):
		return Stream{}, errorf(http.StatusBadRequest, "bad_field", `"stream.roi_count" is %d but "stream.roi" has %d entries`, *st.ROICount, len(st.ROI))
	case len(st.ROI) > maxROIs:
		return Stream{}, errorf(http.StatusUnprocessableEntity, "out_of_range", `"stream.roi" has %d entries; at most %d`, len(st.ROI), maxROIs)
	}
	found, ok := s.stream(st.StreamID)
	if !ok {
		return Stream{}, errorf(http.StatusNotFound, "unknown_stream_id", "no stream with stream_id %q", st.StreamID)
	}
	for i, roi := range st.ROI {
		for _, f := range []struct {
			name string
			v    *float64
		}{{"left", roi.Left}, {"top", roi.Top}, {"width", roi.Width}, {"height", roi.Height}} {
			if f.v == nil {
				return Stream{}, errorf(http.StatusBadRequest, "missing_field", `missing "stream.roi[%d].%s"`, i, f.name)
			}
			if *f.v < 0 || *f.v > maxPixels {
				return Stream{}, errorf(http.StatusUnprocessableEntity, "out_of_range", `"stream.roi[%d].%s" is %v; want 0 to %d`, i, f.name, *f.v, maxPixels)
			}
		}
	}
	return found, nil
}

// handleAnalyticsReload is analytics/reload-config: the analytics rules
// reread from their file, or from stream.config_file_path (under
// rest.allow-folders), from the next frame on.
func (s *Service) handleAnalyticsReload(g *guard, w http.ResponseWriter, r *http.Request) {
	const fail = "ANALYTICS_RELOAD_CONFIG_FAIL"
	var b dsBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, fail)
		return
	}
	if s.cfg.Analytics == nil {
		writeError(w, errorf(http.StatusConflict, "no_element", "the service runs no analytics (no analytics section in its config)"), fail)
		return
	}
	path := ""
	for _, k := range []string{"config_file_path", "config_path", "config-file"} {
		raw, ok := b.Stream[k]
		if !ok {
			continue
		}
		var p string
		if json.Unmarshal(raw, &p) != nil {
			writeError(w, errorf(http.StatusBadRequest, "bad_field", `"stream.%s" must be a string (a file path)`, k), fail)
			return
		}
		var err *Error
		if path, err = g.checkConfigPath("stream."+k, p); err != nil {
			writeError(w, err, fail)
			return
		}
		break
	}
	if err := vidflow.ReloadAnalytics(s.p, AnalyticsElement, path); err != nil {
		writeError(w, errorf(http.StatusUnprocessableEntity, "bad_config", "%v", err), fail)
		return
	}
	s.addEvent("analytics rules reloaded over REST")
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "ANALYTICS_RELOAD_CONFIG_SUCCESS"})
}

// handleVersion is /version: DeepStream answers {"version":
// "DeepStream-SDK 7.0"}; vidflow names itself and the REST API it
// speaks, so that a client can tell the two apart.
func (s *Service) handleVersion(w http.ResponseWriter, r *http.Request) {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "GET_VERSION_SUCCESS",
		"version": "vidflow " + v, "api-version": "v1", "deepstream-rest-api": "DeepStream-SDK 8.0 (nvds_rest_server paths and bodies)"})
}
