package sources

import (
	"fmt"
	"regexp"
	"time"
)

// Live reports whether the source is paced by the world (RTSP, a live
// gstsrc): the engine then never holds it back, dropping its oldest frames
// instead (engine.LiveSource).
func (s *source) Live() bool { return s.live }

// Live is is-live (engine.LiveSource).
func (s *testSrc) Live() bool { return s.live }

// httpClientError finds souphttpsrc's "Not Found (404)" and the like.
var httpClientError = regexp.MustCompile(`\((4\d\d)\)`)

// permanent reports whether reconnecting cannot fix err: the server
// answered that the resource is not there or not allowed (HTTP 4xx).
func permanent(err error) bool {
	return httpClientError.MatchString(err.Error())
}

// noFrame is the error of a non-live source that gave no frame for
// no-data-timeout.
func (st *runState) noFrame() error {
	if st.frames == 0 {
		return fmt.Errorf("no frame within %v of the start (no-data-timeout): not a playable video, or its index (an MP4's moov atom) is missing", st.noData)
	}
	return fmt.Errorf("no frame for %v after frame %d (no-data-timeout)", st.noData, st.frames)
}

// checkComplete warns when a file ended well before the duration its
// container announced (a truncated recording), which otherwise ends like
// a complete one. The duration is the attempt's own pipeline's: 150
// sources ending at once each discovering their file again took over 20 s
// on an H200, every discoverer opening an NVDEC decoder.
func (st *runState) checkComplete() {
	if st.file == "" || st.frames == 0 || st.announced <= 0 {
		return
	}
	frame := st.frameDur
	if frame <= 0 {
		frame = 33 * time.Millisecond
	}
	got := st.last - st.offset + frame // this attempt's span
	if st.announced-got <= max(500*time.Millisecond, 2*frame) {
		return
	}
	want := int64(st.announced / frame)
	st.p.Warn("%s%s: the file ended after %v (%d frames) of the %v (about %d frames) it announces: it is truncated",
		st.name, st.sensorLabel(), got.Round(time.Millisecond), st.frames, st.announced.Round(time.Millisecond), want)
}

// sensorLabel names the stream's camera, when it has one, for messages.
func (st *runState) sensorLabel() string {
	if st.sensorID == "" {
		return ""
	}
	return fmt.Sprintf(" (sensor %s)", st.sensorID)
}
