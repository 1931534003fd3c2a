package vidflow

import (
	"fmt"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/deepstream"
)

// StreamSpec describes a stream to add to a running batcher.
type StreamSpec struct {
	URI                  string // a file, rtsp://, http(s)://, testsrc://?…
	SensorID, SensorName string
	Props                Props // source properties: file-loop, latency, width, height, …
}

// StreamStatus is one stream of a batcher.
type StreamStatus struct {
	SourceID             int
	SensorID, SensorName string
	URI                  string
	Element              string // the source element; its element.NodeStats count frames, fps, reconnects
	// Err is why the stream failed, when its batcher has
	// drop-source-errors=true (the stream then ended alone); nil otherwise.
	Err error
}

// streamTable tracks the streams of each batcher.
type streamTable struct {
	live   map[string]map[int]*StreamStatus // batcher → source id → stream
	failed map[string]map[int]*StreamStatus // streams that ended by their error
	seq    int
}

func (t *streamTable) add(batcher string, s *StreamStatus) {
	if t.live == nil {
		t.live = map[string]map[int]*StreamStatus{}
	}
	if t.live[batcher] == nil {
		t.live[batcher] = map[int]*StreamStatus{}
	}
	t.live[batcher][s.SourceID] = s
}

// AddStream adds a stream to a running batcher made with
// drop-pipeline-eos=true (BatchCapture(nil, Props{"drop-pipeline-eos":
// true, "max-batch-size": 8}), say), without disturbing the other
// streams. It returns the stream's SourceID and posts a StreamMessage.
func (p *Pipeline) AddStream(batcher string, s StreamSpec) (int, error) {
	r, err := p.started("AddStream")
	if err != nil {
		return 0, err
	}
	own := collect([]Option{s.Props}).props // names normalised
	kind, props, err := deepstream.Stream{URI: s.URI, SensorID: s.SensorID, SensorName: s.SensorName, Props: own}.Source(nil)
	if err != nil {
		return 0, fmt.Errorf("AddStream: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	mux := p.g.Node(batcher)
	if mux == nil {
		return 0, fmt.Errorf("AddStream: no element named %q", batcher)
	}
	d, ok := mux.Elem.(element.Dynamic)
	if !ok || !d.AcceptsInputs() {
		return 0, fmt.Errorf("AddStream: %q does not take streams while running (a batcher with drop-pipeline-eos=true does)", batcher)
	}
	live := p.streams.live[batcher]
	if limit := d.MaxInputs(); limit > 0 && len(live) >= limit {
		return 0, fmt.Errorf("AddStream: %q is full: %d streams, max-batch-size %d", batcher, len(live), limit)
	}
	for _, st := range live {
		if s.SensorID != "" && st.SensorID == s.SensorID {
			return 0, fmt.Errorf("AddStream: sensor id %q is already streaming (source %d)", s.SensorID, st.SourceID)
		}
	}
	p.streams.seq++
	name := fmt.Sprintf("%s-stream-%d", batcher, p.streams.seq)
	n, err := p.g.Add(kind, name, element.Props(props))
	if err != nil {
		return 0, fmt.Errorf("AddStream: %w", err)
	}
	if err := p.g.Link(name, batcher); err != nil {
		return 0, fmt.Errorf("AddStream: %w", err)
	}
	st := &StreamStatus{SensorID: s.SensorID, SensorName: s.SensorName, URI: s.URI, Element: name}
	n.OnStreamError = func(err error) { p.streamFailed(batcher, st, err) }
	id, err := r.AddSource(n, batcher)
	if err != nil {
		return 0, fmt.Errorf("AddStream: %w", err)
	}
	st.SourceID = id // before the lock is let go, which streamFailed takes
	p.streams.add(batcher, st)
	r.Post(&element.StreamMessage{Added: true, SourceID: id, SensorID: s.SensorID, SensorName: s.SensorName, URI: s.URI})
	return id, nil
}

// RemoveStream removes a stream from a running batcher: its source stops,
// the frames it already sent are delivered, then its end (StreamEOS, a
// StreamMessage) goes downstream, where trackers and analytics drop its
// state. The other streams go on.
func (p *Pipeline) RemoveStream(batcher string, sourceID int) error {
	r, err := p.started("RemoveStream")
	if err != nil {
		return err
	}
	p.mu.Lock()
	st := p.streams.live[batcher][sourceID]
	if st != nil {
		delete(p.streams.live[batcher], sourceID)
	}
	p.mu.Unlock()
	if st == nil {
		return fmt.Errorf("RemoveStream: %q has no stream %d", batcher, sourceID)
	}
	if err := r.RemoveNode(st.Element, 10*time.Second); err != nil {
		return fmt.Errorf("RemoveStream: %w", err)
	}
	p.mu.Lock()
	p.g.Remove(st.Element)
	p.mu.Unlock()
	r.Post(&element.StreamMessage{Added: false, SourceID: sourceID, SensorID: st.SensorID, SensorName: st.SensorName, URI: st.URI})
	return nil
}

// Streams lists the streams of a batcher that have not ended or been
// removed, in no particular order.
func (p *Pipeline) Streams(batcher string) []StreamStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	var list []StreamStatus
	for _, st := range p.streams.live[batcher] {
		list = append(list, *st)
	}
	return list
}

// streamFailed records why a stream ended alone (drop-source-errors), for
// StreamFailure. It runs on the source's goroutine before its end goes to
// the batcher, so before the batcher's StreamEOSMessage.
func (p *Pipeline) streamFailed(batcher string, st *StreamStatus, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st.Err = err
	if p.streams.failed == nil {
		p.streams.failed = map[string]map[int]*StreamStatus{}
	}
	if len(p.streams.failed[batcher]) >= 1024 { // nobody asks: keep the recent ones
		clear(p.streams.failed[batcher])
	}
	if p.streams.failed[batcher] == nil {
		p.streams.failed[batcher] = map[int]*StreamStatus{}
	}
	p.streams.failed[batcher][st.SourceID] = st
}

// StreamFailure returns a stream that ended because its source failed,
// with the error in Err, when its batcher was made with
// drop-source-errors=true; ok is false for streams that ended otherwise
// (or are still running). Call it when the batcher's StreamEOSMessage
// comes; it is answered once.
func (p *Pipeline) StreamFailure(batcher string, sourceID int) (st StreamStatus, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.streams.failed[batcher][sourceID]
	if f == nil {
		return StreamStatus{}, false
	}
	delete(p.streams.failed[batcher], sourceID)
	return *f, true
}

// trackStreams keeps the stream table current from the pipeline's messages.
func (p *Pipeline) trackStreams(m element.Message) {
	if e, ok := m.(*element.StreamEOSMessage); ok {
		p.mu.Lock()
		delete(p.streams.live[e.Element], e.SourceID)
		p.mu.Unlock()
	}
}
