package vidflow

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vidflow/vidflow/internal/elements/sources"
	"github.com/vidflow/vidflow/media"
)

// RecordTrigger starts a recording of a frame's stream when something
// happens on the frame: an object of one of Classes, or a crossing of one
// of Lines (nvdsanalytics line crossing; any line when Lines is
// {"*"}). Attach RecordOn's probe after the step that finds them (Infer,
// Analyze). The recording goes from Before the event's frame to After it;
// events on the frames it covers start no other.
type RecordTrigger struct {
	Classes []int
	Lines   []string
	// MinConfidence ignores objects of lower confidence.
	MinConfidence float32
	// Before and After are the recording's start before the event and its
	// length after it (Service Maker's start_time and duration).
	Before, After time.Duration
	// OnRecording gets each finished recording (optional).
	OnRecording func(RecordingInfo)
	// OnError gets errors of starting a recording, once per stream (the
	// stream has no smart-record, say); nil drops them.
	OnError func(error)
}

// RecordOn returns a probe that starts recordings on t's events; attach
// it to a batched stream of p. The event is the recording's reason:
// RecordingInfo does not carry it, the order of OnRecording calls does.
func (p *Pipeline) RecordOn(t RecordTrigger) *Probe {
	rt := &recordTrigger{p: p, t: t, until: map[int]time.Duration{}, failed: map[int]bool{}}
	return NewProbe(p.nextName("record_on", "probe"), rt.frames)
}

type recordTrigger struct {
	p      *Pipeline
	t      RecordTrigger
	mu     sync.Mutex
	until  map[int]time.Duration // source id → end of its last recording (FrameMeta.PTS)
	failed map[int]bool          // source id → its error was reported
}

func (rt *recordTrigger) frames(m *media.BatchMeta) {
	for _, fm := range m.Frames {
		if reason := rt.event(fm); reason != "" {
			rt.start(fm, reason)
		}
	}
}

// event names what on the frame starts a recording, "" when nothing.
func (rt *recordTrigger) event(fm *media.FrameMeta) string {
	for _, o := range fm.Objects {
		if o.Confidence < rt.t.MinConfidence {
			continue
		}
		for _, c := range rt.t.Classes {
			if o.ClassID == c {
				return fmt.Sprintf("class %d", c)
			}
		}
	}
	if len(rt.t.Lines) == 0 {
		return ""
	}
	if a := media.AnalyticsFrame(fm); a != nil {
		for line, n := range a.LineCurrent {
			if n > 0 && (rt.t.Lines[0] == "*" || contains(rt.t.Lines, line)) {
				return "line " + line
			}
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// start records the frame's stream unless a recording covers the frame.
func (rt *recordTrigger) start(fm *media.FrameMeta, reason string) {
	rt.mu.Lock()
	if end, ok := rt.until[fm.SourceID]; (ok && fm.PTS < end) || rt.failed[fm.SourceID] {
		rt.mu.Unlock()
		return
	}
	rt.mu.Unlock()
	src := rt.p.sourceElement(fm.SourceID)
	_, err := rt.p.StartRecordingAt(src, fm.PTS, rt.t.Before, rt.t.After, rt.t.OnRecording)
	// A stream that cannot record is reported once; one that is not
	// ready yet (no key frame) is tried again on the next event.
	if errors.Is(err, sources.ErrNotReady) {
		return
	}
	rt.mu.Lock()
	if err == nil {
		after := rt.t.After
		if after == 0 {
			after = time.Second // the source's default duration, at least
		}
		rt.until[fm.SourceID] = fm.PTS + after
	} else {
		rt.failed[fm.SourceID] = true
	}
	rt.mu.Unlock()
	if err != nil && rt.t.OnError != nil {
		rt.t.OnError(fmt.Errorf("recording on %s of source %d: %w", reason, fm.SourceID, err))
	}
}

// sourceElement is the source element of a batched stream, "" when not
// known.
func (p *Pipeline) sourceElement(sourceID int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, byID := range p.streams.live {
		if st := byID[sourceID]; st != nil {
			return st.Element
		}
	}
	return ""
}
