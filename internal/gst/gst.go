// Package gst is vidflow's small cgo layer over GStreamer 1.22.
//
// It is the only package in the project that imports "C" for GStreamer.
// Pipelines are built from gst-launch style descriptions (Launch); frames
// leave a pipeline through an appsink (AppSink, Pull) and enter through an
// appsrc (AppSrc, Push). Dynamic pads are left to decodebin/uridecodebin.
//
// Resource rules:
//   - Nothing is released by a GC finalizer. A Pipeline must be Closed and
//     every Sample Released; LiveSamples counts samples not yet released.
//   - A Sample's Data is a zero-copy view of the mapped GstBuffer: it is valid
//     only until Release. Copy what must outlive it.
//   - No queue is unbounded: an appsink whose max-buffers is 0 (the default,
//     unbounded) gets DefaultMaxBuffers, an appsrc blocks when its queue is
//     full, and at most 1024 messages wait on the bus (the surplus is dropped,
//     except errors and EOS).
//
// Appsinks sync to the clock by default; for offline work (files, tests)
// write "appsink sync=false" in the description.
package gst

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-app-1.0 gstreamer-video-1.0
#include <stdlib.h>
#include "vf.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultMaxBuffers bounds an appsink's queue when its description leaves
// max-buffers at 0 (unbounded).
const DefaultMaxBuffers = 4

// NoTime is the PTS/Duration of a buffer without a timestamp.
const NoTime time.Duration = -1

var (
	// ErrTimeout is returned by Pull when no sample arrived within the timeout.
	ErrTimeout = errors.New("gst: timeout: no sample")
	// ErrFlushing is returned by Pull and Push while the pipeline is stopped
	// (state NULL/READY) or flushing; it is transient during a flushing seek.
	ErrFlushing = errors.New("gst: pipeline is flushing or stopped")
	// ErrClosed is returned after the pipeline was closed.
	ErrClosed = errors.New("gst: pipeline closed")
)

var (
	initOnce sync.Once
	initErr  error
)

// Init initialises GStreamer. It is idempotent and safe for concurrent use;
// Launch calls it, so calling it explicitly is optional.
func Init() error {
	initOnce.Do(func() {
		var gerr *C.GError
		if C.gst_init_check(nil, nil, &gerr) == 0 {
			initErr = errors.New("gst: cannot initialise GStreamer")
			if gerr != nil {
				initErr = fmt.Errorf("gst: cannot initialise GStreamer: %s", C.GoString(gerr.message))
				C.g_error_free(gerr)
			}
		}
	})
	return initErr
}

// Version returns the runtime GStreamer version, e.g. "1.22.0".
func Version() string {
	if Init() != nil {
		return ""
	}
	var maj, min, mic, nano C.guint
	C.gst_version(&maj, &min, &mic, &nano)
	if nano != 0 {
		return fmt.Sprintf("%d.%d.%d.%d", maj, min, mic, nano)
	}
	return fmt.Sprintf("%d.%d.%d", maj, min, mic)
}

// goString copies a g_malloc'ed C string and frees it.
func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.g_free(C.gpointer(s))
	return C.GoString(s)
}

// Error is an error message posted on a pipeline's bus.
type Error struct {
	Source string // name of the element that posted it
	Text   string // human-readable message
	Debug  string // GStreamer debug detail (source location, file names...)
}

func (e *Error) Error() string { return "gst: " + e.detail() }

func (e *Error) detail() string {
	s := fmt.Sprintf("element %q: %s", e.Source, e.Text)
	if e.Debug != "" {
		s += " (" + e.Debug + ")"
	}
	return s
}

// wrapped is an error with its own text that still matches err with
// errors.Is/As.
type wrapped struct {
	text string
	err  error
}

func (w *wrapped) Error() string { return w.text }
func (w *wrapped) Unwrap() error { return w.err }

// State is a GStreamer element state.
type State int

