package media

import (
	"math"
	"time"
)

// MediaInfo describes a media file or stream, as GStreamer's discoverer
// found it (vidflow.Discover): duration, whether it is live or seekable,
// its video and audio streams (codec, size, frame rate).
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
