package sources

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gst"
)

// Smart recording (DeepStream's smart-record of nvurisrcbin): a source
// with smart-record set keeps the last smart-rec-cache seconds of its
// compressed video, tapped after the parser and before the decoder, in a
// bounded ring of access units. A recording copies the ring from the key
// frame before its start and then the access units that follow into a
// muxer (appsrc ! parser ! mp4mux|matroskamux ! filesink): no re-encode.

// recordProps are nvurisrcbin's smart-record properties.
var recordProps = []element.PropSpec{
	{Name: "smart-record", Type: element.Int, Default: 0,
		Doc: "0 off; 1 or 2 keep the last smart-rec-cache seconds of compressed video for StartRecording (DeepStream: 1 cloud events, 2 cloud and local)"},
	{Name: "smart-rec-dir-path", Type: element.String, Default: ".", Doc: "folder of the recordings"},
	{Name: "smart-rec-file-prefix", Type: element.String, Default: "Smart_Record", Doc: "recording file names start with it"},
	{Name: "smart-rec-cache", Type: element.Int, Default: 20, Doc: "seconds of compressed video kept before a trigger (1..300)"},
	{Name: "smart-rec-container", Type: element.Int, Default: 0, Doc: "0 MP4, 1 MKV"},
	{Name: "smart-rec-default-duration", Type: element.Int, Default: 20, Doc: "seconds recorded after the trigger when the request gives no duration"},
	{Name: "smart-rec-mode", Type: element.Int, Default: 0,
		Doc: "0 audio and video (video alone when the stream has no audio track), 1 video only, 2 audio only (an error on a stream without audio); audio: AAC, MP3 or Opus"},
}

// maxRingBytes bounds one source's ring whatever its bit rate: past it the
// oldest group of pictures goes even if the cache is then shorter.
const maxRingBytes = 256 << 20

// RecordingInfo is what a finished recording reports (Service Maker's
// RecordingInfo).
type RecordingInfo struct {
	SessionID     int
	Source        string // the source element
	FileName      string // base name
	Directory     string
	Container     string        // "mp4" or "mkv"
	Start         time.Duration // stream time of the first frame (the key frame it starts on)
	Duration      time.Duration // time covered: first frame to the end of the last
	Width, Height int
	ContainsVideo bool
	ContainsAudio bool
	Channels      int   // of the audio, when it has some
	SampleRate    int   // of the audio, Hz
	Err           error // why the file is incomplete or missing, nil when it is whole
}

// Recorder is a source element that can record: nvurisrcbin with
// smart-record set.
type Recorder interface {
	// StartRecording records from startBack before now (the last frame the
	// source gave) for duration after it (0: smart-rec-default-duration).
	// done, if not nil, is called from another goroutine once the file is
	// closed. It returns the session id.
	StartRecording(startBack, duration time.Duration, done func(RecordingInfo)) (int, error)
	// StartRecordingAt is StartRecording around the frame of FrameMeta.PTS
	// at instead of now (a probe's event).
	StartRecordingAt(at, startBack, duration time.Duration, done func(RecordingInfo)) (int, error)
	// StopRecording ends the session (or every session of the source for
	// id < 0) now; its file is closed and its done called.
	StopRecording(id int) error
	// Recording reports whether a session of the source is running.
	Recording(id int) bool
	// Cache is how far back a recording can start (smart-rec-cache); 0
	// without smart-record.
	Cache() time.Duration
}

var sessionIDs atomic.Int64

// ErrNotReady marks a recording asked too early (or between two attempts
// of the source): asking again later may work.
var ErrNotReady = errors.New("not ready to record")

type notReady string

func (e notReady) Error() string        { return string(e) }
func (e notReady) Is(target error) bool { return target == ErrNotReady }

// au is one compressed access unit, copied out of GStreamer: of the
// video, or of the audio track (record_audio.go).
type au struct {
	data          []byte
	pts, dts, dur time.Duration
	key           bool
	audio         bool
}