// Element states.
const (
	StateVoidPending State = C.GST_STATE_VOID_PENDING
	StateNull        State = C.GST_STATE_NULL
	StateReady       State = C.GST_STATE_READY
	StatePaused      State = C.GST_STATE_PAUSED
	StatePlaying     State = C.GST_STATE_PLAYING
)

func (s State) String() string {
	switch s {
	case StateVoidPending:
		return "VOID_PENDING"
	case StateNull:
		return "NULL"
	case StateReady:
		return "READY"
	case StatePaused:
		return "PAUSED"
	case StatePlaying:
		return "PLAYING"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Pipeline is a parsed GStreamer pipeline. Its methods are safe for
// concurrent use; Close may be called while Pull or Push are blocked in
// other goroutines (they return ErrClosed or ErrFlushing).
type Pipeline struct {
	mu     sync.RWMutex // R: any use of c; W: teardown
	closed atomic.Bool
	c      *C.vf_pipeline
	name   string
	sinks  map[string]*AppSink
	srcs   map[string]*AppSrc
}

// Launch builds a pipeline from a gst-launch-1.0 style description. Parse
// errors (unknown element, bad link, bad property) are returned with
// GStreamer's text, which names the element at fault. A description that is
// a single element or bin is wrapped in a pipeline.
func Launch(desc string) (*Pipeline, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	cdesc := C.CString(desc)
	defer C.free(unsafe.Pointer(cdesc))
	var cerr *C.char
	c := C.vf_launch(cdesc, &cerr)
	if c == nil {
		return nil, fmt.Errorf("gst: parse %q: %s", desc, goString(cerr))
	}
	launched.Add(1)
	return &Pipeline{c: c, name: C.GoString(C.vf_pipeline_name(c)),
		sinks: map[string]*AppSink{}, srcs: map[string]*AppSrc{}}, nil
}

// launched counts the pipelines Launch made, for tests that a source kept
// its pipeline (file-loop rewinds) or made new ones (reconnection).
var launched atomic.Int64

// Launched returns how many pipelines Launch has made in this process.
func Launched() int64 { return launched.Load() }

// Name returns the pipeline's element name (e.g. "pipeline0").
func (p *Pipeline) Name() string { return p.name }

// use runs f with the pipeline open, or returns ErrClosed.
func (p *Pipeline) use(f func() error) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.c == nil || p.closed.Load() {
		return ErrClosed
	}
	return f()
}

// SetState changes the pipeline state. Asynchronous changes (the usual case
// for PAUSED and PLAYING) return at once; failures are reported with the
// first error message posted on the bus, which names the element at fault.
// Going to READY or NULL forgets the recorded error (see Err).
func (p *Pipeline) SetState(s State) error {
	return p.use(func() error {
		if C.gst_element_set_state(p.c.pipe, C.GstState(s)) != C.GST_STATE_CHANGE_FAILURE {
			if s <= StateReady {
				C.vf_clear_error(p.c)
			}
			return nil
		}
		if e, _ := p.firstError().(*Error); e != nil {
			return &wrapped{fmt.Sprintf("gst: %s: set state %v failed: %s", p.name, s, e.detail()), e}
		}
		return fmt.Errorf("gst: %s: set state %v failed (no error message on the bus)", p.name, s)
	})
}

// Play sets the pipeline to PLAYING.
func (p *Pipeline) Play() error { return p.SetState(StatePlaying) }

// Pause sets the pipeline to PAUSED.
func (p *Pipeline) Pause() error { return p.SetState(StatePaused) }

// Stop sets the pipeline to NULL, stopping all streaming threads. The
// pipeline can be played again.
func (p *Pipeline) Stop() error { return p.SetState(StateNull) }

// Close stops the pipeline and releases it. It is safe to call twice and
// while other goroutines are blocked in Pull or Push. Samples already pulled
// stay valid until released.
func (p *Pipeline) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	p.mu.RLock()
	if p.c != nil {
		// Unblocks Pull/Push in other goroutines before taking the write lock.
		C.gst_element_set_state(p.c.pipe, C.GST_STATE_NULL)
	}
	p.mu.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.sinks {
		C.vf_sink_free(s.c)
		s.c = nil
	}
	for _, s := range p.srcs {
		C.gst_object_unref(C.gpointer(s.c))
		s.c = nil
	}
	if p.c != nil {
		C.vf_pipeline_free(p.c)
		p.c = nil
	}
	return nil
}

