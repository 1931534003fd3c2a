package gpu

/*
#include <stdlib.h>
#include "gpu.h"
*/
import "C"

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// ElemType is an ONNX tensor element type handled here.
type ElemType int

// ONNX element type codes.
const (
	Float32 ElemType = 1
	Uint8   ElemType = 2
)

// Size is the byte size of one element.
func (t ElemType) Size() int {
	if t == Uint8 {
		return 1
	}
	return 4
}

var ortLoad struct {
	sync.Mutex
	lib string
	env unsafe.Pointer
}

// LoadORT opens ONNX Runtime's C API from lib, the library the process
// already loaded (through onnxruntime_go), and takes a reference to its
// environment. It needs a build with the CUDA execution provider.
func LoadORT(lib string) error {
	ortLoad.Lock()
	defer ortLoad.Unlock()
	if ortLoad.env != nil {
		if lib != ortLoad.lib {
			return fmt.Errorf("ONNX Runtime C API already opened from %s, not %s", ortLoad.lib, lib)
		}
		return nil
	}
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	var buf [512]C.char
	if C.vf_ort_load(clib, &buf[0], C.size_t(len(buf))) != 0 {
		return fmt.Errorf("ONNX Runtime %s: %s", lib, C.GoString(&buf[0]))
	}
	if err := status(C.vf_ort_create_env(&ortLoad.env), "CreateEnv"); err != nil {
		return err
	}
	ortLoad.lib = lib
	return nil
}

// ORTVersion is the version of the ONNX Runtime opened by LoadORT.
func ORTVersion() string { return C.GoString(C.vf_ort_version()) }

// HasCUDAProvider reports whether the ONNX Runtime build offers the CUDA
// execution provider (its provider library may still be missing).
func HasCUDAProvider() bool {
	name := C.CString("CUDAExecutionProvider")
	defer C.free(unsafe.Pointer(name))
	return C.vf_ort_has_provider(name) != 0
}

func status(st unsafe.Pointer, call string) error {
	if st == nil {
		return nil
	}
	var buf [2048]C.char
	C.vf_ort_status(st, &buf[0], C.size_t(len(buf)))
	return fmt.Errorf("ONNX Runtime %s: %s", call, C.GoString(&buf[0]))
}

// Tensor is one input or output of a Session: its name, element type and
// dimensions of one image (without the batch axis).
type Tensor struct {
	Name string
	Type ElemType
	Dims []int
	// Download copies the output to host memory after each run (outputs
	// only). Outputs not downloaded stay on the device.
	Download bool
}

