package sources

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/vidflow/vidflow/internal/gst"
)

// session is one recording: its own GStreamer pipeline (appsrc ! parser !
// muxer ! filesink) fed first with the ring's units from the key frame
// before its start, then with the units that follow, until its end.
type session struct {
	r       *recorder
	id      int
	path    string
	caps    string
	codec   string
	acaps   string // "" when no audio is recorded
	acodec  string
	trigger time.Duration // the "now" of the request
	end     time.Duration // stream time at which it stops
	done    func(RecordingInfo)
	backlog []au
	in      chan au
	quit    chan struct{}
	once    sync.Once
	final   bool // the stream has ended: the backlog is all there is
}

func (r *recorder) newSession(id int, done func(RecordingInfo), trigger, end time.Duration) (*session, error) {
	path := filepath.Join(r.absDir(), r.fileName(id))
	if r.files[path] {
		return nil, fmt.Errorf("smart recording on %q: %s is already being written", r.name, path)
	}
	r.files[path] = true
	s := &session{r: r, id: id, path: path, caps: r.caps, codec: r.codec, trigger: trigger, end: end, done: done,
		in: make(chan au, 64), quit: make(chan struct{})}
	if r.mode != modeVideo && audioParsers[r.acodec] != "" {
		s.acaps, s.acodec = r.acaps, r.acodec
	}
	if r.mode == modeAudio {
		s.caps, s.codec = "", ""
	}
	return s, nil
}

// want reports whether the session takes a unit that arrives now (under
// the recorder's lock).
func (s *session) want(a au) bool {
	select {
	case <-s.quit:
		return false
	default:
		return true
	}
}

// send hands a unit to the session, waiting while its muxer is busy.
func (s *session) send(a au) {
	select {
	case s.in <- a:
	case <-s.quit:
	}
}

// finish ends the session (once): its goroutine closes the file.
func (s *session) finish(error) { s.once.Do(func() { close(s.quit) }) }

// run writes the file and reports it.
func (s *session) run() {
	defer s.r.wg.Done()
	info := RecordingInfo{SessionID: s.id, Source: s.r.name, FileName: filepath.Base(s.path), Directory: filepath.Dir(s.path),
		Container: "mp4", ContainsVideo: s.caps != "", ContainsAudio: s.acaps != "", Start: gst.NoTime}
	if s.r.container == 1 {
		info.Container = "mkv"
	}
	info.Width, info.Height = capsInt(s.caps, "width"), capsInt(s.caps, "height")
	info.Channels, info.SampleRate = capsInt(s.acaps, "channels"), capsInt(s.acaps, "rate")
	first, last, err := s.write()
	if first != gst.NoTime {
		info.Start, info.Duration = first, last-first
	} else if err == nil {
		err = fmt.Errorf("smart recording on %q: no key frame came before the recording ended; nothing written", s.r.name)
		removeEmpty(s.path)
	}
	info.Err = err
	s.r.mu.Lock()
	delete(s.r.sessions, s.id)
	delete(s.r.files, s.path)
	s.r.mu.Unlock()
	s.finish(nil)
	if s.done != nil {
		s.done(info)
	}
}