// Err returns the first error posted on the bus since the pipeline was
// created or last stopped, or nil. It does not remove the message from the
// bus. Pull returns it too, instead of ErrTimeout.
func (p *Pipeline) Err() error {
	var err error
	if e := p.use(func() error { err = p.firstError(); return nil }); e != nil {
		return e
	}
	return err
}

// firstError must be called with p.mu held.
func (p *Pipeline) firstError() error {
	var src, dbg *C.char
	text := C.vf_first_error(p.c, &src, &dbg)
	if text == nil {
		return nil
	}
	return &Error{Source: goString(src), Text: goString(text), Debug: goString(dbg)}
}

// HasElement reports whether the pipeline holds an element (at any depth)
// with that name.
func (p *Pipeline) HasElement(name string) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	found := false
	_ = p.use(func() error { found = C.vf_has_element(p.c, cname) != 0; return nil })
	return found
}

// SetProperty sets property name of the element named element. The Go value
// is converted to the property's type: bool; any integer kind (range-checked;
// also for enums and flags by number); float32/float64; time.Duration (as
// nanoseconds); string (for string properties as is, otherwise parsed as
// GStreamer does: numbers, booleans, enum nicks/names, flags "a+b", caps).
func (p *Pipeline) SetProperty(element, name string, value any) error {
	kind, neg, mag, d, str := C.int(0), false, uint64(0), 0.0, ""
	v := reflect.ValueOf(value)
	if value != nil {
		switch v.Kind() {
		case reflect.Bool:
			kind = C.VF_BOOL
			if v.Bool() {
				mag = 1
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			kind, neg, mag = C.VF_INT, v.Int() < 0, uint64(v.Int())
			if neg {
				mag = -mag
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			kind, mag = C.VF_INT, v.Uint()
		case reflect.Float32, reflect.Float64:
			kind, d = C.VF_DOUBLE, v.Float()
		case reflect.String:
			kind, str = C.VF_STRING, v.String()
		}
	}
	if kind == 0 {
		return fmt.Errorf("gst: set property %q of element %q: unsupported Go type %T", name, element, value)
	}
	celem, cname := C.CString(element), C.CString(name)
	defer C.free(unsafe.Pointer(celem))
	defer C.free(unsafe.Pointer(cname))
	var cstr *C.char
	if kind == C.VF_STRING {
		cstr = C.CString(str)
		defer C.free(unsafe.Pointer(cstr))
	}
	cneg := C.gboolean(0)
	if neg {
		cneg = 1
	}
	return p.use(func() error {
		if e := C.vf_set_property(p.c, celem, cname, kind, cneg, C.guint64(mag), C.double(d), cstr); e != nil {
			return fmt.Errorf("gst: set property: %s", goString(e))
		}
		return nil
	})
}

// MessageType classifies bus messages.
type MessageType int

// Message types. Types without a constant of their own are MessageOther.
const (
	MessageOther MessageType = iota
	MessageEOS
	MessageError
	MessageWarning
	MessageInfo
	MessageStateChanged
	MessageStreamStart
	MessageElement
	MessageAsyncDone
)

var messageTypeNames = [...]string{"Other", "EOS", "Error", "Warning", "Info", "StateChanged",
	"StreamStart", "Element", "AsyncDone"}

func (t MessageType) String() string {
	if t >= 0 && int(t) < len(messageTypeNames) {
		return messageTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// Message is a copy of a bus message; the GstMessage itself is already
// released.
type Message struct {
	Type   MessageType
	Source string // name of the posting element ("" if none)
	// Text: the error/warning/info message; for other types the message's
	// structure serialized (e.g. an Element message), if it has one.
	Text  string
	Debug string // error/warning/info debug detail
	// TypeName is GStreamer's name of the message type ("eos", "latency"...).
	TypeName                    string
	OldState, NewState, Pending State // StateChanged only
}

// Err returns the message as an *Error for Error messages, else nil.
func (m *Message) Err() error {
	if m.Type != MessageError {
		return nil
	}
	return &Error{Source: m.Source, Text: m.Text, Debug: m.Debug}
}

// popSlice bounds each blocking wait of PopMessage so that Close, which
// waits for in-flight calls, is never held up by an idle bus for longer.
const popSlice = 100 * time.Millisecond

// PopMessage removes the next message from the bus, waiting up to timeout
// (negative: forever; zero: do not wait). ok is false when none came or the
// pipeline is closed.
func (p *Pipeline) PopMessage(timeout time.Duration) (m *Message, ok bool) {
	var cm C.vf_msg
	deadline := time.Now().Add(timeout)
	for {
		wait := popSlice
		if timeout >= 0 {
			wait = min(time.Until(deadline), popSlice)
		}
		closed := p.use(func() error {
			ok = C.vf_pop_message(p.c, C.gint64(max(wait, 0)), &cm) != 0
			return nil
		}) != nil
		if ok || closed || (timeout >= 0 && time.Until(deadline) <= 0) {
			break
		}
	}
	if !ok {
		return nil, false
	}
	m = &Message{Source: goString(cm.src), Text: goString(cm.text), Debug: goString(cm.debug),
		TypeName: C.GoString(C.gst_message_type_get_name(C.GstMessageType(cm._type))),
		OldState: State(cm.old_state), NewState: State(cm.new_state), Pending: State(cm.pending_state)}
	switch C.GstMessageType(cm._type) {
	case C.GST_MESSAGE_EOS:
		m.Type = MessageEOS
	case C.GST_MESSAGE_ERROR:
		m.Type = MessageError
	case C.GST_MESSAGE_WARNING:
		m.Type = MessageWarning
	case C.GST_MESSAGE_INFO:
		m.Type = MessageInfo
	case C.GST_MESSAGE_STATE_CHANGED:
		m.Type = MessageStateChanged
	case C.GST_MESSAGE_STREAM_START:
		m.Type = MessageStreamStart
	case C.GST_MESSAGE_ELEMENT:
		m.Type = MessageElement
	case C.GST_MESSAGE_ASYNC_DONE:
		m.Type = MessageAsyncDone
	}
	return m, true
}

// liveSamples counts pulled samples not yet released.
var liveSamples atomic.Int64

// LiveSamples returns the number of samples pulled and not yet released, in
// all pipelines. Tests use it to check that everything was released.
func LiveSamples() int64 { return liveSamples.Load() }

// AppSink is an appsink element of a pipeline.
type AppSink struct {
	p    *Pipeline
	name string
	c    *C.vf_sink
}

// AppSink returns the appsink named name. Its max-buffers is set to
// DefaultMaxBuffers if the description left it unbounded (0). Repeated calls
// return the same *AppSink; it is released by the pipeline's Close.
func (p *Pipeline) AppSink(name string) (*AppSink, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c == nil || p.closed.Load() {
		return nil, ErrClosed
	}
	if s := p.sinks[name]; s != nil {
		return s, nil
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cerr *C.char
	c := C.vf_sink_new(p.c, cname, DefaultMaxBuffers, &cerr)
	if c == nil {
		return nil, fmt.Errorf("gst: %s: %s", p.name, goString(cerr))
	}
	s := &AppSink{p: p, name: name, c: c}
	p.sinks[name] = s
	return s, nil
}

// Sample is one buffer pulled from an appsink, mapped for reading.
// Data is a zero-copy view of the buffer's memory, valid until Release.
type Sample struct {
	Data          []byte
	Width, Height int    // 0 for non-video caps
	Format        string // video format from caps/meta: "RGB", "RGBA", "I420", "NV12", "GRAY8"...
	Planes        int
	Strides       [4]int        // bytes per row of each plane
	Offsets       [4]int        // start of each plane in Data
	PTS, Duration time.Duration // NoTime when unknown
	// Device is set for CUDA memory (caps with memory:CUDAMemory): the
	// buffer is mapped as a device pointer, DevPtr (plane i at
	// DevPtr+Offsets[i], rows Strides[i] apart), and Data is nil.
	Device bool
	DevPtr unsafe.Pointer

	released atomic.Bool
	f        C.vf_frame // holds the GstSample ref and the GstMapInfo
}

// Release unmaps the buffer and drops the sample. Data must not be used
// afterwards. It is idempotent.
func (s *Sample) Release() {
	if s == nil || s.released.Swap(true) {
		return
	}
	s.Data = nil
	C.vf_frame_release(&s.f)
	liveSamples.Add(-1)
}

// Pull waits up to timeout (negative: forever) for the next sample. It
// returns io.EOF at end of stream, ErrTimeout when nothing came, the
// pipeline's bus error if one was posted, ErrFlushing while the pipeline is
// stopped or flushing, and ErrClosed after Close. Concurrent Pulls on one
// AppSink are allowed (each sample goes to one caller).
func (a *AppSink) Pull(timeout time.Duration) (*Sample, error) {
	p := a.p
	p.mu.RLock()
	if p.c == nil || p.closed.Load() {
		p.mu.RUnlock()
		return nil, ErrClosed
	}
	s := &Sample{}
	rc := C.vf_sink_pull(a.c, C.gint64(timeout), &s.f)
	var err error
	if rc == C.VF_PULL_ERROR {
		err = p.firstError()
	}
	p.mu.RUnlock()
	switch {
	case err != nil:
		return nil, err
	case rc == C.VF_PULL_EOS:
		return nil, io.EOF
	case rc == C.VF_PULL_TIMEOUT:
		return nil, ErrTimeout
	case rc == C.VF_PULL_FLUSHING:
		if p.closed.Load() {
			return nil, ErrClosed
		}
		return nil, ErrFlushing
	case rc == C.VF_PULL_ERROR: // error cleared meanwhile by a Stop
		return nil, ErrFlushing
	case rc == C.VF_PULL_NOBUF:
		return nil, fmt.Errorf("gst: appsink %q: sample has no readable buffer", a.name)
	}
	liveSamples.Add(1)
	f := &s.f
	if f.cuda != 0 {
		s.Device, s.DevPtr = true, unsafe.Pointer(f._map.data)
	} else {
		s.Data = unsafe.Slice((*byte)(f._map.data), int(f._map.size))
	}
	s.Width, s.Height, s.Planes = int(f.width), int(f.height), int(f.n_planes)
	s.Format = formatName(f.format)
	for i := range 4 {
		s.Strides[i], s.Offsets[i] = int(f.stride[i]), int(f.offset[i])
	}
	s.PTS, s.Duration = time.Duration(f.pts), time.Duration(f.duration)
	return s, nil
}

var formatNames sync.Map // C.gint -> string, for formats outside the switch

// formatName maps a GstVideoFormat to its name without allocating for the
// common formats.
func formatName(f C.gint) string {
	switch f {
	case 0:
		return ""
	case C.GST_VIDEO_FORMAT_RGB:
		return "RGB"
	case C.GST_VIDEO_FORMAT_BGR:
		return "BGR"
	case C.GST_VIDEO_FORMAT_RGBA:
		return "RGBA"
	case C.GST_VIDEO_FORMAT_BGRA:
		return "BGRA"
	case C.GST_VIDEO_FORMAT_RGBx:
		return "RGBx"
	case C.GST_VIDEO_FORMAT_BGRx:
		return "BGRx"
	case C.GST_VIDEO_FORMAT_I420:
		return "I420"
	case C.GST_VIDEO_FORMAT_NV12:
		return "NV12"
	case C.GST_VIDEO_FORMAT_GRAY8:
		return "GRAY8"
	}
	if n, ok := formatNames.Load(f); ok {
		return n.(string)
	}
	n := C.GoString(C.gst_video_format_to_string(C.GstVideoFormat(f)))
	formatNames.Store(f, n)
	return n
}

// AppSrc is an appsrc element of a pipeline.
type AppSrc struct {
	p    *Pipeline
	name string
	c    *C.GstElement
}

// AppSrc returns the appsrc named name, configured for timestamped buffers
// (format=time unless the description chose another non-byte format) and
// block=true, so Push blocks while the appsrc queue is full (max-bytes,
// default 200000, plus at most one buffer). Repeated calls return the same
// *AppSrc; it is released by the pipeline's Close.
func (p *Pipeline) AppSrc(name string) (*AppSrc, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c == nil || p.closed.Load() {
		return nil, ErrClosed
	}
	if s := p.srcs[name]; s != nil {
		return s, nil
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cerr *C.char
	c := C.vf_src_new(p.c, cname, &cerr)
	if c == nil {
		return nil, fmt.Errorf("gst: %s: %s", p.name, goString(cerr))
	}
	s := &AppSrc{p: p, name: name, c: c}
	p.srcs[name] = s
	return s, nil
}

// SetCaps sets the caps of the buffers the appsrc will push, e.g.
// "video/x-raw,format=RGB,width=640,height=480,framerate=10/1".
func (a *AppSrc) SetCaps(caps string) error {
	cs := C.CString(caps)
	defer C.free(unsafe.Pointer(cs))
	return a.p.use(func() error {
		if e := C.vf_src_set_caps(a.c, cs); e != nil {
			return fmt.Errorf("gst: appsrc %q: %s", a.name, goString(e))
		}
		return nil
	})
}

// Push copies data into a new buffer with the given PTS and duration (NoTime
// for none) and queues it. It blocks while the appsrc queue is full. It
// fails with an error wrapping ErrFlushing while the pipeline is below
// PAUSED (not started, stopped) or flushing.
func (a *AppSrc) Push(data []byte, pts, duration time.Duration) error {
	if len(data) == 0 {
		return fmt.Errorf("gst: appsrc %q: empty buffer", a.name)
	}
	a.p.mu.RLock()
	defer a.p.mu.RUnlock()
	if a.p.c == nil || a.p.closed.Load() {
		return ErrClosed
	}
	return a.flowErr("push", C.vf_src_push(a.c, unsafe.Pointer(&data[0]), C.gsize(len(data)),
		C.gint64(pts), C.gint64(duration)))
}

// EndOfStream signals that no more buffers will be pushed.
func (a *AppSrc) EndOfStream() error {
	return a.p.use(func() error { return a.flowErr("end of stream", C.vf_src_eos(a.c)) })
}

func (a *AppSrc) flowErr(op string, r C.int) error {
	switch r {
	case C.GST_FLOW_OK:
		return nil
	case C.GST_FLOW_FLUSHING:
		if a.p.closed.Load() {
			return ErrClosed
		}
		return &wrapped{fmt.Sprintf("gst: appsrc %q: %s: pipeline is flushing or stopped", a.name, op), ErrFlushing}
	case C.GST_FLOW_EOS:
		return fmt.Errorf("gst: appsrc %q: %s: already at end of stream", a.name, op)
	}
	return fmt.Errorf("gst: appsrc %q: %s: %s", a.name, op,
		C.GoString(C.gst_flow_get_name(C.GstFlowReturn(r))))
}
