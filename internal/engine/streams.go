package engine

import (
	"fmt"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// StreamIsolator is a batcher that wants its streams' failures kept to
// themselves (nvstreammux's drop-source-errors): the error of a source
// linked only to it ends that stream alone (a WarningMessage, then the
// stream's end, which frees its slot) instead of the whole run.
type StreamIsolator interface {
	IsolatesSourceErrors() bool
}

// LatencyBounder is a batcher that bounds how old frames of live streams
// may get (nvstreammux's max-latency): older ones are dropped on the way.
type LatencyBounder interface {
	MaxLatency() time.Duration
}

// LiveSource is a source whose frames come at the pace of the world (a
// camera, a live test source): it must never be held back, so its frames
// queue for the batcher on a link that drops the oldest when full.
type LiveSource interface {
	Live() bool
}

// isolated reports whether rn's error should end only its stream: a source
// whose every output is a batcher that asks for it.
func isolated(rn *rnode) bool {
	if rn.n.Spec.Role != element.RoleSource || len(rn.ports.outs) == 0 {
		return false
	}
	for _, l := range rn.ports.outs {
		si, ok := l.to.n.Elem.(StreamIsolator)
		if !ok || !si.IsolatesSourceErrors() {
			return false
		}
	}
	return true
}

// streamFailed turns a source's error into the end of its stream: it is
// reported, the node's OnStreamError sees it, and the source's end-of-stream
// goes to the batcher as after a clean end.
func (r *Run) streamFailed(rn *rnode, err error) {
	err = wrapElement(rn.n.Name, rn.n.Spec.Kind, err)
	if f := rn.n.OnStreamError; f != nil {
		f(err) // first: whoever reads the warning may ask about it
	}
	r.Post(&element.WarningMessage{Element: rn.n.Name,
		Text: fmt.Sprintf("stream failed: %v (drop-source-errors: only this stream ends)", err)})
}

// isLive reports whether rn is a live source.
func isLive(rn *rnode) bool {
	ls, ok := rn.n.Elem.(LiveSource)
	return ok && ls.Live()
}

// wireLive makes the link from a live source to a batcher drop its oldest
// frame when full, counting the drop on the source (the stream's drops),
// so a slow pipeline never stalls a camera or ages its frames in the queue.
func wireLive(from *rnode, l *link) {
	l.from = from
	if isLive(from) && l.to.n.Spec.Role == element.RoleMux {
		l.leaky = element.DropOldest
		l.live = true
	}
}

// batcherOf is the batcher whose source ids rn's buffers carry: rn itself,
// or the first one up its (single) input chain; nil when there is none.
func batcherOf(rn *rnode) *rnode {
	for n := rn; n != nil; {
		if n.n.Spec.Role == element.RoleMux {
			return n
		}
		if len(n.ins) != 1 || n.ins[0].from == nil {
			return nil
		}
		n = n.ins[0].from
	}
	return nil
}

// tooLate reports whether a buffer arriving at rn on input in (-1: after
// the batcher) is made only of live frames older than the batcher's
// max-latency; it then counts the drop on each frame's stream.
func (r *Run) tooLate(rn *rnode, in int, b *media.Buffer) bool {
	mux := rn.batcher
	if mux == nil {
		return false
	}
	lb, ok := mux.n.Elem.(LatencyBounder)
	if !ok || lb.MaxLatency() <= 0 {
		return false
	}
	meta := b.Meta()
	if meta == nil || len(meta.Frames) == 0 {
		return false
	}
	now := time.Now()
	mux.ports.inMu.RLock()
	defer mux.ports.inMu.RUnlock()
	srcs := make([]*rnode, 0, len(meta.Frames))
	for _, fm := range meta.Frames {
		id := fm.SourceID
		if in >= 0 {
			id = in // not batched yet: the input is the stream
		}
		if id < 0 || id >= len(mux.ins) || !mux.ins[id].live || fm.NTPTimestamp.IsZero() ||
			now.Sub(fm.NTPTimestamp) <= lb.MaxLatency() {
			return false
		}
		srcs = append(srcs, mux.ins[id].from)
	}
	for _, s := range srcs {
		if s != nil {
			s.stats.drops.Add(1)
		}
	}
	return true
}

// shallowAfterLiveBatchers gives the elements after a latency-bounded
// batcher that takes live streams input queues of one buffer. A deep queue
// in front of a slow element (inference slower than the cameras) holds
// batches that age while they wait, and are dropped as too old after the
// work on them was done: with one buffer, the batcher is held back instead,
// its live inputs drop their oldest frames, and every batch it makes is of
// the freshest frames — the slow element then runs at its own rate on
// frames that make it in time. Back-pressure stays (nothing is dropped
// here), so the files of a mixed batch lose no frame. Queues the user or
// the element sized are left alone.
func (r *Run) shallowAfterLiveBatchers() {
	for _, rn := range r.nodes {
		if rn.batcher == nil || rn.batcher == rn || !takesLiveStreams(rn.batcher) {
			continue
		}
		if rn.n.QueueSize != element.DefaultQueueSize || rn.n.Leaky != element.Block {
			continue
		}
		rn.ports.inMu.Lock()
		for i, l := range rn.ins {
			l.ch = make(chan element.Item, 1) // nothing was sent yet: the run has not started
			rn.ports.in[i] = l.ch
		}
		rn.ports.inMu.Unlock()
	}
}

// takesLiveStreams reports whether b bounds the latency of live streams and
// has one at start, or takes streams while running (a service adds its
// cameras later).
func takesLiveStreams(b *rnode) bool {
	lb, ok := b.n.Elem.(LatencyBounder)
	if !ok || lb.MaxLatency() <= 0 {
		return false
	}
	if element.AcceptsInputs(b.n.Elem) {
		return true
	}
	for _, l := range b.ins {
		if l.live {
			return true
		}
	}
	return false
}
