package infer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// chanPorts is the one input and output runParallel uses, as channels.
type chanPorts struct {
	element.Ports // the rest: not called
	in            chan element.Item
	out           chan element.Item
	wake          chan struct{}
}

func (c *chanPorts) TryRecv(int) (element.Item, bool, error) {
	select {
	case it := <-c.in:
		return it, true, nil
	default:
		return element.Item{}, false, nil
	}
}
func (c *chanPorts) Wake() <-chan struct{} { return c.wake }
func (c *chanPorts) Emit(it element.Item) error {
	c.out <- it
	return nil
}
func (c *chanPorts) Observe(time.Duration) {}

// numberedPorts is a chanPorts whose input holds n one-frame batches,
// frame numbers 0 to n-1, then the end of the stream.
func numberedPorts(n int) *chanPorts {
	p := &chanPorts{in: make(chan element.Item, n+1), out: make(chan element.Item, n+1), wake: make(chan struct{}, 1)}
	for i := range n {
		b := batch(1, 8, 8)
		b.Meta().Frames[0].FrameNumber = int64(i)
		p.in <- element.Item{Buf: b}
	}
	p.in <- element.Item{Event: element.EventEOS}
	return p
}

// A session whose run ended takes the next batch although an earlier,
// slower run holds the batches' order: with two sessions, batch 0 runs
// until batches 1, 2 and 3 have run on the other session; all four leave
// in order.
func TestParallelRunnerFreedBeforeItsTurn(t *testing.T) {
	e := &nvinfer{cfg: &Config{ProcessMode: 1}, upd: &updater{}}
	slow, fast := &runner{}, &runner{}
	release := make(chan struct{})
	var mu sync.Mutex
	ran := map[*runner][]int{}
	e.runBatch = func(r *runner, b *media.Buffer) error {
		n := b.Meta().Frames[0].FrameNumber
		mu.Lock()
		ran[r] = append(ran[r], int(n))
		k := len(ran[fast])
		mu.Unlock()
		if n == 0 {
			<-release // the slow run: until the other session ran three
		} else if r == fast && k == 3 {
			close(release)
		}
		return nil
	}
	p := numberedPorts(4)
	p.wake <- struct{}{}
	done := make(chan error, 1)
	// free is taken from its end: the slow runner gets batch 0.
	go func() { done <- e.runParallel(context.Background(), p, []*runner{fast, slow}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stuck: the fast session was not given batches 1-3 while batch 0 ran (head-of-line)")
	}
	var order []int64
	for len(p.out) > 0 {
		it := <-p.out
		if it.Buf == nil {
			continue
		}
		order = append(order, it.Buf.Meta().Frames[0].FrameNumber)
		it.Buf.Release()
	}
	if fmt.Sprint(order) != "[0 1 2 3]" {
		t.Errorf("batches left in order %v, want [0 1 2 3]", order)
	}
	if fmt.Sprint(ran[slow], ran[fast]) != "[0] [1 2 3]" {
		t.Errorf("slow session ran %v, fast %v; want [0] and [1 2 3]", ran[slow], ran[fast])
	}
}

// Batches waiting for their turn are bounded: with one session held on
// batch 0, the element takes no more than pendingPerRunner batches.
func TestParallelPendingBounded(t *testing.T) {
	e := &nvinfer{cfg: &Config{ProcessMode: 1}, upd: &updater{}}
	release := make(chan struct{})
	e.runBatch = func(r *runner, b *media.Buffer) error {
		if b.Meta().Frames[0].FrameNumber == 0 {
			<-release
		}
		return nil
	}
	const n = 3 * pendingPerRunner
	p := numberedPorts(n)
	done := make(chan error, 1)
	go func() { done <- e.runParallel(context.Background(), p, []*runner{{}, {}}) }()
	time.Sleep(200 * time.Millisecond) // let it take all it will
	if taken := n + 1 - len(p.in); taken > 2*pendingPerRunner {
		t.Errorf("took %d batches behind a held one, want at most %d", taken, 2*pendingPerRunner)
	}
	close(release)
	p.wake <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for len(p.out) > 0 {
		if it := <-p.out; it.Buf != nil {
			it.Buf.Release()
		}
	}
}