// recorder is the smart-record state of one source: settings, the ring of
// the current attempt and the sessions running.
type recorder struct {
	name      string // the source element, for errors and file names
	uri       string
	dir       string
	prefix    string
	cache     time.Duration
	container int
	defDur    time.Duration
	mode      int // smart-rec-mode: 0 audio and video, 1 video, 2 audio

	mu       sync.Mutex
	running  bool
	ended    bool // the stream ended: its ring stays, for recordings asked while its last frames are downstream
	aus      []au
	bytes    int
	caps     string
	codec    string        // of caps: h264, h265...
	first    chan struct{} // closed at the attempt's first unit
	acaps    string        // the audio track's, "" before its first unit (or without one)
	acodec   string        // of acaps: aac, mp3, opus
	afirst   chan struct{} // closed at the attempt's first audio unit
	now      time.Duration // raw time stamp of the last frame given
	delta    time.Duration // raw time stamp - FrameMeta.PTS of this attempt
	sessions map[int]*session
	wg       sync.WaitGroup // session goroutines
	files    map[string]bool
}

func newRecorder(c *element.Config, uri string) (*recorder, error) {
	if c.Int("smart-record") == 0 {
		for _, p := range recordProps[1:] {
			if c.IsSet(p.Name) && !p.Ignored {
				return nil, fmt.Errorf(`property %q needs smart-record=1 or 2`, p.Name)
			}
		}
		return nil, nil
	}
	r := &recorder{name: c.Element, uri: uri, dir: c.String("smart-rec-dir-path"), prefix: c.String("smart-rec-file-prefix"),
		cache: time.Duration(c.Int("smart-rec-cache")) * time.Second, container: c.Int("smart-rec-container"),
		defDur: time.Duration(c.Int("smart-rec-default-duration")) * time.Second, mode: c.Int("smart-rec-mode"),
		sessions: map[int]*session{}, files: map[string]bool{}}
	switch {
	case c.Int("smart-record") < 0 || c.Int("smart-record") > 2:
		return nil, fmt.Errorf(`property "smart-record": %d is not 0, 1 or 2`, c.Int("smart-record"))
	case r.cache < time.Second || r.cache > 300*time.Second:
		return nil, fmt.Errorf(`property "smart-rec-cache": %d s is not 1..300`, c.Int("smart-rec-cache"))
	case r.mode < 0 || r.mode > 2:
		return nil, fmt.Errorf(`property "smart-rec-mode": %d is not 0 (audio and video), 1 (video only) or 2 (audio only)`, r.mode)
	case r.container != 0 && r.container != 1:
		return nil, fmt.Errorf(`property "smart-rec-container": %d is not 0 (MP4) or 1 (MKV)`, r.container)
	case r.defDur <= 0 || r.defDur > time.Hour:
		return nil, fmt.Errorf(`property "smart-rec-default-duration": %d s is not 1..3600`, c.Int("smart-rec-default-duration"))
	case strings.ContainsAny(r.prefix, `/\`) || r.prefix == "":
		return nil, fmt.Errorf(`property "smart-rec-file-prefix": %q must be a non-empty file name part without slashes`, r.prefix)
	}
	if st, err := os.Stat(r.dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf(`property "smart-rec-dir-path": %q is not an existing folder`, r.dir)
	}
	return r, nil
}

// tap is the branch the source's GStreamer pipeline grows for recording:
// parsed compressed video into an appsink of its own, beside the decoder.
const recordCaps = `video/x-h264;video/x-h265;video/x-vp8;video/x-vp9;video/x-av1;image/jpeg;image/png;video/mpeg;video/x-raw`

// tapDescription turns "X ! decodebin" into X ! parsebin ! tee, decoding
// one branch and handing the other, still compressed, to appsink vfenc;
// unless the mode is video only, the audio track (when there is one) goes
// to appsink vfaud.
func (r *recorder) tapDescription(desc string) string {
	src, ok := strings.CutSuffix(desc, " ! decodebin")
	if !ok {
		return desc
	}
	audio := ""
	if r.mode != modeVideo {
		audio = audioTap
	}
	// The decoding branch comes last: the frames' conversion follows it.
	return src + " ! parsebin name=vfparse ! " + recordCaps + " ! tee name=vfrectee vfrectee. ! queue ! appsink name=vfenc sync=false max-buffers=8 " +
		audio + "vfrectee. ! queue ! decodebin"
}

// attempt marks the start of a source attempt: a new GStreamer pipeline,
// whose time stamps start over.
func (r *recorder) begin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running, r.ended = true, false
	r.first, r.afirst = make(chan struct{}), make(chan struct{})
	r.aus, r.bytes, r.caps, r.codec, r.now = nil, 0, "", "", gst.NoTime
	r.acaps, r.acodec = "", ""
}

// end closes every session (their files stay playable) and, unless the
// stream ended (eos: its frames are still on their way downstream, where
// a probe may ask for a recording), empties the ring; it returns once the
// session goroutines are done.
func (r *recorder) end(eos bool) {
	r.mu.Lock()
	r.running, r.ended = false, eos
	if !eos {
		r.aus, r.bytes = nil, 0
	}
	for _, s := range r.sessions {
		s.finish(nil)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// frame records the time stamps of the last decoded frame the source
// gave, raw and as FrameMeta.PTS: a recording's "now", and how to find a
// probe's frame in the ring.
func (r *recorder) frame(raw, pts time.Duration) {
	if raw == gst.NoTime {
		return
	}
	r.mu.Lock()
	r.now, r.delta = raw, raw-pts
	r.mu.Unlock()
}

// pull copies access units from the appsink (of the audio track for
// audio) into the ring (and running sessions) until the attempt's
// pipeline ends.
func (r *recorder) pull(sink *gst.AppSink, audio bool, quit <-chan struct{}) {
	for {
		select {
		case <-quit:
			return
		default:
		}
		smp, err := sink.Pull(100 * time.Millisecond)
		if errors.Is(err, gst.ErrTimeout) {
			continue
		}
		if errors.Is(err, gst.ErrFlushing) { // not playing yet, or seeking
			select {
			case <-quit:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return
		}
		a := au{data: append([]byte(nil), smp.Data...), pts: smp.PTS, dts: smp.DTS(), dur: smp.Duration, key: smp.KeyFrame(), audio: audio}
		caps := smp.Caps()
		smp.Release()
		r.push(a, caps)
	}
}

// push adds an access unit to the ring, trimmed to the cache from a key
// frame, and hands it to the running sessions (which may block: a slow
// muxer holds the source back rather than growing a queue).
func (r *recorder) push(a au, caps string) {
	r.mu.Lock()
	if a.audio {
		r.audioCaps(caps)
	} else if caps != r.caps {
		if r.caps != "" {
			// New stream parameters: older units do not fit the new caps.
			r.aus, r.bytes = nil, 0
		}
		r.caps, r.codec = caps, codecOf(caps)
		select {
		case <-r.first:
		default:
			close(r.first)
		}
	}
	if !r.keep(a) {
		r.mu.Unlock()
		return // audio in video only mode, video in audio only mode
	}
	// A muxer needs time stamps on every unit; RTP depayloaders leave
	// some without: the decoding time, else the unit after the last.
	if a.pts == gst.NoTime {
		a.pts = a.dts
	}
	if a.pts == gst.NoTime && len(r.aus) > 0 {
		last := r.aus[len(r.aus)-1]
		a.pts = last.pts + max(last.dur, time.Millisecond)
	}
	if a.pts == gst.NoTime {
		r.mu.Unlock()
		return // the stream's first units, before any time stamp
	}
	if a.dts == gst.NoTime {
		a.dts = a.pts
	}
	r.aus = append(r.aus, a)
	r.bytes += len(a.data)
	r.trim()
	var to []*session
	for _, s := range r.sessions {
		if s.want(a) {
			to = append(to, s)
		}
	}
	r.mu.Unlock()
	for _, s := range to {
		s.send(a)
	}
}

// trim drops everything before the newest key frame that is at least the
// cache's length old, and whole groups of pictures while over the byte
// bound; the ring therefore always starts on a key frame once it has one.
func (r *recorder) trim() {
	newest := r.aus[len(r.aus)-1].pts
	cut := 0
	for i, a := range r.aus {
		if r.anchor(a) && a.pts != gst.NoTime && newest-a.pts >= r.cache {
			cut = i
		}
	}
	for r.bytes > maxRingBytes && cut < len(r.aus)-1 {
		next := cut + 1
		for next < len(r.aus)-1 && !r.anchor(r.aus[next]) {
			next++
		}
		for _, a := range r.aus[cut:next] {
			r.bytes -= len(a.data)
		}
		cut = next
	}
	if cut > 0 {
		for _, a := range r.aus[:cut] {
			r.bytes -= len(a.data)
		}
		r.aus = append(r.aus[:0:0], r.aus[cut:]...)
	}
}

// supported says why the stream cannot be recorded, nil when it can.
func (r *recorder) supported() error {
	if err := r.audioSupported(); err != nil || r.mode == modeAudio {
		return err
	}
	switch r.codec {
	case "h264", "h265":
		return nil
	case "":
		return notReady(fmt.Sprintf("smart recording on %q (%s): no compressed video has come from the stream yet", r.name, r.uri))
	case "raw":
		return fmt.Errorf("smart recording on %q (%s): the stream has no compressed video (raw frames)", r.name, r.uri)
	case "jpeg", "png":
		return fmt.Errorf("smart recording on %q (%s): a still image (%s) is not compressed video", r.name, r.uri, r.codec)
	}
	return fmt.Errorf("smart recording on %q (%s): the stream's codec %s is not recorded (H.264 and H.265 are)", r.name, r.uri, r.codec)
}

// StartRecording implements Recorder.
func (r *recorder) StartRecording(startBack, duration time.Duration, done func(RecordingInfo)) (int, error) {
	return r.StartRecordingAt(-1, startBack, duration, done)
}

// StartRecordingAt implements Recorder.
func (r *recorder) StartRecordingAt(at, startBack, duration time.Duration, done func(RecordingInfo)) (int, error) {
	if startBack < 0 || startBack > r.cache {
		return 0, fmt.Errorf("smart recording on %q: start %v before now is not 0..%v (smart-rec-cache)", r.name, startBack, r.cache)
	}
	if duration == 0 {
		duration = r.defDur
	}
	if duration < 0 || duration > time.Hour {
		return 0, fmt.Errorf("smart recording on %q: duration %v is not 0..1h", r.name, duration)
	}
	r.mu.Lock()
	if r.running && r.codec == "" {
		// A frame came out of the decoder, so its compressed unit is
		// moments away in the other branch of the tee.
		first := r.first
		r.mu.Unlock()
		select {
		case <-first:
		case <-time.After(2 * time.Second):
		}
		r.mu.Lock()
	}
	r.waitAudio()
	if !r.running && !r.ended {
		r.mu.Unlock()
		return 0, notReady(fmt.Sprintf("smart recording on %q: the source is not running", r.name))
	}
	if err := r.supported(); err != nil {
		r.mu.Unlock()
		return 0, err
	}
	if len(r.aus) == 0 {
		r.mu.Unlock()
		return 0, notReady(fmt.Sprintf("smart recording on %q: nothing to record yet", r.name))
	}
	now := r.now
	switch {
	case at >= 0 && now != gst.NoTime:
		now = at + r.delta
	case now == gst.NoTime:
		now = r.aus[len(r.aus)-1].pts
	}
	from := now - startBack
	k := -1
	for i, a := range r.aus {
		if r.anchor(a) && (k < 0 || a.pts <= from) {
			k = i
		}
	}
	id := int(sessionIDs.Add(1))
	s, err := r.newSession(id, done, now, now+duration)
	if err != nil {
		r.mu.Unlock()
		return 0, err
	}
	if k >= 0 {
		s.backlog = append([]au(nil), r.aus[k:]...)
	}
	r.sessions[id] = s
	r.wg.Add(1)
	s.final = r.ended
	r.mu.Unlock()
	if s.final {
		s.run() // nothing more will come: the ring is all; written now, on the caller's goroutine
	} else {
		go s.run()
	}
	return id, nil
}

// StopRecording implements Recorder.
func (r *recorder) StopRecording(id int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id < 0 {
		if len(r.sessions) == 0 {
			return fmt.Errorf("smart recording on %q: no recording is running", r.name)
		}
		for _, s := range r.sessions {
			s.finish(nil)
		}
		return nil
	}
	s := r.sessions[id]
	if s == nil {
		return fmt.Errorf("smart recording on %q: no session %d", r.name, id)
	}
	s.finish(nil)
	return nil
}

// Recording implements Recorder.
func (r *recorder) Recording(id int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions[id] != nil
}

// fileName is a new recording's file: prefix, source, session and the
// wall-clock time, as DeepStream names them (prefix_sourceid_sessionid_date).
func (r *recorder) fileName(id int) string {
	ext := ".mp4"
	if r.container == 1 {
		ext = ".mkv"
	}
	return fmt.Sprintf("%s_%s_%d_%s%s", r.prefix, r.name, id, time.Now().UTC().Format("20060102-150405"), ext)
}

// Abs is the absolute folder of the recordings.
func (r *recorder) absDir() string {
	d, err := filepath.Abs(r.dir)
	if err != nil {
		return r.dir
	}
	return d
}

// tap starts copying the attempt's compressed video into the ring; stop
// ends it (after the tap's own end of stream when the stream ended, so
// that its last units are in) and closes the sessions.
func (r *recorder) tap(pl *gst.Pipeline, eos *bool) (stop func(), err error) {
	sink, err := pl.AppSink("vfenc")
	if err != nil {
		return nil, err
	}
	var asink *gst.AppSink
	if r.mode != modeVideo {
		if asink, err = pl.AppSink("vfaud"); err != nil {
			return nil, err
		}
	}
	r.begin()
	quit, done, adone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		r.pull(sink, false, quit)
	}()
	if asink == nil {
		close(adone)
	} else {
		go func() {
			defer close(adone)
			r.pull(asink, true, quit)
		}()
	}
	return func() {
		if *eos {
			// A stream without audio never ends its audio branch: wait
			// for the audio's end only when it has some.
			r.mu.Lock()
			audio := r.acaps != ""
			r.mu.Unlock()
			timeout := time.After(2 * time.Second)
			select {
			case <-done:
			case <-timeout:
			}
			if audio {
				select {
				case <-adone:
				case <-timeout:
				}
			}
		}
		close(quit)
		<-done
		<-adone
		r.end(*eos)
	}, nil
}

// The source element is a Recorder; without smart-record its methods say
// so.

func (s *source) noRecorder() error {
	return fmt.Errorf("smart recording on %q (%s): smart-record is not set on the source (set smart-record=1 or 2)", s.cfg.Element, s.name)
}

// StartRecording implements Recorder.
func (s *source) StartRecording(startBack, duration time.Duration, done func(RecordingInfo)) (int, error) {
	if s.rec == nil {
		return 0, s.noRecorder()
	}
	return s.rec.StartRecording(startBack, duration, done)
}

// StartRecordingAt implements Recorder.
func (s *source) StartRecordingAt(at, startBack, duration time.Duration, done func(RecordingInfo)) (int, error) {
	if s.rec == nil {
		return 0, s.noRecorder()
	}
	return s.rec.StartRecordingAt(at, startBack, duration, done)
}

// StopRecording implements Recorder.
func (s *source) StopRecording(id int) error {
	if s.rec == nil {
		return s.noRecorder()
	}
	return s.rec.StopRecording(id)
}

// Recording implements Recorder.
func (s *source) Recording(id int) bool { return s.rec != nil && s.rec.Recording(id) }

// Cache implements Recorder.
func (s *source) Cache() time.Duration {
	if s.rec == nil {
		return 0
	}
	return s.rec.cache
}
