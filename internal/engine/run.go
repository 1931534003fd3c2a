package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// errStopped is the cancellation cause of Stop.
var errStopped = errors.New("pipeline stopped")

// errDownstreamGone tells an element that everything downstream ended.
var errDownstreamGone = errors.New("downstream ended")

// Run is a started graph.
type Run struct {
	g      *Graph
	parent context.Context
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu     sync.Mutex // guards nodes, links and dynamic wiring
	nodes  []*rnode
	links  []*link
	wg     sync.WaitGroup
	ending bool

	errMu sync.Mutex
	err   error

	postMu  sync.RWMutex
	closed  bool
	msgs    chan element.Message
	msgDone chan struct{}
	ended   chan struct{} // every element returned and the queues are empty
	done    chan struct{} // and every message was delivered
}

type rnode struct {
	n     *Node
	stats stats
	ports *ports
	ins   []*link
	exit  chan struct{} // closed when the element's goroutine ends
	// batcher is the batcher whose source ids this node's buffers carry
	// (nil: none), for the live-latency bound.
	batcher *rnode
	ctx     context.Context
	cancel  context.CancelFunc // stops this element alone (RemoveNode)
	release sync.Once          // element.Keeper's Release, at most once
}

type link struct {
	ch    chan element.Item
	to    *rnode
	from  *rnode // nil for the links of dropped events
	leaky element.Leaky
	live  bool // from a live source to a batcher: drops count on the source
}

// Start validates the graph and starts one goroutine per element. onMsg,
// if not nil, is called with every message, in order, on one goroutine of
// its own.
func Start(parent context.Context, g *Graph, onMsg func(element.Message)) (*Run, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(parent)
	r := &Run{g: g, parent: parent, ctx: ctx, cancel: cancel,
		msgs: make(chan element.Message, 256), msgDone: make(chan struct{}), ended: make(chan struct{}), done: make(chan struct{})}
	byNode := map[*Node]*rnode{}
	for _, n := range g.nodes {
		rn := r.newNode(n)
		byNode[n] = rn
		r.nodes = append(r.nodes, rn)
	}
	for _, rn := range r.nodes {
		for range rn.n.ins {
			r.addInput(rn)
		}
	}
	// Wire outputs to the matching input links of their targets.
	next := map[*rnode]int{}
	for _, rn := range r.nodes {
		for _, out := range rn.n.outs {
			to := byNode[out]
			l := to.ins[next[to]]
			wireLive(rn, l)
			rn.ports.outs = append(rn.ports.outs, l)
			next[to]++
		}
	}
	for _, rn := range r.nodes {
		rn.batcher = batcherOf(rn)
	}
	r.shallowAfterLiveBatchers()
	go r.dispatch(onMsg)
	r.Post(&element.StateMessage{Origin: g.Name, Old: element.StateEmpty, New: element.StatePlaying})
	for _, rn := range r.nodes {
		r.startNode(rn)
	}
	go func() {
		r.wg.Wait()
		r.mu.Lock()
		r.ending = true
		r.mu.Unlock()
		r.finish()
	}()
	return r, nil
}

func (r *Run) newNode(n *Node) *rnode {
	rn := &rnode{n: n, exit: make(chan struct{})}
	rn.ctx, rn.cancel = context.WithCancel(r.ctx)
	rn.ports = &ports{r: r, node: rn, ctx: rn.ctx, wake: make(chan struct{}, 1)}
	return rn
}

// addInput gives rn one more input queue.
func (r *Run) addInput(rn *rnode) *link {
	l := &link{ch: make(chan element.Item, max(1, rn.n.QueueSize)), to: rn, leaky: rn.n.Leaky}
	r.links = append(r.links, l)
	rn.ports.inMu.Lock()
	rn.ins = append(rn.ins, l)
	rn.ports.in = append(rn.ports.in, l.ch)
	rn.ports.inMu.Unlock()
	return l
}

