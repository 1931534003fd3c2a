package gst

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-app-1.0 gstreamer-video-1.0
#include <stdlib.h>
#include "vf.h"

static gint64 vf_frame_dts(vf_frame *f) {
  if (f->buffer == NULL || !GST_BUFFER_DTS_IS_VALID(f->buffer)) return -1;
  return (gint64)GST_BUFFER_DTS(f->buffer);
}

static int vf_frame_delta(vf_frame *f) {
  return f->buffer != NULL && GST_BUFFER_FLAG_IS_SET(f->buffer, GST_BUFFER_FLAG_DELTA_UNIT);
}

static char *vf_frame_caps(vf_frame *f) {
  GstCaps *c = f->sample ? gst_sample_get_caps(f->sample) : NULL;
  return c ? gst_caps_to_string(c) : NULL;
}

static int vf_src_push_encoded(GstElement *src, const void *data, gsize size, gint64 pts, gint64 dts, gint64 dur, int delta) {
  GstBuffer *b = gst_buffer_new_allocate(NULL, size, NULL);
  if (b == NULL) return GST_FLOW_ERROR;
  gst_buffer_fill(b, 0, data, size);  // copy: C keeps no Go pointer
  GST_BUFFER_PTS(b) = pts < 0 ? GST_CLOCK_TIME_NONE : (GstClockTime)pts;
  GST_BUFFER_DTS(b) = dts < 0 ? GST_CLOCK_TIME_NONE : (GstClockTime)dts;
  GST_BUFFER_DURATION(b) = dur < 0 ? GST_CLOCK_TIME_NONE : (GstClockTime)dur;
  if (delta) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
  return gst_app_src_push_buffer(GST_APP_SRC(src), b);  // takes ownership
}
*/
import "C"

import (
	"time"
	"unsafe"
)

// Compressed video (smart recording) needs what raw frames do not: the
// decoding time stamp, whether a buffer is a key frame, and the caps to
// hand the same stream to a muxer.

// DTS is the buffer's decoding time stamp, NoTime when unknown.
func (s *Sample) DTS() time.Duration {
	if s.released.Load() {
		return NoTime
	}
	return time.Duration(C.vf_frame_dts(&s.f))
}

// KeyFrame reports whether the buffer can be decoded on its own (no
// GST_BUFFER_FLAG_DELTA_UNIT).
func (s *Sample) KeyFrame() bool {
	return !s.released.Load() && C.vf_frame_delta(&s.f) == 0
}

// Caps is the sample's caps as text ("video/x-h264, stream-format=...").
func (s *Sample) Caps() string {
	if s.released.Load() {
		return ""
	}
	c := C.vf_frame_caps(&s.f)
	if c == nil {
		return ""
	}
	defer C.g_free(C.gpointer(c))
	return C.GoString(c)
}

// PushEncoded queues a copy of a compressed buffer with its time stamps
// (NoTime for none) and key-frame flag. Like Push, it blocks while the
// appsrc queue is full.
func (a *AppSrc) PushEncoded(data []byte, pts, dts, duration time.Duration, keyFrame bool) error {
	if len(data) == 0 {
		return nil
	}
	a.p.mu.RLock()
	defer a.p.mu.RUnlock()
	if a.p.c == nil || a.p.closed.Load() {
		return ErrClosed
	}
	delta := C.int(1)
	if keyFrame {
		delta = 0
	}
	return a.flowErr("push", C.vf_src_push_encoded(a.c, unsafe.Pointer(&data[0]), C.gsize(len(data)),
		C.gint64(pts), C.gint64(dts), C.gint64(duration), delta))
}
