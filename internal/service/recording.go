package service

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
)

// Smart recording over REST. DeepStream has no standard endpoint (its
// recordings start from Kafka messages or the app's own code), so these
// are vidflow's, in the style of the others:
//
//	POST /api/v1/record/start {"record":{"stream_id":"lobby","start":5,"duration":10}}
//	POST /api/v1/record/stop  {"record":{"stream_id":"lobby"}} or {"record":{"session_id":3}}
//	GET  /api/v1/record       the running sessions and the last finished files
//
// Streams record when source-config has smart-record set (smart-rec-*).

// Bounds of a recording request.
const (
	maxRecordStart    = 300  // s before now: smart-rec-cache's own bound
	maxRecordDuration = 3600 // s after now
	maxStreamID       = 256  // bytes
	keepRecordings    = 32   // finished recordings listed
)

type recordBody struct {
	Record *struct {
		StreamID  string `json:"stream_id"`
		SessionID *int   `json:"session_id"`
		Start     *int   `json:"start"`
		Duration  *int   `json:"duration"`
	} `json:"record"`
}

// recordingView is one recording in the API's answers.
type recordingView struct {
	SessionID  int     `json:"session_id"`
	StreamID   string  `json:"stream_id"`
	File       string  `json:"file,omitempty"`
	Container  string  `json:"container,omitempty"`
	DurationS  float64 `json:"duration_s,omitempty"`
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	Error      string  `json:"error,omitempty"`
	StartedAt  string  `json:"started_at"`
	FinishedAt string  `json:"finished_at,omitempty"`
}

// recordings are the service's sessions: running ones and the last
// finished ones, bounded.
type recordings struct {
	mu       sync.Mutex
	running  map[int]recordingView
	finished []recordingView
}

func (s *Service) recordings() *recordings {
	s.recs.mu.Lock()
	if s.recs.running == nil {
		s.recs.running = map[int]recordingView{}
	}
	s.recs.mu.Unlock()
	return &s.recs
}

// recordingRoutes adds the recording endpoints to the API.
func (s *Service) recordingRoutes(route func(pattern, name string, open bool, methods []string, h http.HandlerFunc)) {
	post := []string{http.MethodPost}
	route("/api/v1/record/start", "record/start", false, post, s.handleRecordStart)
	route("/api/v1/record/stop", "record/stop", false, post, s.handleRecordStop)
	route("/api/v1/record", "record", false, []string{http.MethodGet, http.MethodHead}, s.handleRecordList)
}

// StartRecording starts a recording of the stream with camera id (or
// source id) id, as POST /api/v1/record/start does.
func (s *Service) StartRecording(id string, start, duration time.Duration) (int, error) {
	st, ok := s.stream(id)
	if !ok {
		return 0, errorf(http.StatusNotFound, "no_such_stream", "no stream %q", id)
	}
	rs := s.recordings()
	var sid int
	var err error
	started := time.Now().UTC().Format(time.RFC3339)
	sid, err = s.p.StartRecording(st.Element, start, duration, func(i vidflow.RecordingInfo) {
		s.recordingDone(i, st.CameraID, started)
	})
	if err != nil {
		if errors.Is(err, vidflow.ErrNoRecorder) {
			return 0, errorf(http.StatusUnprocessableEntity, "no_compressed_video", "%v", err)
		}
		return 0, errorf(http.StatusConflict, "cannot_record", "%v", err)
	}
	rs.mu.Lock()
	done := false
	for _, f := range rs.finished {
		done = done || f.SessionID == sid
	}
	if !done { // a recording of a stream that had ended is written before StartRecording returns
		rs.running[sid] = recordingView{SessionID: sid, StreamID: st.CameraID, StartedAt: started}
	}
	rs.mu.Unlock()
	s.addEvent("recording %d of %s started (%v before, %v after)", sid, st.CameraID, start, duration)
	return sid, nil
}

// RecordOnConfig is the record-on key: events that start a recording of
// their stream (see vidflow.RecordTrigger), from before seconds before
// the event's frame to after seconds after it.
type RecordOnConfig struct {
	Classes       []int    `yaml:"classes"`
	Lines         []string `yaml:"lines"` // analytics line-crossing names; ["*"]: any
	MinConfidence float32  `yaml:"min-confidence"`
	Before        int      `yaml:"before"` // s, default 5
	After         int      `yaml:"after"`  // s, default 10
}

func (c *Config) checkRecordOn() error {
	r := c.RecordOn
	if r == nil {
		return nil
	}
	if len(r.Classes) == 0 && len(r.Lines) == 0 {
		return errors.New("record-on: give classes (object class ids) or lines (analytics line names, or \"*\")")
	}
	if r.Before == 0 {
		r.Before = 5
	}
	if r.After == 0 {
		r.After = 10
	}
	if r.Before < 0 || r.Before > maxRecordStart || r.After < 0 || r.After > maxRecordDuration {
		return fmt.Errorf("record-on: before %d s and after %d s must be 0..%d and 0..%d", r.Before, r.After, maxRecordStart, maxRecordDuration)
	}
	return nil
}

