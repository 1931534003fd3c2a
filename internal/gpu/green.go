package gpu

/*
#include <stdlib.h>
#include "gpu.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"unsafe"
)

// ModelSMsEnv names the experiment that confines each session's model to
// a CUDA green context of that many SMs (the driver rounds up), leaving
// the others to the decoders' kernels. Unset or 0: the whole GPU, as
// before. docs/gpu.md says what it is for.
const ModelSMsEnv = "VIDFLOW_MODEL_SMS"

// modelSMs is ModelSMsEnv's value, checked.
func modelSMs() (int, error) {
	v := os.Getenv(ModelSMsEnv)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 4096 {
		return 0, fmt.Errorf("%s=%q: want a number of SMs (0: the whole GPU)", ModelSMsEnv, v)
	}
	return n, nil
}

var greenMu sync.Mutex

// GreenStream makes a non-blocking stream whose work runs on sms of the
// device's SMs only (a CUDA 12.4 driver's green context, one per device
// and process).
func GreenStream(device, sms int) (*Stream, error) {
	if err := LoadKernels(); err != nil { // the driver API, for its error names
		return nil, err
	}
	greenMu.Lock()
	defer greenMu.Unlock()
	var buf [512]C.char
	s := &Stream{}
	if C.vf_green_stream(C.int(device), C.uint(sms), &s.s, &buf[0], C.size_t(len(buf))) != 0 {
		return nil, fmt.Errorf("GPU %d: a green context of %d SMs (%s): %s", device, sms, ModelSMsEnv, C.GoString(&buf[0]))
	}
	return s, nil
}

// Event orders work between streams (cudaEvent_t, without timing).
type Event struct{ e unsafe.Pointer }

// NewEvent makes an event.
func NewEvent() (*Event, error) {
	e := &Event{}
	if err := check(C.vf_cuda_event_create(&e.e), "cudaEventCreate"); err != nil {
		return nil, err
	}
	return e, nil
}

// Record marks the work queued on s so far.
func (s *Stream) Record(e *Event) error {
	return check(C.vf_cuda_event_record(e.e, s.s), "cudaEventRecord")
}

// WaitFor makes the work queued on s from now on wait for e's.
func (s *Stream) WaitFor(e *Event) error {
	return check(C.vf_cuda_stream_wait_event(s.s, e.e), "cudaStreamWaitEvent")
}

// Close destroys the event.
func (e *Event) Close() {
	if e != nil && e.e != nil {
		C.vf_cuda_event_destroy(e.e)
		e.e = nil
	}
}

// greenModel is a session's model stream on a green context: the
// session's own stream (uploads, preprocessing, read-back) records an
// event the model's work waits for, and waits for the model's in turn.
// Its methods on nil do nothing: the session without the experiment.
type greenModel struct {
	device  int
	sms     int
	stream  *Stream
	in, out *Event
}

// newGreenModel is the model stream ModelSMsEnv asks for, or nil.
func newGreenModel(device int) (*greenModel, error) {
	sms, err := modelSMs()
	if err != nil || sms == 0 {
		return nil, err
	}
	g := &greenModel{device: device, sms: sms}
	if g.stream, err = GreenStream(device, sms); err == nil {
		if g.in, err = NewEvent(); err == nil {
			g.out, err = NewEvent()
		}
	}
	if err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

// enter orders the model's next work after what s has queued.
func (g *greenModel) enter(s *Stream) error {
	if g == nil {
		return nil
	}
	if err := s.Record(g.in); err != nil {
		return err
	}
	return g.stream.WaitFor(g.in)
}

// leave orders what s queues next after the model's work.
func (g *greenModel) leave(s *Stream) error {
	if g == nil {
		return nil
	}
	if err := g.stream.Record(g.out); err != nil {
		return err
	}
	return s.WaitFor(g.out)
}

// run calls f, the model's run, with the green context current on the
// thread: the libraries launch into the current context, and a Go
// goroutine may move between threads, so the thread is locked meanwhile.
func (g *greenModel) run(f func() error) error {
	if g == nil {
		return f()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := C.vf_green_push(C.int(g.device)); rc != 0 {
		return fmt.Errorf("GPU %d: making the green context current (%s): CUresult %d", g.device, ModelSMsEnv, int(rc))
	}
	defer C.vf_green_pop()
	return f()
}

func (g *greenModel) close() {
	if g == nil {
		return
	}
	g.in.Close()
	g.out.Close()
	g.stream.Close()
}
