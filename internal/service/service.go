// Package service is `vidflow serve`: a pipeline run from a config file
// (streams, model, tracker, analytics, outputs) whose streams are added and
// removed at run time over DeepStream's REST API (nvmultiurisrcbin's
// paths and JSON bodies), with health endpoints, Prometheus metrics, an
// OpenAPI description and a live web view (MJPEG with the overlays).
//
// The pipeline is
//
//	batcher (drop-pipeline-eos) → [preprocess →] infer → track → analyze → stats probe → OSD ─┬─ live view (BufferRetriever → JPEG)
//	                                                                                           └─ outputs (Encode: files, RTSP)
//
// and every stream is added with Pipeline.AddStream, the configured ones
// at start and the others through POST /api/v1/stream/add.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/deepstream"
	"github.com/vidflow/vidflow/media"
)

// Options are what an embedding program adds to a Config.
type Options struct {
	// Logger gets the service's log (default: none).
	Logger *slog.Logger
	// Probe, when set, sees every batch's metadata after the analytics
	// (before the OSD draws): objects, track ids, the stream of each frame.
	Probe func(*media.BatchMeta)
	// OnMessage, when set, gets the pipeline's messages as well.
	OnMessage func(element.Message)
	// Listener, when set, is used instead of listening on the config's
	// address.
	Listener net.Listener
	// Cluster, when set, is the cluster this service is a node of: the
	// REST API's stream calls go to it, and the configured streams are
	// its to place (see cluster.go).
	Cluster Cluster
}

// The service's states, as health endpoints report them.
const (
	stateNew int32 = iota
	stateStarting
	stateRunning
	stateStopping
	stateStopped
)

// Batcher is the name of the service's batcher element.
const Batcher = "streammux"

// PreprocessElement is the name of the service's nvdspreprocess element.
const PreprocessElement = "preprocess"

// InferElement is the name of the service's nvinfer element.
const InferElement = "primary-infer"

// Service runs a pipeline and serves its REST API and web view.
type Service struct {
	cfg   *Config
	opts  Options
	log   *slog.Logger
	p     *vidflow.Pipeline
	live  *liveView
	stats *statsBook
	start time.Time

	state atomic.Int32

	addMu sync.Mutex // serialises adds and removes

	mu       sync.Mutex
	meta     map[int]*streamMeta // source id → what the service knows of the stream
	events   []event
	interval int // the infer interval now

	reqMu    sync.Mutex
	requests map[reqKey]int64

	recs recordings // smart recording sessions (recording.go)

	srv      *http.Server
	ln       net.Listener
	baseCtx  context.Context
	baseStop context.CancelFunc
	quit     chan struct{}
	quitOnce sync.Once
	pipeDone chan struct{}
	pipeErr  error
	done     chan struct{}
	err      error
}

// streamMeta is what the service keeps of a stream besides the pipeline's
// StreamStatus.
type streamMeta struct {
	added    time.Time
	removing bool // RemoveStream is removing it: its end is no news
}