func (t Tensor) perImage() int {
	n := t.Type.Size()
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// SessionConfig opens a model on a GPU.
type SessionConfig struct {
	Model    string
	Device   int
	MaxBatch int
	Threads  int // intra-op threads for the nodes left on the CPU (0: ONNX Runtime's choice)
	Input    Tensor
	Outputs  []Tensor
	// Options are CUDA execution provider options ("prefer_nhwc": "1",
	// "enable_cuda_graph": "1", "cudnn_conv_algo_search": "HEURISTIC", ...).
	Options map[string]string
	// Profile, when set, is the file prefix of ONNX Runtime's profile
	// (written by Close; its path is then in ProfileFile).
	Profile string
}

// Session runs a model with ONNX Runtime's CUDA execution provider on
// device-resident inputs and outputs: each run uploads the batch's input
// from pinned host memory once, ONNX Runtime reads and writes device
// memory bound to the session (I/O binding), and only the outputs marked
// Download come back, into pinned host memory. One goroutine at a time.
type Session struct {
	cfg         SessionConfig
	sess, opts  unsafe.Pointer
	memInfo     unsafe.Pointer
	stream      *Stream
	green       *greenModel // the model's own stream on some SMs (ModelSMsEnv), or nil
	inHost      *HostMemory
	inDev       *DeviceMemory
	outDev      []*DeviceMemory
	outHost     []*HostMemory
	bindings    map[int]*binding
	names       []*C.char
	n           int // images of the last run
	ProfileFile string
	timing      *Timing
}

// Timing splits runs into their parts, each waited for (Session.Time).
type Timing struct {
	Runs                    int
	Upload, Model, Download time.Duration
}

// binding is the I/O binding of one run size.
type binding struct {
	b      unsafe.Pointer
	values []unsafe.Pointer
}

// OpenSession opens cfg.Model on the CUDA execution provider. LoadORT must
// have succeeded. Errors name the model, the device and the cause: no GPU,
// a wrong device, the provider library missing or of the wrong CUDA.
func OpenSession(cfg SessionConfig) (s *Session, err error) {
	if ortLoad.env == nil {
		return nil, fmt.Errorf("ONNX Runtime's C API is not open (LoadORT)")
	}
	if err := CheckDevice(cfg.Device); err != nil {
		return nil, err
	}
	if cfg.MaxBatch < 1 {
		return nil, fmt.Errorf("gpu session: batch %d, want at least 1", cfg.MaxBatch)
	}
	if !HasCUDAProvider() {
		return nil, fmt.Errorf("ONNX Runtime %s (%s) is built without the CUDA execution provider: use a CUDA build (see docs/gpu.md)", ORTVersion(), ortLoad.lib)
	}
	s = &Session{cfg: cfg, bindings: map[int]*binding{}}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	if s.stream, err = NewStream(cfg.Device); err != nil {
		return nil, err
	}
	var prof *C.char
	if cfg.Profile != "" {
		prof = C.CString(cfg.Profile)
		defer C.free(unsafe.Pointer(prof))
	}
	if err := status(C.vf_ort_create_session_options(&s.opts, C.int(cfg.Threads), prof), "CreateSessionOptions"); err != nil {
		return nil, err
	}
	opts := map[string]string{"device_id": fmt.Sprint(cfg.Device)}
	for k, v := range cfg.Options {
		opts[k] = v
	}
	// ONNX Runtime works on this session's stream: the upload is ordered
	// before the model without the host waiting in between. With
	// ModelSMsEnv, on a stream of its own on those SMs, ordered by events.
	model := s.stream
	if s.green, err = newGreenModel(cfg.Device); err != nil {
		return nil, err
	}
	if s.green != nil {
		model = s.green.stream
	}
	opts["has_user_compute_stream"] = "1"
	opts["user_compute_stream"] = fmt.Sprint(model.Handle())
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ck := make([]*C.char, len(keys))
	cv := make([]*C.char, len(keys))
	for i, k := range keys {
		ck[i], cv[i] = C.CString(k), C.CString(opts[k])
	}
	st := C.vf_ort_append_cuda(s.opts, &ck[0], &cv[0], C.size_t(len(keys)))
	for i := range ck {
		C.free(unsafe.Pointer(ck[i]))
		C.free(unsafe.Pointer(cv[i]))
	}
	if err := status(st, "CUDA execution provider"); err != nil {
		return nil, fmt.Errorf("%v (needs libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so beside %s, built for this CUDA; cuDNN 9 and cuBLAS on LD_LIBRARY_PATH)", err, ortLoad.lib)
	}
	cpath := C.CString(cfg.Model)
	defer C.free(unsafe.Pointer(cpath))
	if err := status(C.vf_ort_create_session(ortLoad.env, cpath, s.opts, &s.sess), "CreateSession"); err != nil {
		return nil, fmt.Errorf("model %s on GPU %d: %v", cfg.Model, cfg.Device, err)
	}
	if err := status(C.vf_ort_create_cuda_memory_info(C.int(cfg.Device), &s.memInfo), "CreateMemoryInfo"); err != nil {
		return nil, err
	}
	in := cfg.Input.perImage() * cfg.MaxBatch
	if s.inHost, err = AllocHost(in); err != nil {
		return nil, err
	}
	if s.inDev, err = Alloc(cfg.Device, in); err != nil {
		return nil, fmt.Errorf("model %s input: %v", cfg.Model, err)
	}
	for _, o := range cfg.Outputs {
		d, err := Alloc(cfg.Device, o.perImage()*cfg.MaxBatch)
		if err != nil {
			return nil, fmt.Errorf("model %s output %q: %v", cfg.Model, o.Name, err)
		}
		s.outDev = append(s.outDev, d)
		var h *HostMemory
		if o.Download {
			if h, err = AllocHost(o.perImage() * cfg.MaxBatch); err != nil {
				return nil, err
			}
		}
		s.outHost = append(s.outHost, h)
	}
	s.names = append(s.names, C.CString(cfg.Input.Name))
	for _, o := range cfg.Outputs {
		s.names = append(s.names, C.CString(o.Name))
	}
	return s, nil
}

// Input is the pinned host memory of the input of n images: fill it, then Run(n).
func (s *Session) Input(n int) []byte { return s.inHost.Bytes[:n*s.cfg.Input.perImage()] }

// Run uploads the input of n images, runs the model and downloads the
// outputs marked Download; it returns when they are in host memory.
func (s *Session) Run(n int) error { return s.run(n, true) }

// RunBound is Run for an input already written into InputDevice by work
// queued on the session's stream (a preprocessing kernel): nothing is
// uploaded.
func (s *Session) RunBound(n int) error { return s.run(n, false) }

// InputDevice is the device memory bound as the model's input (MaxBatch
// images, each Input(1) bytes long).
func (s *Session) InputDevice() *DeviceMemory { return s.inDev }

func (s *Session) run(n int, upload bool) error {
	if n < 1 || n > s.cfg.MaxBatch {
		return fmt.Errorf("gpu session: run of %d images, batch is 1..%d", n, s.cfg.MaxBatch)
	}
	b, err := s.bind(n)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if upload {
		if err := s.stream.Upload(s.inDev, 0, s.Input(n)); err != nil {
			return err
		}
	}
	if s.timing != nil {
		if err := s.stream.Sync(); err != nil {
			return err
		}
	}
	t1 := time.Now()
	if err := s.green.enter(s.stream); err != nil {
		return err
	}
	if err := s.green.run(func() error { return status(C.vf_ort_run_with_binding(s.sess, b.b), "Run") }); err != nil {
		return fmt.Errorf("model %s on GPU %d: %v", s.cfg.Model, s.cfg.Device, err)
	}
	if err := s.green.leave(s.stream); err != nil {
		return err
	}
	if s.timing != nil {
		if err := s.stream.Sync(); err != nil {
			return err
		}
	}
	t2 := time.Now()
	for i, o := range s.cfg.Outputs {
		if o.Download {
			if err := s.stream.Download(s.outHost[i].Bytes[:n*o.perImage()], s.outDev[i], 0); err != nil {
				return err
			}
		}
	}
	s.n = n
	err = s.stream.Sync()
	if t := s.timing; t != nil {
		t.Runs++
		t.Upload += t1.Sub(t0)
		t.Model += t2.Sub(t1)
		t.Download += time.Since(t2)
	}
	return err
}

// Time runs the model runs times on n images, waiting for each part
// (upload, model, download) to finish before the next starts, and returns
// the total time of each part.
func (s *Session) Time(n, runs int) (Timing, error) {
	s.timing = &Timing{}
	defer func() { s.timing = nil }()
	for range runs {
		if err := s.Run(n); err != nil {
			return Timing{}, err
		}
	}
	return *s.timing, nil
}

// Output is output i of the last run, in pinned host memory (nil for an
// output not downloaded). Valid until the next Run.
func (s *Session) Output(i int) []float32 {
	h := s.outHost[i]
	if h == nil || s.n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&h.Bytes[0])), s.n*s.cfg.Outputs[i].perImage()/4)
}