func (r *Run) startNode(rn *rnode) {
	for _, name := range rn.n.Config.Ignored() {
		r.Post(&element.WarningMessage{Element: rn.n.Name, Text: fmt.Sprintf("property %q has no effect in vidflow and is ignored", name)})
	}
	r.Post(&element.StateMessage{Origin: rn.n.Name, Old: element.StateReady, New: element.StatePlaying})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.runNode(rn)
	}()
}

// AddSource starts n, a source node added to the graph while running,
// linked to a new input of the running node to (a batcher). It returns
// the index of that input.
func (r *Run) AddSource(n *Node, to string) (int, error) {
	rn, err := r.addSource(n, to)
	if err != nil {
		return 0, err
	}
	r.startNode(rn)
	return len(rn.ports.outs[0].to.ins) - 1, nil
}

// addSource wires n to a new input of to, ready to start.
func (r *Run) addSource(n *Node, to string) (*rnode, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var target *rnode
	for _, rn := range r.nodes {
		if rn.n.Name == to {
			target = rn
		}
	}
	switch {
	case target == nil:
		return nil, fmt.Errorf("no element named %q", to)
	case r.ending || r.ctx.Err() != nil:
		return nil, fmt.Errorf("pipeline %q is not running", r.g.Name)
	}
	select {
	case <-target.exit:
		return nil, fmt.Errorf("element %q has ended", to)
	default:
	}
	if c, ok := n.Elem.(element.Checker); ok {
		if err := c.Check(); err != nil {
			return nil, wrapElement(n.Name, n.Spec.Kind, err)
		}
	}
	rn := r.newNode(n)
	l := r.addInput(target)
	wireLive(rn, l)
	rn.ports.outs = []*link{l}
	r.nodes = append(r.nodes, rn)
	r.signal(l)
	return rn, nil
}

