package vidflow

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vidflow/vidflow/internal/elements/sources"
)

// Smart recording (Service Maker's start_recording / stop_recording and
// BatchCapture's record_config): a source with smart-record set keeps the
// last smart-rec-cache seconds of its compressed video, so that a
// recording asked now can start before now, on the key frame before its
// start. Recordings are muxed from the stream's own access units (no
// re-encode) into MP4 or MKV files.

// RecordConfig is BatchCapture's record_config: pass it as an Option to
// BatchCapture or Capture (it sets every source's smart-rec-* properties),
// or its Props as one stream's in BatchCaptureStreams.
type RecordConfig struct {
	Dir             string        // smart-rec-dir-path; "" is "."
	Prefix          string        // smart-rec-file-prefix; "" is "Smart_Record"
	Cache           time.Duration // smart-rec-cache, whole seconds; 0 is 20 s
	Container       int           // smart-rec-container: 0 MP4, 1 MKV
	DefaultDuration time.Duration // smart-rec-default-duration, whole seconds; 0 is 20 s
	// Mode is smart-rec-mode (Service Maker's rec_mode): RecordAudioVideo
	// (the default; the video alone when the stream has no audio track),
	// RecordVideo or RecordAudio (an error naming the stream when it has
	// no audio).
	Mode RecordMode
}

// RecordMode is what a recording holds, numbered as nvurisrcbin's
// smart-rec-mode.
type RecordMode int

// Recording modes.
const (
	RecordAudioVideo RecordMode = iota // audio and video, if the stream has audio
	RecordVideo                        // video only
	RecordAudio                        // audio only
)

// Props are the config as source properties (smart-record=2 and the
// smart-rec-* it sets), for the one stream of BatchCaptureStreams that
// records: StreamSpec{URI: cam, Props: RecordConfig{Dir: "rec"}.Props()}.
func (c RecordConfig) Props() Props {
	o := &options{props: Props{}}
	c.apply(o)
	return o.props
}

func (c RecordConfig) apply(o *options) {
	o.props["smart-record"] = 2
	if c.Dir != "" {
		o.props["smart-rec-dir-path"] = c.Dir
	}
	if c.Prefix != "" {
		o.props["smart-rec-file-prefix"] = c.Prefix
	}
	if c.Cache != 0 {
		o.props["smart-rec-cache"] = int(c.Cache / time.Second)
	}
	o.props["smart-rec-container"] = c.Container
	o.props["smart-rec-mode"] = int(c.Mode)
	if c.DefaultDuration != 0 {
		o.props["smart-rec-default-duration"] = int(c.DefaultDuration / time.Second)
	}
}

// RecordingInfo describes a finished recording (Service Maker's
// RecordingInfo). Start and Duration are in the source's stream time.
type RecordingInfo struct {
	SessionID     int
	Source        string // the source element
	FileName      string // the file's base name
	Directory     string // its folder (absolute)
	Container     string // "mp4" or "mkv"
	Start         time.Duration
	Duration      time.Duration
	Width, Height int
	ContainsVideo bool
	ContainsAudio bool
	Channels      int // of the audio, when recorded
	SampleRate    int // of the audio, Hz
	// Err says why the file is incomplete or was not written; nil when
	// it is whole.
	Err error
}

// recordings maps running session ids to their source, for
// StopRecordingSession (ids are unique in the process).
var recordings sync.Map // int → sources.Recorder

// StartRecording records source (an element name, or a stream's sensor
// id) from startBack before now (at most its smart-rec-cache) for duration
// after now (0: its smart-rec-default-duration). done, if not nil, gets the
// finished file's RecordingInfo from another goroutine. It returns the
// session id. "Now" is the last frame the source gave.
func (p *Pipeline) StartRecording(source string, startBack, duration time.Duration, done func(RecordingInfo)) (int, error) {
	return p.startRecording("StartRecording", source, -1, startBack, duration, done)
}

// StartRecordingAt is StartRecording around a frame the pipeline has
// seen, by its FrameMeta.PTS, instead of now: what a probe reacting to an
// event on the frame wants (frames downstream lag the source).
func (p *Pipeline) StartRecordingAt(source string, at, startBack, duration time.Duration, done func(RecordingInfo)) (int, error) {
	if at < 0 {
		return 0, fmt.Errorf("StartRecordingAt: negative time %v", at)
	}
	return p.startRecording("StartRecordingAt", source, at, startBack, duration, done)
}

func (p *Pipeline) startRecording(op, source string, at, startBack, duration time.Duration, done func(RecordingInfo)) (int, error) {
	rec, err := p.recorder(op, source)
	if err != nil {
		return 0, err
	}
	var id int
	id, err = rec.StartRecordingAt(at, startBack, duration, func(i sources.RecordingInfo) {
		recordings.Delete(i.SessionID)
		if done != nil {
			done(RecordingInfo(i))
		}
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	recordings.Store(id, rec)
	if !rec.Recording(id) { // done already (a stream that had ended is written at once)
		recordings.Delete(id)
	}
	return id, nil
}

// StopRecording ends every recording of source now; their files are
// closed (playable) and their callbacks called.
func (p *Pipeline) StopRecording(source string) error {
	rec, err := p.recorder("StopRecording", source)
	if err != nil {
		return err
	}
	if err := rec.StopRecording(-1); err != nil {
		return fmt.Errorf("StopRecording: %w", err)
	}
	return nil
}

// StopRecordingSession ends one recording by its session id.
func (p *Pipeline) StopRecordingSession(id int) error {
	v, ok := recordings.Load(id)
	if !ok {
		return fmt.Errorf("StopRecordingSession: no recording %d is running", id)
	}
	if err := v.(sources.Recorder).StopRecording(id); err != nil {
		return fmt.Errorf("StopRecordingSession: %w", err)
	}
	return nil
}

// ErrNoRecorder marks a recording asked of an element that has no
// compressed video to record.
var ErrNoRecorder = errors.New("no compressed video to record")

// recorder finds the source element by name or sensor id.
func (p *Pipeline) recorder(op, source string) (sources.Recorder, error) {
	if _, err := p.started(op); err != nil {
		return nil, err
	}
	n := p.node(source)
	if n == nil {
		p.mu.Lock()
		for _, byID := range p.streams.live {
			for _, st := range byID {
				if st.SensorID == source && source != "" {
					n = p.g.Node(st.Element)
				}
			}
		}
		p.mu.Unlock()
	}
	if n == nil {
		return nil, fmt.Errorf("%s: no element or sensor id %q in pipeline %q", op, source, p.name)
	}
	rec, ok := n.Elem.(sources.Recorder)
	if !ok || n.Spec.Kind == "gstsrc" {
		return nil, fmt.Errorf("%s: stream %q (%s): %w: smart recording needs a decoded file, RTSP or HTTP source (nvurisrcbin) with smart-record set",
			op, source, n.Spec.Kind, ErrNoRecorder)
	}
	return rec, nil
}
