package gst

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-pbutils-1.0
#include <stdlib.h>
#include "extra.h"
*/
import "C"

import (
	"fmt"
	"math"
	"time"
	"unsafe"
)

// MediaInfo describes a media file or stream, as found by Discover.
type MediaInfo struct {
	URI      string
	Duration time.Duration // 0 when unknown (live)
	Live     bool          // a live source (rtsp, ...): not seekable, no duration
	Seekable bool
	Video    []VideoStream
	Audio    []AudioStream
}

// VideoStream is one video stream of a MediaInfo.
type VideoStream struct {
	Codec                      string // e.g. "H.264 (High Profile)", or the caps' media type
	Caps                       string // the stream's caps, serialized
	Width, Height              int
	FramerateNum, FramerateDen int  // 0/1 when unknown (and for images)
	Bitrate                    uint // bits/s (nominal, else maximum), 0 when unknown
	Image                      bool // a still image (JPEG, PNG...)
}

// AudioStream is one audio stream of a MediaInfo.
type AudioStream struct {
	Codec      string
	Channels   int
	SampleRate int
}

// Frames returns the number of frames of the first video stream: 1 for an
// image, else duration × framerate rounded to the nearest integer; 0 when
// there is no video stream or the duration or framerate is unknown.
func (m *MediaInfo) Frames() int64 {
	if m == nil || len(m.Video) == 0 {
		return 0
	}
	v := m.Video[0]
	if v.Image {
		return 1
	}
	if m.Duration <= 0 || v.FramerateNum <= 0 || v.FramerateDen <= 0 {
		return 0
	}
	return int64(math.Round(m.Duration.Seconds() * float64(v.FramerateNum) / float64(v.FramerateDen)))
}

// Reasons of a DiscoverError.
const (
	DiscoverInvalidURI    = "invalid URI"
	DiscoverNotFound      = "not found"
	DiscoverCannotOpen    = "cannot open"
	DiscoverMissingPlugin = "missing plugin"
	DiscoverTimeout       = "timeout"
	DiscoverNotMedia      = "not a media file"
	DiscoverFailed        = "error"
)

// DiscoverError is the error of Discover.
type DiscoverError struct {
	URI    string
	Reason string // one of the Discover* reasons: DiscoverNotFound, DiscoverTimeout...
	Detail string // GStreamer's message (for a missing plugin: what is missing)
}

func (e *DiscoverError) Error() string {
	return fmt.Sprintf("gst: discover %s: %s: %s", e.URI, e.Reason, e.Detail)
}

var discoverReasons = map[C.int]string{
	C.VF_DISC_INVALID_URI:    DiscoverInvalidURI,
	C.VF_DISC_NOT_FOUND:      DiscoverNotFound,
	C.VF_DISC_CANNOT_OPEN:    DiscoverCannotOpen,
	C.VF_DISC_MISSING_PLUGIN: DiscoverMissingPlugin,
	C.VF_DISC_TIMEOUT:        DiscoverTimeout,
	C.VF_DISC_NOT_MEDIA:      DiscoverNotMedia,
}

// Discover inspects a URI (file://, rtsp://, http://...) or a file path
// (made absolute against the working directory) with GstDiscoverer, waiting
// at most timeout, which is clamped to GstDiscoverer's range of 1 s to 1 h
// (0 or less: 10 s). Failures are *DiscoverError values naming the URI and
// the reason (not found, missing plugin, timeout, not a media file...). A
// source with neither audio nor video is an error (DiscoverNotMedia).
// The call blocks its goroutine (and one OS thread) for its duration.
func Discover(uri string, timeout time.Duration) (*MediaInfo, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	timeout = min(max(timeout, time.Second), time.Hour)
	cin := C.CString(uri)
	defer C.free(unsafe.Pointer(cin))
	var cerr *C.char
	curi := C.vf_to_uri(cin, &cerr)
	if curi == nil {
		return nil, &DiscoverError{URI: uri, Reason: DiscoverInvalidURI, Detail: goString(cerr)}
	}
	defer C.g_free(C.gpointer(curi))
	var cm *C.vf_media
	rc := C.vf_discover(curi, C.guint64(timeout), &cm, &cerr)
	if rc != C.VF_DISC_OK {
		reason, ok := discoverReasons[rc]
		if !ok {
			reason = DiscoverFailed
		}
		return nil, &DiscoverError{URI: C.GoString(curi), Reason: reason, Detail: goString(cerr)}
	}
	defer C.vf_media_free(cm)
	m := &MediaInfo{URI: C.GoString(cm.uri), Live: cm.live != 0, Seekable: cm.seekable != 0}
	if cm.duration > 0 {
		m.Duration = time.Duration(cm.duration)
	}
	for i := range int(cm.n_video) {
		v := &cm.video[i]
		m.Video = append(m.Video, VideoStream{
			Codec: C.GoString(v.codec), Caps: C.GoString(v.caps),
			Width: int(v.width), Height: int(v.height),
			FramerateNum: int(v.fps_n), FramerateDen: int(v.fps_d),
			Bitrate: uint(v.bitrate), Image: v.image != 0,
		})
	}
	for i := range int(cm.n_audio) {
		a := &cm.audio[i]
		m.Audio = append(m.Audio, AudioStream{Codec: C.GoString(a.codec),
			Channels: int(a.channels), SampleRate: int(a.rate)})
	}
	return m, nil
}
