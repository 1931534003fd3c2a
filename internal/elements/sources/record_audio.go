package sources

import (
	"fmt"
	"strings"
	"time"
)

// Audio in smart recordings (smart-rec-mode): the stream's audio track,
// still compressed, is tapped beside its video into the same ring, and
// muxed with it (or alone) into the file. DeepStream's modes, as
// nvurisrcbin numbers them.
const (
	modeAV    = 0 // audio and video, video alone when the stream has no audio
	modeVideo = 1
	modeAudio = 2
)

// audioTap is the tap's audio branch: parsebin's audio pad, when the
// stream has one, to appsink vfaud. async=false: a stream without audio
// never links the branch, and its sink must not hold the pipeline's
// start waiting for a first buffer.
const audioTap = "vfparse. ! audio/mpeg;audio/x-opus ! queue ! appsink name=vfaud sync=false async=false max-buffers=64 "

// audioParsers are the parsers of the audio codecs recorded.
var audioParsers = map[string]string{"aac": "aacparse", "mp3": "mpegaudioparse", "opus": "opusparse"}

// audioCodecOf names the codec of audio caps: aac, mp3, opus, or the
// media type.
func audioCodecOf(caps string) string {
	name, rest, _ := strings.Cut(caps, ",")
	switch strings.TrimSpace(name) {
	case "audio/mpeg":
		if capsInt(caps, "mpegversion") == 1 {
			if capsInt(rest, "layer") == 3 || !strings.Contains(rest, "layer") {
				return "mp3"
			}
			return "mpeg-audio"
		}
		return "aac"
	case "audio/x-opus":
		return "opus"
	}
	return strings.TrimSpace(name)
}

// audioCaps notes the audio track's caps at a unit (under r.mu).
func (r *recorder) audioCaps(caps string) {
	if caps == r.acaps {
		return
	}
	r.acaps, r.acodec = caps, audioCodecOf(caps)
	select {
	case <-r.afirst:
	default:
		close(r.afirst)
	}
}

// anchor reports whether a recording may start on a: a video key frame,
// or in audio only mode any audio unit.
func (r *recorder) anchor(a au) bool {
	if r.mode == modeAudio {
		return a.audio
	}
	return a.key && !a.audio
}

// keep reports whether the ring keeps a: what the mode records.
func (r *recorder) keep(a au) bool {
	switch r.mode {
	case modeVideo:
		return !a.audio
	case modeAudio:
		return a.audio
	}
	return true
}

// waitAudio waits (under r.mu, let go meanwhile) a moment for the first
// audio unit of a running stream in audio only mode: it comes moments
// after the video, or never on a stream without audio.
func (r *recorder) waitAudio() {
	if r.mode != modeAudio || !r.running || r.acaps != "" {
		return
	}
	first := r.afirst
	r.mu.Unlock()
	select {
	case <-first:
	case <-time.After(time.Second):
	}
	r.mu.Lock()
}

// audioSupported says why the mode's audio cannot be recorded, nil when
// it can (or none is asked: mode 0 records the video alone when the stream
// has no audio, or audio of a codec not recorded).
func (r *recorder) audioSupported() error {
	switch {
	case r.mode == modeVideo || (r.mode == modeAV && audioParsers[r.acodec] == ""):
		return nil // mode 0 records the audio if it can, the video always
	case r.acaps == "" && !r.running && !r.ended:
		return notReady(fmt.Sprintf("smart recording on %q: the source is not running", r.name))
	case r.acaps == "":
		return fmt.Errorf("smart recording on %q (%s): smart-rec-mode 2 (audio only), but the stream has no audio track that can be recorded (AAC, MP3 or Opus)", r.name, r.uri)
	case audioParsers[r.acodec] == "":
		return fmt.Errorf("smart recording on %q (%s): the stream's audio codec %s is not recorded (AAC, MP3 and Opus are); smart-rec-mode 1 records the video alone", r.name, r.uri, r.acodec)
	}
	return nil
}
