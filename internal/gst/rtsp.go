package gst

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-rtsp-server-1.0
#include <stdlib.h>
#include "extra.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// MaxRTSPSessions bounds the number of RTSP sessions (one per client that
// did a SETUP) of one RTSPServer; further SETUPs are refused (503).
const MaxRTSPSessions = 64

// rtspCloseWait bounds how long Close waits for the server's main loop.
const rtspCloseWait = 10 * time.Second

// ErrServerClosed is returned by RTSPServer methods after Close.
var ErrServerClosed = errors.New("gst: RTSP server closed")

// RTSPServer is an RTSP server (gst-rtsp-server) with a GMainContext of its
// own, dispatched by a goroutine locked to its OS thread; the default main
// context is never used. Clients and media pipelines run in the server's
// GstRTSPThreadPool threads. Sessions of clients that vanished without a
// TEARDOWN expire after their timeout (60 s) and are swept every 2 s. Its
// methods are safe for concurrent use. It must be Closed.
type RTSPServer struct {
	mu     sync.Mutex
	c      *C.vf_rtsp // nil once closed
	addr   string
	port   int
	done   chan struct{} // closed when the main loop has returned
	mounts map[string]bool
}

// NewRTSPServer listens on address:port ("" means 127.0.0.1; port 0 picks a
// free port, see Port) and starts serving. The listening socket is bound with
// SO_REUSEADDR, so a new server can take the port of a closed one at once.
func NewRTSPServer(address string, port int) (*RTSPServer, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if address == "" {
		address = "127.0.0.1"
	}
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("gst: RTSP server: invalid port %d", port)
	}
	caddr := C.CString(address)
	defer C.free(unsafe.Pointer(caddr))
	var cerr *C.char
	c := C.vf_rtsp_new(caddr, C.int(port), MaxRTSPSessions, &cerr)
	if c == nil {
		return nil, fmt.Errorf("gst: RTSP server on %s:%d: %s", address, port, goString(cerr))
	}
	s := &RTSPServer{c: c, addr: address, port: int(C.vf_rtsp_port(c)),
		done: make(chan struct{}), mounts: map[string]bool{}}
	go func() {
		// The loop thread pushes the server's context as its thread default;
		// it must stay the same OS thread until g_main_loop_run returns.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		C.vf_rtsp_run(c)
		close(s.done)
	}()
	return s, nil
}

// Port returns the TCP port the server listens on.
func (s *RTSPServer) Port() int { return s.port }

// URL returns the rtsp:// URL of path on this server.
func (s *RTSPServer) URL(path string) string {
	return fmt.Sprintf("rtsp://%s:%d%s", s.addr, s.port, path)
}

// Mount serves at path (e.g. "/ds-test") the media built from a gst-launch
// description without the enclosing parentheses, whose payloader is named
// pay0 (more streams: pay1, ...), e.g. "videotestsrc is-live=true !
// x264enc tune=zerolatency speed-preset=ultrafast ! rtph264pay name=pay0
// pt=96". The description is parsed now to report errors early; the media
// is built when the first client asks for it. With shared, all clients
// share one media (one encoder); it is stopped when the last one leaves.
// Mounting a path twice is an error.
func (s *RTSPServer) Mount(path, launch string, shared bool) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("gst: RTSP mount %q: the path must start with /", path)
	}
	if err := Init(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return ErrServerClosed
	}
	if s.mounts[path] {
		return fmt.Errorf("gst: RTSP mount %q: already mounted", path)
	}
	cpath, claunch := C.CString(path), C.CString(launch)
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(claunch))
	cshared := C.gboolean(0)
	if shared {
		cshared = 1
	}
	if e := C.vf_rtsp_mount(s.c, cpath, claunch, cshared); e != nil {
		return fmt.Errorf("gst: RTSP mount %q: %s", path, goString(e))
	}
	s.mounts[path] = true
	return nil
}

// Unmount stops serving path to new clients (they get 404 Not Found).
// Clients already playing it keep their session until they leave or the
// server is closed.
func (s *RTSPServer) Unmount(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return ErrServerClosed
	}
	if !s.mounts[path] {
		return fmt.Errorf("gst: RTSP unmount %q: not mounted", path)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	C.vf_rtsp_unmount(s.c, cpath)
	delete(s.mounts, path)
	return nil
}

// Close stops listening, disconnects all clients (their rtspsrc sees the
// connection closed), ends all sessions and media pipelines, stops the main
// loop and frees everything; the port is free again when it returns. It is
// idempotent. Should the main loop not stop within 10 s, Close returns an
// error and leaks the server rather than freeing memory still in use.
func (s *RTSPServer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil
	}
	c := s.c
	s.c = nil
	C.vf_rtsp_stop(c)
	select {
	case <-s.done:
	case <-time.After(rtspCloseWait):
		return fmt.Errorf("gst: RTSP server on port %d: main loop did not stop within %v", s.port, rtspCloseWait)
	}
	C.vf_rtsp_free(c)
	return nil
}
