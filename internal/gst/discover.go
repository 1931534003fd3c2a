package gst

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-pbutils-1.0
#include <stdlib.h>
#include "extra.h"
*/
import "C"

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/vidflow/vidflow/media"
)

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
func Discover(uri string, timeout time.Duration) (*media.MediaInfo, error) {
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
	m := &media.MediaInfo{URI: C.GoString(cm.uri), Live: cm.live != 0, Seekable: cm.seekable != 0}
	if cm.duration > 0 {
		m.Duration = time.Duration(cm.duration)
	}
	for i := range int(cm.n_video) {
		v := &cm.video[i]
		m.Video = append(m.Video, media.VideoStream{
			Codec: C.GoString(v.codec), Caps: C.GoString(v.caps),
			Width: int(v.width), Height: int(v.height),
			FramerateNum: int(v.fps_n), FramerateDen: int(v.fps_d),
			Bitrate: uint(v.bitrate), Image: v.image != 0,
		})
	}
	for i := range int(cm.n_audio) {
		a := &cm.audio[i]
		m.Audio = append(m.Audio, media.AudioStream{Codec: C.GoString(a.codec),
			Channels: int(a.channels), SampleRate: int(a.rate)})
	}
	return m, nil
}