// RemoveNode stops one element and forgets it once it has returned (its
// end-of-stream goes downstream like a stream's end). It waits for the
// element to return, up to limit.
func (r *Run) RemoveNode(name string, limit time.Duration) error {
	r.mu.Lock()
	var rn *rnode
	for _, n := range r.nodes {
		if n.n.Name == name {
			rn = n
		}
	}
	r.mu.Unlock()
	if rn == nil {
		return fmt.Errorf("no element named %q", name)
	}
	rn.cancel()
	select {
	case <-rn.exit:
	case <-time.After(limit):
		return fmt.Errorf("element %q did not stop within %v", name, limit)
	}
	r.mu.Lock()
	for i, n := range r.nodes {
		if n == rn {
			r.nodes = append(r.nodes[:i], r.nodes[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	release(rn)
	return nil
}

// release gives back what an element kept past its Run (element.Keeper),
// once: the run's end and a removal may both ask.
func release(rn *rnode) {
	if k, ok := rn.n.Elem.(element.Keeper); ok {
		rn.release.Do(k.Release)
	}
}

func (r *Run) signal(l *link) {
	select {
	case l.to.ports.wake <- struct{}{}:
	default:
	}
}

func (r *Run) runNode(rn *rnode) {
	defer close(rn.exit)
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
			}
		}()
		return rn.n.Elem.Run(rn.ctx, rn.ports)
	}()
	if r.ctx.Err() == nil && rn.ctx.Err() != nil {
		// Removed alone: its end goes downstream, on the run's context.
		err = nil
		rn.ports.ctx = r.ctx
	}
	if err != nil && !errors.Is(err, errDownstreamGone) && r.ctx.Err() == nil && isolated(rn) {
		r.streamFailed(rn, err)
		err = nil
	}
	if err == nil || errors.Is(err, errDownstreamGone) {
		err = rn.ports.endOutputs()
	}
	if err != nil && !errors.Is(err, errDownstreamGone) {
		r.fail(wrapElement(rn.n.Name, rn.n.Spec.Kind, err))
	}
	r.Post(&element.StateMessage{Origin: rn.n.Name, Old: element.StatePlaying, New: element.StateEmpty})
}

// fail records the first error and stops everything. Errors that follow
// a cancellation are its echo and are dropped.
func (r *Run) fail(err error) {
	r.errMu.Lock()
	if r.err != nil || r.ctx.Err() != nil {
		r.errMu.Unlock()
		return
	}
	r.err = err
	r.cancel(err)
	r.errMu.Unlock()
	r.Post(&element.ErrorMessage{Element: elementOf(err), Err: err})
}

func elementOf(err error) string {
	var ee *element.ElementError
	if errors.As(err, &ee) {
		return ee.Element
	}
	return ""
}

// finish runs once every element has ended: it releases what is left in
// the queues and sends the last messages.
func (r *Run) finish() {
	r.mu.Lock()
	nodes := append([]*rnode(nil), r.nodes...)
	r.mu.Unlock()
	for _, rn := range nodes {
		release(rn)
	}
	for _, l := range r.links {
		for {
			select {
			case it := <-l.ch:
				if it.Buf != nil {
					it.Buf.Release()
				}
				continue
			default:
			}
			break
		}
	}
	r.errMu.Lock()
	clean := r.err == nil && r.ctx.Err() == nil
	r.errMu.Unlock()
	if clean {
		r.Post(&element.EOSMessage{})
	}
	r.cancel(errStopped)
	close(r.ended)
	r.Post(&element.StateMessage{Origin: r.g.Name, Old: element.StatePlaying, New: element.StateEmpty})
	r.postMu.Lock()
	r.closed = true
	close(r.msgs)
	r.postMu.Unlock()
	<-r.msgDone
	close(r.done)
}

func (r *Run) dispatch(onMsg func(element.Message)) {
	defer close(r.msgDone)
	for m := range r.msgs {
		if onMsg != nil {
			func() {
				defer func() { _ = recover() }()
				onMsg(m)
			}()
		}
	}
}

// Post sends a message to the application. Messages are few; when the
// application's callback is slow, Post waits rather than lose one.
func (r *Run) Post(m element.Message) {
	r.postMu.RLock()
	defer r.postMu.RUnlock()
	if !r.closed {
		r.msgs <- m
	}
}

// Wait blocks until the pipeline ends and returns the first error, the
// parent context's cause if it was cancelled, or nil after end-of-stream
// or Stop.
func (r *Run) Wait() error {
	<-r.done
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if r.err != nil {
		return r.err
	}
	if r.parent.Err() != nil {
		return context.Cause(r.parent)
	}
	return nil
}

// Stop ends the pipeline and waits until every element has returned and
// every buffer in its queues was released. It may be called from the
// message callback.
func (r *Run) Stop() error {
	r.errMu.Lock()
	r.cancel(errStopped)
	r.errMu.Unlock()
	<-r.ended
	return nil
}

// Done is closed when the pipeline has ended.
func (r *Run) Done() <-chan struct{} { return r.done }

// Stats returns a snapshot of every element's statistics, in graph order.
func (r *Run) Stats() []element.NodeStats {
	now := time.Now()
	r.mu.Lock()
	nodes := append([]*rnode(nil), r.nodes...)
	r.mu.Unlock()
	out := make([]element.NodeStats, len(nodes))
	for i, rn := range nodes {
		s := &rn.stats
		p50, p95, fps := s.snapshot(now)
		ns := element.NodeStats{Name: rn.n.Name, Kind: rn.n.Spec.Kind,
			BuffersIn: s.buffersIn.Load(), BuffersOut: s.buffersOut.Load(),
			FramesIn: s.framesIn.Load(), FramesOut: s.framesOut.Load(), Drops: s.drops.Load(), Reconnects: s.reconnects.Load(),
			FPS: fps, LatencyP50: p50, LatencyP95: p95}
		if b, ok := rn.n.Elem.(element.Busy); ok {
			ns.Working, ns.Workers = b.Busy()
		}
		rn.ports.inMu.RLock()
		for _, ch := range rn.ports.in {
			ns.QueueDepth += len(ch)
			ns.QueueCap += cap(ch)
		}
		for _, pl := range rn.ports.pools {
			ns.Pools += pl.Outstanding()
		}
		rn.ports.inMu.RUnlock()
		out[i] = ns
	}
	return out
}

// ports is an element's view of the running pipeline: its input queues,
// its outputs, its statistics and the message bus.
type ports struct {
	r       *Run
	node    *rnode
	ctx     context.Context
	inMu    sync.RWMutex
	in      []chan element.Item
	wake    chan struct{}
	outs    []*link
	eosSent bool
	pools   []*media.Pool
	downs   atomic.Int32 // outputs whose element ended
}

// Name is the element's name.
func (p *ports) Name() string { return p.node.n.Name }

// NumIn is the number of input queues. It grows while a batcher takes new
// streams.
func (p *ports) NumIn() int {
	p.inMu.RLock()
	defer p.inMu.RUnlock()
	return len(p.in)
}

// Recv waits for the next item of the (single) input queue. Buffers pass
// the element's sink probes first.
func (p *ports) Recv() (element.Item, error) {
	for {
		select {
		case it := <-p.in[0]:
			if it, ok, err := p.received(it, -1); ok || err != nil {
				return it, err
			}
		case <-p.ctx.Done():
			return element.Item{}, context.Cause(p.ctx)
		}
	}
}

// TryRecv takes the next item of input queue i if there is one. ok is
// false when the queue was empty or a probe dropped the buffer.
func (p *ports) TryRecv(i int) (it element.Item, ok bool, err error) {
	p.inMu.RLock()
	ch := p.in[i]
	p.inMu.RUnlock()
	select {
	case it := <-ch:
		return p.received(it, i)
	default:
		return element.Item{}, false, nil
	}
}

// Wake is signalled when an item is queued on any input: elements with
// several inputs wait on it after finding all queues empty.
func (p *ports) Wake() <-chan struct{} { return p.wake }

// received runs the sink probes on an item that came on input in (-1:
// the single input), after dropping it if it is live and too old.
func (p *ports) received(it element.Item, in int) (element.Item, bool, error) {
	if it.Buf == nil {
		return it, true, nil
	}
	p.node.stats.buffersIn.Add(1)
	p.node.stats.framesIn.Add(int64(it.Buf.BatchSize()))
	if p.node.n.Spec.Role != element.RoleMux {
		in = -1 // source ids are in the metadata
	}
	if p.r.tooLate(p.node, in, it.Buf) {
		it.Buf.Release()
		return element.Item{}, false, nil
	}
	keep, err := p.probe(p.node.n.sinkProbes, it.Buf)
	if err != nil || !keep {
		it.Buf.Release()
		if err == nil {
			p.node.stats.drops.Add(1)
		}
		return element.Item{}, false, err
	}
	return it, true, nil
}

func (p *ports) probe(probes []Probe, b *media.Buffer) (keep bool, err error) {
	for _, pr := range probes {
		func() {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("probe %q panicked: %v", pr.Name, v)
				}
			}()
			keep = pr.Fn(b)
		}()
		if err != nil || !keep {
			return keep, err
		}
	}
	return true, nil
}