type event struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// New checks cfg and builds the service's pipeline. Nothing runs before
// Start.
func New(cfg *Config, opts Options) (*Service, error) {
	if cfg == nil {
		return nil, errors.New("service: nil config")
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Service{cfg: cfg, opts: opts, log: log, stats: newStatsBook(), meta: map[int]*streamMeta{},
		quit: make(chan struct{}), pipeDone: make(chan struct{}), done: make(chan struct{})}
	if cfg.Infer != nil {
		s.interval = cfg.Infer.Interval
	}
	if cfg.LiveView.enabled() {
		s.live = newLiveView(cfg.LiveView)
	}
	if err := s.build(); err != nil {
		return nil, err
	}
	return s, nil
}

// Pipeline is the service's pipeline.
func (s *Service) Pipeline() *vidflow.Pipeline { return s.p }

// Config is the service's config.
func (s *Service) Config() *Config { return s.cfg }

// build makes the pipeline: the batcher without streams, the analytics,
// the stats probe, the OSD and the branches.
func (s *Service) build() error {
	cfg := s.cfg
	p := vidflow.NewPipeline(cfg.Name)
	s.p = p
	p.OnMessage(s.onMessage)
	mux := vidflow.Props{}
	for k, v := range cfg.BatcherProps() {
		mux[k] = v
	}
	mux["drop-pipeline-eos"] = true
	// One bad camera never stops the others: a source's error ends its
	// stream alone (reported in streamEnded), freeing its slot.
	mux["drop-source-errors"] = true
	mux["max-batch-size"] = cfg.MaxBatchSize
	mux["width"], mux["height"] = cfg.Width, cfg.Height
	f := vidflow.NewFlow(p).BatchCapture(nil, mux, vidflow.Name(Batcher))
	if pre := cfg.Preprocess; pre != nil {
		f = f.Add("nvdspreprocess", vidflow.Props{"config-file": pre.Config}, vidflow.Name(PreprocessElement))
	}
	if in := cfg.Infer; in != nil {
		props := vidflow.Props{}
		if cfg.Preprocess != nil {
			props["input-tensor-meta"] = true // on the regions, unless the props say otherwise
		}
		for k, v := range in.Props {
			props[k] = v
		}
		props["interval"] = in.Interval
		f = f.Infer(in.Config, props, vidflow.Name(InferElement))
		f = f.Attach(vidflow.NewProbe("infer-timer-in", s.stats.inferIn), vidflow.Tip("sink")).
			Attach(vidflow.NewProbe("infer-timer-out", s.stats.inferOut))
	}
	if t := cfg.Tracker; t.enabled() {
		props := vidflow.Props{}
		for k, v := range t.Props {
			props[k] = v
		}
		opts := []vidflow.Option{props, vidflow.Name("tracker")}
		if t.Algorithm != "" {
			opts = append(opts, vidflow.TrackerAlgorithm(t.Algorithm))
		}
		if t.Config != "" {
			opts = append(opts, vidflow.TrackerConfigFile(t.Config))
		}
		f = f.Track(opts...)
	}
	if a := cfg.Analytics; a != nil {
		f = f.Analyze(a.Config, vidflow.Name(AnalyticsElement))
	}
	if cfg.RecordOn != nil {
		f = f.Attach(s.recordOn(cfg.RecordOn))
	}
	f = f.Attach(vidflow.NewProbe("service-stats", s.observe))
	if len(cfg.Outputs) > 0 {
		// The outputs' timeline is the service's clock: streams come and
		// go with timestamps of their own, which batches mix.
		var last time.Duration
		f = f.Attach(vidflow.NewProbe("service-clock", func(b *media.Buffer) bool {
			pts := time.Since(s.start)
			if pts <= last {
				pts = last + time.Millisecond
			}
			last = pts
			b.SetTimestamp(pts)
			return true
		}))
	}
	switch {
	case s.live == nil && len(cfg.Outputs) == 0:
		f.Render(vidflow.RenderDiscard)
	case s.live != nil && len(cfg.Outputs) == 0:
		f.OSD(vidflow.Name("osd")).Retrieve(s.live, vidflow.Name("live-view"), vidflow.QueueSize(2), vidflow.DropOldest())
	default:
		// One OSD for every branch: the outputs do not draw again.
		out := f
		if s.live != nil {
			out = f.OSD(vidflow.Name("osd"))
		}
		branches := len(cfg.Outputs)
		if s.live != nil {
			branches++
		}
		if branches > 1 {
			out = out.Fork()
		}
		if s.live != nil {
			out.Retrieve(s.live, vidflow.Name("live-view"), vidflow.QueueSize(2), vidflow.DropOldest())
		}
		for i, o := range cfg.Outputs {
			props := vidflow.Props{}
			for k, v := range o.Props {
				props[k] = v
			}
			if s.live != nil {
				props["enable-osd"] = false
			}
			out.Encode(o.Encode, props, vidflow.Name(fmt.Sprintf("output-%d", i)))
		}
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("service: building the pipeline: %w", err)
	}
	return nil
}

// Start starts the pipeline, adds the configured streams and starts
// serving. It returns once the server listens; Wait waits for the end.
func (s *Service) Start(ctx context.Context) error {
	if !s.state.CompareAndSwap(stateNew, stateStarting) {
		return errors.New("service: already started")
	}
	s.start = time.Now()
	fail := func(err error) error {
		s.err = fmt.Errorf("service: %w", err)
		s.state.Store(stateStopped)
		close(s.done)
		return s.err
	}
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr()); err != nil {
			return fail(err)
		}
	}
	s.ln = ln
	if err := s.p.Start(context.WithoutCancel(ctx)); err != nil {
		ln.Close()
		return fail(err)
	}
	go func() {
		s.pipeErr = s.p.Wait()
		close(s.pipeDone)
	}()
	if s.live != nil {
		go s.live.run()
	}
	s.baseCtx, s.baseStop = context.WithCancel(context.Background())
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 60 * time.Second, BaseContext: func(net.Listener) context.Context { return s.baseCtx },
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	srvErr := make(chan error, 1)
	go func() { srvErr <- s.srv.Serve(ln) }()
	for _, sn := range s.localSources() {
		if _, err := s.AddStream(sn.SensorID, sn.SensorName, sn.URI); err != nil {
			s.log.Error("adding a configured stream", "camera_id", sn.SensorID, "uri", sn.URI, "err", err)
			s.addEvent("stream %s (%s) could not be added: %v", sn.SensorID, sn.URI, err)
		}
	}
	s.state.Store(stateRunning)
	s.log.Info("serving", "addr", ln.Addr().String(), "streams", len(s.cfg.Sources.SourceList), "max-batch-size", s.cfg.MaxBatchSize)
	go s.supervise(ctx, srvErr)
	return nil
}