// recordOn is the record-on probe: its recordings are listed with the
// REST API's.
func (s *Service) recordOn(c *RecordOnConfig) *vidflow.Probe {
	return s.p.RecordOn(vidflow.RecordTrigger{Classes: c.Classes, Lines: c.Lines, MinConfidence: c.MinConfidence,
		Before: time.Duration(c.Before) * time.Second, After: time.Duration(c.After) * time.Second,
		OnRecording: func(i vidflow.RecordingInfo) {
			camera := i.Source
			for _, st := range s.Streams() {
				if st.Element == i.Source {
					camera = st.CameraID
				}
			}
			s.recordingDone(i, camera, "")
		},
		OnError: func(err error) { s.log.Warn("record-on", "error", err) },
	})
}

// recordingDone lists a finished recording.
func (s *Service) recordingDone(i vidflow.RecordingInfo, camera, started string) {
	rs := s.recordings()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	v := rs.running[i.SessionID]
	delete(rs.running, i.SessionID)
	v.SessionID, v.StreamID = i.SessionID, camera
	if v.StartedAt == "" {
		v.StartedAt = started
	}
	v.File, v.Container, v.Width, v.Height = filepath.Join(i.Directory, i.FileName), i.Container, i.Width, i.Height
	v.DurationS = i.Duration.Seconds()
	v.FinishedAt = time.Now().UTC().Format(time.RFC3339)
	if i.Err != nil {
		v.Error = i.Err.Error()
	}
	rs.finished = append(rs.finished, v)
	if len(rs.finished) > keepRecordings {
		rs.finished = rs.finished[len(rs.finished)-keepRecordings:]
	}
	s.addEvent("recording %d of %s finished: %s", i.SessionID, camera, v.File)
}

func (s *Service) handleRecordStart(w http.ResponseWriter, r *http.Request) {
	const fail = "RECORD_START_FAIL"
	var b recordBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, fail)
		return
	}
	if err := checkRecordBody(&b, true); err != nil {
		writeError(w, err, fail)
		return
	}
	start, dur := 0, 0
	if b.Record.Start != nil {
		start = *b.Record.Start
	}
	if b.Record.Duration != nil {
		dur = *b.Record.Duration
	}
	id, err := s.StartRecording(b.Record.StreamID, time.Duration(start)*time.Second, time.Duration(dur)*time.Second)
	if err != nil {
		writeError(w, err, fail)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "RECORD_START_SUCCESS", "session_id": id})
}

// checkRecordBody bounds the request's fields.
func checkRecordBody(b *recordBody, start bool) error {
	want := `(want {"record":{"stream_id":"cam1","start":5,"duration":10}})`
	if !start {
		want = `(want {"record":{"stream_id":"cam1"}} or {"record":{"session_id":3}})`
	}
	switch rec := b.Record; {
	case rec == nil:
		return errorf(http.StatusBadRequest, "missing_field", `missing "record" %s`, want)
	case len(rec.StreamID) > maxStreamID:
		return errorf(http.StatusBadRequest, "bad_field", `"record.stream_id" is %d bytes; at most %d`, len(rec.StreamID), maxStreamID)
	case start && rec.StreamID == "":
		return errorf(http.StatusBadRequest, "missing_field", `missing "record.stream_id" %s`, want)
	case !start && (rec.StreamID == "") == (rec.SessionID == nil):
		return errorf(http.StatusBadRequest, "missing_field", `give one of "record.stream_id" and "record.session_id" %s`, want)
	case rec.Start != nil && (*rec.Start < 0 || *rec.Start > maxRecordStart):
		return errorf(http.StatusUnprocessableEntity, "out_of_range", `"record.start" is %d s; 0..%d (and at most the stream's smart-rec-cache)`, *rec.Start, maxRecordStart)
	case rec.Duration != nil && (*rec.Duration < 0 || *rec.Duration > maxRecordDuration):
		return errorf(http.StatusUnprocessableEntity, "out_of_range", `"record.duration" is %d s; 0..%d (0: smart-rec-default-duration)`, *rec.Duration, maxRecordDuration)
	}
	return nil
}

func (s *Service) handleRecordStop(w http.ResponseWriter, r *http.Request) {
	const fail = "RECORD_STOP_FAIL"
	var b recordBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, fail)
		return
	}
	if err := checkRecordBody(&b, false); err != nil {
		writeError(w, err, fail)
		return
	}
	var err error
	if b.Record.SessionID != nil {
		err = s.p.StopRecordingSession(*b.Record.SessionID)
	} else if st, ok := s.stream(b.Record.StreamID); !ok {
		err = errorf(http.StatusNotFound, "no_such_stream", "no stream %q", b.Record.StreamID)
	} else {
		err = s.p.StopRecording(st.Element)
	}
	var ae *Error
	if err != nil && !errors.As(err, &ae) {
		err = errorf(http.StatusNotFound, "no_recording", "%v", err)
	}
	if err != nil {
		writeError(w, err, fail)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "RECORD_STOP_SUCCESS"})
}

func (s *Service) handleRecordList(w http.ResponseWriter, r *http.Request) {
	rs := s.recordings()
	rs.mu.Lock()
	running := make([]recordingView, 0, len(rs.running))
	for _, v := range rs.running {
		running = append(running, v)
	}
	finished := append([]recordingView{}, rs.finished...)
	rs.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"running": running, "finished": finished})
}