// DeviceOutput is the device memory of output i (all MaxBatch images; the
// last run wrote the first n).
func (s *Session) DeviceOutput(i int) *DeviceMemory { return s.outDev[i] }

// Stream is the session's CUDA stream.
func (s *Session) Stream() *Stream { return s.stream }

func shapeOf(n int, dims []int) []C.int64_t {
	sh := []C.int64_t{C.int64_t(n)}
	for _, d := range dims {
		sh = append(sh, C.int64_t(d))
	}
	return sh
}

// bind returns the binding of runs of n images, made on first use.
func (s *Session) bind(n int) (*binding, error) {
	if b, ok := s.bindings[n]; ok {
		return b, nil
	}
	b := &binding{}
	fail := func(err error) (*binding, error) {
		b.release()
		return nil, err
	}
	if err := status(C.vf_ort_create_io_binding(s.sess, &b.b), "CreateIoBinding"); err != nil {
		return fail(err)
	}
	all := append([]Tensor{s.cfg.Input}, s.cfg.Outputs...)
	for i, t := range all {
		mem := s.inDev
		if i > 0 {
			mem = s.outDev[i-1]
		}
		sh := shapeOf(n, t.Dims)
		var v unsafe.Pointer
		if err := status(C.vf_ort_create_tensor(s.memInfo, mem.Ptr, C.size_t(n*t.perImage()), &sh[0], C.size_t(len(sh)), C.int(t.Type), &v), "CreateTensor"); err != nil {
			return fail(fmt.Errorf("model %s, %q: %v", s.cfg.Model, t.Name, err))
		}
		b.values = append(b.values, v)
		var st unsafe.Pointer
		what := "BindInput"
		if i == 0 {
			st = C.vf_ort_bind_input(b.b, s.names[i], v)
		} else {
			st, what = C.vf_ort_bind_output(b.b, s.names[i], v), "BindOutput"
		}
		if err := status(st, what); err != nil {
			return fail(fmt.Errorf("model %s, %q: %v", s.cfg.Model, t.Name, err))
		}
	}
	s.bindings[n] = b
	return b, nil
}