// Addr is the address the server listens on (after Start).
func (s *Service) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// supervise waits for the end (the context, /app/quit, the pipeline's end
// or a server failure) and shuts down gracefully: the server stops taking
// requests and ends its streams (5 s at most for requests in flight), then
// the pipeline stops, completing the outputs.
func (s *Service) supervise(ctx context.Context, srvErr chan error) {
	var err error
	select {
	case <-ctx.Done():
		s.log.Info("stopping", "why", context.Cause(ctx))
	case <-s.quit:
		s.log.Info("stopping", "why", "app/quit")
	case <-s.pipeDone:
		err = s.pipeErr
		if err == nil {
			err = errors.New("the pipeline ended")
		}
		s.log.Error("pipeline ended", "err", err)
	case e := <-srvErr:
		err = fmt.Errorf("server: %w", e)
	}
	s.state.Store(stateStopping)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	s.baseStop() // ends MJPEG streams and other long requests
	if e := s.srv.Shutdown(sctx); e != nil {
		s.srv.Close()
	}
	cancel()
	if s.live != nil {
		s.live.stop()
	}
	if e := s.p.Stop(); e != nil && err == nil && !errors.Is(e, context.Canceled) {
		err = e
	}
	<-s.pipeDone
	if err == nil && s.pipeErr != nil && !errors.Is(s.pipeErr, context.Canceled) {
		err = s.pipeErr
	}
	s.err = err
	s.state.Store(stateStopped)
	close(s.done)
}

// Quit asks the service to stop, as POST /api/v1/app/quit does.
func (s *Service) Quit() { s.quitOnce.Do(func() { close(s.quit) }) }

// Wait waits until the service has stopped and returns why: nil after the
// context's end or a quit, the pipeline's or server's error otherwise.
func (s *Service) Wait() error {
	if s.state.Load() == stateNew {
		return errors.New("service: not started")
	}
	<-s.done
	return s.err
}

// Run is Start then Wait.
func (s *Service) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	return s.Wait()
}

// Error is the service's error: the HTTP status the REST API answers
// with, a short code ("duplicate_camera_id", "batch_full", ...) and the
// error in words.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Stream is one stream of the service.
type Stream struct {
	SourceID   int
	CameraID   string
	CameraName string
	URI        string
	Element    string
	Added      time.Time
}

// Streams lists the service's streams by source id.
func (s *Service) Streams() []Stream {
	list := s.p.Streams(Batcher)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Stream, 0, len(list))
	for _, st := range list {
		m := s.meta[st.SourceID]
		var added time.Time
		if m != nil {
			added = m.added
		}
		out = append(out, Stream{SourceID: st.SourceID, CameraID: st.SensorID, CameraName: st.SensorName, URI: st.URI, Element: st.Element, Added: added})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SourceID < out[j].SourceID })
	return out
}

// streamByCamera finds a stream by camera id.
func (s *Service) streamByCamera(id string) (Stream, bool) {
	for _, st := range s.Streams() {
		if st.CameraID == id {
			return st, true
		}
	}
	return Stream{}, false
}

// stream finds a stream by camera id, or by source id when id is a number
// no camera has: for the live view's URLs (/stream/0/snapshot), which
// are vidflow's own, never for stream/remove.
func (s *Service) stream(id string) (Stream, bool) {
	if st, ok := s.streamByCamera(id); ok {
		return st, true
	}
	list := s.Streams()
	if n, err := strconv.Atoi(id); err == nil {
		for _, st := range list {
			if st.SourceID == n {
				return st, true
			}
		}
	}
	return Stream{}, false
}

