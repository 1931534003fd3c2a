package infer

import (
	"context"
	"slices"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// On a CPU, one ONNX Runtime session splits each operator across its
// intra-op threads, and CenterNet's many small operators keep them waiting
// on each other: on 2 cores, 1 session of 2 threads runs the default
// detector at 31 frames/s, 2 sessions of 1 thread each, on successive
// batches, at 49 (docs/performance.md). The element's "sessions" property
// runs that way: each session a runner of its own (tensors, scratch), fed
// batches in turn, and the batches leave in the order they came.
//
// A runner takes the next batch as soon as its run ends, not when its
// batch's turn to leave comes: on the H200, 4 sessions of batch 150 spent
// a fifth of the time waiting behind a slower earlier run (head-of-line)
// while batches queued. Finished batches wait for their turn, at most
// pendingPerRunner a runner in all.

// pendingPerRunner bounds the batches in the element (running, finished
// and waiting for an earlier one, skipped by interval) per runner: each
// holds a frame of every stream.
const pendingPerRunner = 3

// job is one buffer in flight through the parallel runners.
type job struct {
	it    element.Item
	r     *runner // nil: passed through (skipped by interval)
	done  chan struct{}
	freed bool // r is back among the free runners
	err   error
	took  time.Duration
	ended chan<- struct{}
	infer func(*runner, *media.Buffer) error
}

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// runParallel runs the element with several runners: each buffer goes to
// a free runner (or straight through, when interval skips it), and
// buffers and events leave in the order they came.
func (e *nvinfer) runParallel(ctx context.Context, p element.Ports, runners []*runner) error {
	free := slices.Clone(runners)
	var pending []*job
	var batches int64
	ended := make(chan struct{}, 1) // a run ended (any, not only the head's)
	inferFn := e.runBatch
	if inferFn == nil {
		inferFn = (*runner).inferBatch
	}
	// reclaim frees the runners whose runs ended.
	reclaim := func() {
		for _, j := range pending {
			if j.r != nil && !j.freed && isDone(j.done) {
				free, j.freed = append(free, j.r), true
			}
		}
	}
	// release gives back the buffers of jobs not emitted, once their
	// runners are done with them.
	release := func(err error) error {
		for _, j := range pending {
			<-j.done
			if j.it.Buf != nil {
				j.it.Buf.Release()
			}
		}
		pending = nil
		return err
	}
	emitHead := func() error {
		j := pending[0]
		<-j.done
		pending = pending[1:]
		if j.r != nil {
			if !j.freed {
				free, j.freed = append(free, j.r), true
			}
			if j.err != nil {
				j.it.Buf.Release()
				return j.err
			}
			p.Observe(j.took)
		}
		return p.Emit(j.it)
	}
	owned := runners // closed at the end after a model update (update.go)
	defer func() {
		for _, r := range owned {
			r.close()
		}
	}()
	for {
		nf, err := e.takeUpdate(p, func() ([]*runner, error) {
			for len(pending) > 0 {
				if err := emitHead(); err != nil {
					return nil, err
				}
			}
			return free, nil
		})
		if err != nil {
			return release(err)
		}
		if nf != nil {
			free, owned = nf, nf
		}
		for len(pending) > 0 && isDone(pending[0].done) {
			if err := emitHead(); err != nil {
				return release(err)
			}
		}
		reclaim()
		if len(free) > 0 && len(pending) < pendingPerRunner*len(owned) {
			it, ok, err := p.TryRecv(0)
			if err != nil {
				return release(err)
			}
			if ok {
				if it.Buf == nil { // an event: everything before it leaves first
					for len(pending) > 0 {
						if err := emitHead(); err != nil {
							return release(err)
						}
					}
					if err := p.Emit(it); err != nil {
						return err
					}
					if it.Event == element.EventEOS {
						return nil
					}
					continue
				}
				if e.skips(&batches) {
					pending = append(pending, &job{it: it, done: closedDone})
					continue
				}
				r := free[len(free)-1]
				free = free[:len(free)-1]
				j := &job{it: it, r: r, done: make(chan struct{}), ended: ended, infer: inferFn}
				go j.run()
				pending = append(pending, j)
				continue
			}
		}
		var head <-chan struct{}
		if len(pending) > 0 {
			head = pending[0].done
		}
		select {
		case <-p.Wake():
		case <-ended:
		case <-head:
		case <-ctx.Done():
			return release(context.Cause(ctx))
		}
	}
}

// run infers on the job's buffer with its runner: runParallel applied the
// interval, over all the runners' batches.
func (j *job) run() {
	start := time.Now()
	j.err = j.infer(j.r, j.it.Buf)
	j.took = time.Since(start)
	close(j.done)
	select {
	case j.ended <- struct{}{}:
	default: // a wake-up is already waiting
	}
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// startRunners opens n runners (sessions), closing them all on failure.
func (e *nvinfer) startRunners(n int) ([]*runner, error) {
	rs := make([]*runner, 0, n)
	for range n {
		r, err := e.start()
		if err != nil {
			for _, r := range rs {
				r.close()
			}
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}