func (b *binding) release() {
	if b.b != nil {
		C.vf_ort_release_io_binding(b.b)
		b.b = nil
	}
	for _, v := range b.values {
		C.vf_ort_release_value(v)
	}
	b.values = nil
}

// Close ends the session (writing the profile, if asked for) and frees
// its memory. It is safe to call twice.
func (s *Session) Close() {
	for _, b := range s.bindings {
		b.release()
	}
	s.bindings = map[int]*binding{}
	if s.sess != nil {
		if s.cfg.Profile != "" {
			var buf [1024]C.char
			if status(C.vf_ort_end_profiling(s.sess, &buf[0], C.size_t(len(buf))), "EndProfiling") == nil {
				s.ProfileFile = C.GoString(&buf[0])
			}
		}
		C.vf_ort_release_session(s.sess)
		s.sess = nil
	}
	if s.opts != nil {
		C.vf_ort_release_session_options(s.opts)
		s.opts = nil
	}
	if s.memInfo != nil {
		C.vf_ort_release_memory_info(s.memInfo)
		s.memInfo = nil
	}
	s.inHost.Free()
	s.inDev.Free()
	for _, m := range s.outDev {
		m.Free()
	}
	for _, m := range s.outHost {
		m.Free()
	}
	s.outDev, s.outHost = nil, nil
	for _, n := range s.names {
		C.free(unsafe.Pointer(n))
	}
	s.names = nil
	s.green.close()
	s.stream.Close()
}

// Describe says how the session runs, for the start-up report.
func (s *Session) Describe() string {
	var dl, dev []string
	for _, o := range s.cfg.Outputs {
		if o.Download {
			dl = append(dl, o.Name)
		} else {
			dev = append(dev, o.Name)
		}
	}
	d := fmt.Sprintf("ONNX Runtime %s CUDA provider, I/O binding, input %s %v uploaded per batch", ORTVersion(), typeName(s.cfg.Input.Type), s.cfg.Input.Dims)
	if len(dl) > 0 {
		d += ", read back: " + strings.Join(dl, ", ")
	}
	if len(dev) > 0 {
		d += ", kept on the GPU: " + strings.Join(dev, ", ")
	}
	if s.green != nil {
		d += fmt.Sprintf(", the model on a green context of %d SMs (%s)", s.green.sms, ModelSMsEnv)
	}
	return d + connectionsNote() + syncNote()
}

func typeName(t ElemType) string {
	if t == Uint8 {
		return "uint8"
	}
	return "float32"
}