// AddStream adds a stream and returns its source id, as POST
// /api/v1/stream/add does (but for the reachability check). Errors are
// *Error, with the HTTP status that fits.
func (s *Service) AddStream(cameraID, cameraName, uri string) (int, error) {
	return s.addStream(cameraID, cameraName, uri, false)
}

// addStream adds a stream; check makes it refuse network URLs whose host
// does not answer (when the config allows the check).
func (s *Service) addStream(cameraID, cameraName, uri string, check bool) (int, error) {
	if cameraID == "" {
		return 0, errorf(http.StatusBadRequest, "missing_field", "camera_id is empty")
	}
	if uri == "" {
		return 0, errorf(http.StatusBadRequest, "missing_field", "camera_url is empty")
	}
	if err := deepstream.CheckURI(uri); err != nil {
		return 0, errorf(http.StatusUnprocessableEntity, "bad_uri", "camera_url: %v", err)
	}
	if check && (s.cfg.REST.CheckReachable == nil || *s.cfg.REST.CheckReachable) {
		if err := reachable(uri); err != nil {
			return 0, errorf(http.StatusUnprocessableEntity, "unreachable", "camera_url %q is unreachable: %v", uri, err)
		}
	}
	s.addMu.Lock()
	defer s.addMu.Unlock()
	switch st := s.state.Load(); {
	case st == stateStopping || st == stateStopped:
		return 0, errorf(http.StatusServiceUnavailable, "not_running", "the service is stopping")
	}
	list := s.p.Streams(Batcher)
	for _, st := range list {
		if st.SensorID == cameraID {
			return 0, errorf(http.StatusConflict, "duplicate_camera_id", "camera_id %q is already streaming (source_id %d)", cameraID, st.SourceID)
		}
	}
	if len(list) >= s.cfg.MaxBatchSize {
		return 0, errorf(http.StatusTooManyRequests, "batch_full", "the batch is full: %d streams, max-batch-size %d; remove a stream first", len(list), s.cfg.MaxBatchSize)
	}
	props := s.cfg.StreamProps()
	props["width"], props["height"] = s.cfg.Width, s.cfg.Height
	props = deepstream.SourceProps(uri, props)
	id, err := s.p.AddStream(Batcher, vidflow.StreamSpec{URI: uri, SensorID: cameraID, SensorName: cameraName, Props: props})
	if err != nil {
		return 0, classify(err)
	}
	s.mu.Lock()
	s.meta[id] = &streamMeta{added: time.Now()}
	s.mu.Unlock()
	s.stats.add(id, cameraID, cameraName)
	if s.live != nil {
		s.live.add(id)
	}
	s.addEvent("stream %s added (source %d): %s", cameraID, id, deepstream.Redact(uri))
	s.log.Info("stream added", "camera_id", cameraID, "source_id", id, "uri", deepstream.Redact(uri))
	return id, nil
}

// classify maps AddStream's errors to statuses.
func classify(err error) *Error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "is full"), strings.Contains(msg, "max-batch-size"):
		return &Error{Status: http.StatusTooManyRequests, Code: "batch_full", Msg: msg}
	case strings.Contains(msg, "already streaming"), strings.Contains(msg, "duplicate"):
		return &Error{Status: http.StatusConflict, Code: "duplicate_camera_id", Msg: msg}
	case strings.Contains(msg, "not running"), strings.Contains(msg, "has ended"), strings.Contains(msg, "not started"):
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_running", Msg: msg}
	case strings.Contains(msg, "URI"), strings.Contains(msg, "doesn't exist"), strings.Contains(msg, "scheme"),
		strings.Contains(msg, "property"):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "bad_uri", Msg: msg}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Msg: msg}
}