// write runs the muxing pipeline; it returns the stream time of the first
// frame written and of the end of the last one.
func (s *session) write() (first, last time.Duration, err error) {
	first, last = gst.NoTime, gst.NoTime
	pl, vsrc, asrc, err := s.launch()
	if err != nil {
		return first, last, err
	}
	defer pl.Close()
	// Each track ends at the first of its units past the end; a track that
	// stops short (audio shorter than the video) holds the file open for at
	// most a second more of the other.
	var vdone, adone bool
	put := func(a au) (bool, error) {
		if first == gst.NoTime && !s.r.anchor(a) {
			return true, nil // a recording starts on a key frame
		}
		if a.pts != gst.NoTime && a.pts >= s.end {
			if a.audio {
				adone = true
			} else {
				vdone = true
			}
			return !((vdone || vsrc == nil) && (adone || asrc == nil)) && a.pts < s.end+time.Second, nil
		}
		src := vsrc
		if a.audio {
			src = asrc
		}
		if src == nil {
			return true, nil
		}
		if first == gst.NoTime {
			first = a.pts
		}
		if e := a.pts + max(a.dur, 0); e > last {
			last = e
		}
		return true, src.PushEncoded(a.data, a.pts, a.dts, a.dur, a.key)
	}
	// The ring holds the tracks as they came from their branches; a muxer
	// takes them in time order.
	sort.SliceStable(s.backlog, func(i, j int) bool { return muxTime(s.backlog[i]) < muxTime(s.backlog[j]) })
	more := true
	for _, a := range s.backlog {
		if more, err = put(a); !more || err != nil {
			break
		}
	}
	s.backlog = nil
	for more && err == nil && !s.final {
		select {
		case a := <-s.in:
			more, err = put(a)
		case <-s.quit:
			more = false
		}
	}
	s.finish(nil) // the source stops sending
	if err != nil {
		return first, last, err
	}
	for _, src := range []*gst.AppSrc{vsrc, asrc} {
		if src != nil {
			if err := src.EndOfStream(); err != nil {
				return first, last, err
			}
		}
	}
	return first, last, waitEOS(pl, 30*time.Second)
}

// muxTime orders units for the muxer: video by decoding time, audio by
// presentation time.
func muxTime(a au) time.Duration {
	if !a.audio && a.dts != gst.NoTime {
		return a.dts
	}
	return a.pts
}

// launch starts the session's pipeline: an appsrc per recorded track,
// through its parser, into the muxer. A track not recorded has a nil
// AppSrc.
func (s *session) launch() (pl *gst.Pipeline, vsrc, asrc *gst.AppSrc, err error) {
	mux := "mp4mux"
	if s.r.container == 1 {
		mux = "matroskamux"
	}
	// The queues hold what the muxer waits on while the other track
	// catches up: bounded, and larger than the tap's skew between tracks.
	const src = "appsrc name=%s format=time max-bytes=33554432 ! %s ! mux. "
	desc := ""
	if s.caps != "" {
		desc += fmt.Sprintf(src, "src", map[string]string{"h264": "h264parse", "h265": "h265parse"}[s.codec])
	}
	if s.acaps != "" {
		desc += fmt.Sprintf(src, "asrc", audioParsers[s.acodec])
	}
	pl, err = gst.Launch(desc + fmt.Sprintf("%s name=mux ! filesink location=%s", mux, quote(s.path)))
	if err != nil {
		return nil, nil, nil, err
	}
	open := func(name, caps string) (*gst.AppSrc, error) {
		if caps == "" {
			return nil, nil
		}
		a, err := pl.AppSrc(name)
		if err == nil {
			err = a.SetCaps(caps)
		}
		return a, err
	}
	if vsrc, err = open("src", s.caps); err == nil {
		asrc, err = open("asrc", s.acaps)
	}
	if err == nil {
		err = pl.Play()
	}
	if err != nil {
		pl.Close()
		return nil, nil, nil, err
	}
	return pl, vsrc, asrc, nil
}

// waitEOS waits for the muxer to have written the file.
func waitEOS(pl *gst.Pipeline, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		m, ok := pl.PopMessage(200 * time.Millisecond)
		if !ok {
			if err := pl.Err(); err != nil {
				return err
			}
			continue
		}
		switch m.Type {
		case gst.MessageEOS:
			return nil
		case gst.MessageError:
			return m.Err()
		}
	}
	return fmt.Errorf("%s: the muxer did not finish the file within %v", pl.Name(), limit)
}

var capsIntRE = regexp.MustCompile(`(\w[\w-]*)=\(int\)(\d+)`)

// capsInt reads an integer field of serialized caps, 0 when absent.
func capsInt(caps, field string) int {
	for _, m := range capsIntRE.FindAllStringSubmatch(caps, -1) {
		if m[1] == field {
			n, _ := strconv.Atoi(m[2])
			return n
		}
	}
	return 0
}

// removeEmpty removes a recording file that got no frame.
func removeEmpty(path string) {
	if st, err := os.Stat(path); err == nil && st.Size() == 0 {
		os.Remove(path)
	}
}