// Emit sends an item to every output (a buffer is shared with branches
// after the first). Buffers pass the element's src probes first. Emit owns
// the item's buffer from the call on, whatever it returns.
func (p *ports) Emit(it element.Item) error {
	if it.Buf != nil {
		keep, err := p.probe(p.node.n.srcProbes, it.Buf)
		if err != nil || !keep {
			it.Buf.Release()
			if err == nil {
				p.node.stats.drops.Add(1)
			}
			return err
		}
		p.node.stats.emitted(it.Buf.BatchSize(), time.Now())
	} else if it.Event == element.EventEOS {
		if p.eosSent {
			return nil
		}
		p.eosSent = true
	}
	if len(p.outs) == 0 {
		if it.Buf != nil {
			it.Buf.Release()
		}
		return nil
	}
	items := make([]element.Item, len(p.outs))
	items[0] = it
	for i := 1; i < len(items); i++ {
		items[i] = it
		if it.Buf != nil {
			items[i].Buf = it.Buf.Share()
		}
	}
	var firstErr error
	for i, l := range p.outs {
		if err := p.send(l, items[i]); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil && int(p.downs.Load()) == len(p.outs) {
		return errDownstreamGone
	}
	return firstErr
}

// EmitBuffer is Emit of a buffer item.
func (p *ports) EmitBuffer(b *media.Buffer) error { return p.Emit(element.Item{Buf: b}) }

func (p *ports) send(l *link, it element.Item) error {
	if it.Buf != nil && l.leaky != element.Block {
		for {
			select {
			case l.ch <- it:
				p.signal(l)
				return nil
			case <-l.to.exit:
				return p.gone(it)
			default:
			}
			if l.leaky == element.DropNewest {
				it.Buf.Release()
				l.dropped()
				return nil
			}
			select {
			case old := <-l.ch:
				if old.Buf == nil {
					// Events are never dropped; one that is moved behind
					// later buffers of other streams still holds.
					if err := p.send(&link{ch: l.ch, to: l.to}, old); err != nil {
						it.Buf.Release()
						return err
					}
					continue
				}
				old.Buf.Release()
				l.dropped()
			default:
			}
		}
	}
	select {
	case l.ch <- it:
		p.signal(l)
		return nil
	case <-l.to.exit:
		return p.gone(it)
	case <-p.ctx.Done():
		if it.Buf != nil {
			it.Buf.Release()
		}
		return context.Cause(p.ctx)
	}
}

// dropped counts a buffer a full leaky link dropped: on the live source
// it came from (its stream's drops), else on the element it was for.
func (l *link) dropped() {
	if l.live && l.from != nil {
		l.from.stats.drops.Add(1)
		return
	}
	l.to.stats.drops.Add(1)
}

func (p *ports) gone(it element.Item) error {
	if it.Buf != nil {
		it.Buf.Release()
	}
	p.downs.Add(1)
	return nil
}

func (p *ports) signal(l *link) {
	select {
	case l.to.ports.wake <- struct{}{}:
	default:
	}
}

// endOutputs sends end-of-stream downstream if the element did not.
func (p *ports) endOutputs() error {
	if p.eosSent || len(p.outs) == 0 {
		return nil
	}
	err := p.Emit(element.Item{Event: element.EventEOS})
	if errors.Is(err, errDownstreamGone) {
		return nil
	}
	return err
}

// Observe records the time the element spent on one buffer.
func (p *ports) Observe(d time.Duration) { p.node.stats.observe(d) }

// Dropped counts n buffers the element dropped.
func (p *ports) Dropped(n int) { p.node.stats.drops.Add(int64(n)) }

// Reconnected counts a reconnection of a live source.
func (p *ports) Reconnected() { p.node.stats.reconnects.Add(1) }

// AddPool registers a frame pool so statistics report its use.
func (p *ports) AddPool(pl *media.Pool) {
	p.inMu.Lock()
	p.pools = append(p.pools, pl)
	p.inMu.Unlock()
}

// Post sends a message to the application.
func (p *ports) Post(m element.Message) { p.r.Post(m) }

// Info posts an InfoMessage from this element.
func (p *ports) Info(format string, args ...any) {
	p.r.Post(&element.InfoMessage{Element: p.Name(), Text: fmt.Sprintf(format, args...)})
}

// Warn posts a warning from this element.
func (p *ports) Warn(format string, args ...any) {
	p.r.Post(&element.WarningMessage{Element: p.Name(), Text: fmt.Sprintf(format, args...)})
}