// RemoveStream removes the stream with camera id (or source id) id.
func (s *Service) RemoveStream(id string) (Stream, error) {
	if id == "" {
		return Stream{}, errorf(http.StatusBadRequest, "missing_field", "camera_id is empty")
	}
	s.addMu.Lock()
	defer s.addMu.Unlock()
	// By camera id only, as DeepStream removes: a number no camera has
	// must not fall back to the stream of that source id (it removed
	// another camera).
	st, ok := s.streamByCamera(id)
	if !ok {
		return Stream{}, errorf(http.StatusNotFound, "unknown_camera_id", "no stream with camera_id %q", id)
	}
	s.mu.Lock()
	if m := s.meta[st.SourceID]; m != nil {
		m.removing = true
	}
	s.mu.Unlock()
	if err := s.p.RemoveStream(Batcher, st.SourceID); err != nil {
		if strings.Contains(err.Error(), "has no stream") {
			return Stream{}, errorf(http.StatusNotFound, "unknown_camera_id", "no stream with camera_id %q: %v", id, err)
		}
		return Stream{}, &Error{Status: http.StatusInternalServerError, Code: "internal", Msg: err.Error()}
	}
	s.forget(st.SourceID)
	s.addEvent("stream %s removed (source %d)", st.CameraID, st.SourceID)
	s.log.Info("stream removed", "camera_id", st.CameraID, "source_id", st.SourceID)
	return st, nil
}

// forget drops what the service keeps of a stream that is gone.
func (s *Service) forget(id int) {
	s.mu.Lock()
	delete(s.meta, id)
	s.mu.Unlock()
	s.stats.remove(id)
	if s.live != nil {
		s.live.remove(id)
	}
}

// reachable dials a network URL's host (2 s).
func reachable(uri string) error {
	addr := deepstream.HostPort(uri)
	if addr == "" {
		return nil
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func (s *Service) onMessage(m element.Message) {
	switch m := m.(type) {
	case *element.StreamEOSMessage:
		if m.Element != Batcher {
			break
		}
		s.mu.Lock()
		meta := s.meta[m.SourceID]
		ended := meta != nil && !meta.removing
		s.mu.Unlock()
		if ended {
			s.streamEnded(m.SourceID)
		}
	case *element.WarningMessage:
		s.log.Warn(m.Text, "element", m.Element)
		if strings.Contains(m.Text, "reconnect") {
			s.addEvent("%s: %s", m.Element, m.Text)
		}
	case *element.InfoMessage:
		s.log.Info(m.Text, "element", m.Element)
		s.addEvent("%s: %s", m.Element, m.Text)
	case *element.ErrorMessage:
		s.log.Error("pipeline error", "err", fmt.Sprint(m))
	}
	if s.opts.OnMessage != nil {
		s.opts.OnMessage(m)
	}
}

// streamEnded handles a stream that ended by itself (a file without
// file-loop) or by its source's failure (a file that is no video, a 404, a
// camera out of reconnection attempts): it leaves the batch, and a failure
// is logged, kept in the events and counted in the metrics.
func (s *Service) streamEnded(id int) {
	st, failed := s.p.StreamFailure(Batcher, id)
	if !failed {
		s.addEvent("stream of source %d ended", id)
		s.forget(id)
		return
	}
	s.log.Error("stream failed", "camera_id", st.SensorID, "source_id", id, "uri", deepstream.Redact(st.URI), "err", st.Err)
	s.addEvent("stream %s failed (source %d, state failed): %v; its slot is free, the other streams run on",
		st.SensorID, id, deepstream.Redact(st.Err.Error()))
	s.stats.failed(st.SensorID, st.SensorName)
	s.forget(id)
}

// observe is the stats probe: per-stream end-to-end latency and objects.
func (s *Service) observe(b *media.Buffer) bool {
	meta := b.Meta()
	now := time.Now()
	for _, fm := range meta.Frames {
		s.stats.frame(fm, now)
	}
	if s.opts.Probe != nil {
		s.opts.Probe(meta)
	}
	return true
}

func (s *Service) addEvent(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, event{Time: time.Now(), Text: fmt.Sprintf(format, args...)})
	if len(s.events) > 50 {
		s.events = append(s.events[:0], s.events[len(s.events)-50:]...)
	}
}

// Ready reports whether the pipeline is running and takes streams.
func (s *Service) Ready() bool { return s.state.Load() == stateRunning }

// SetInterval sets the detector's interval at run time, when this build
// of vidflow lets element properties change while running.
func (s *Service) SetInterval(n int) error {
	if s.cfg.Infer == nil {
		return errorf(http.StatusConflict, "no_infer", "the service runs no model (no infer section in its config)")
	}
	if err := s.p.SetProperty(InferElement, "interval", n); err != nil {
		return errorf(http.StatusUnprocessableEntity, "bad_value", "interval %d: %v", n, err)
	}
	s.mu.Lock()
	s.interval = n
	s.mu.Unlock()
	s.addEvent("infer interval set to %d", n)
	return nil
}
