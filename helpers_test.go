package vidflow_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// stampProvider generates n RGB frames whose first bytes encode the
// stream and the frame number, so a retriever can check what it got.
type stampProvider struct {
	stream, n, w, h int
	i               int
	delay           time.Duration
}

func (p *stampProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: p.w, Height: p.h, Framerate: 25}
}

func (p *stampProvider) Generate(ctx context.Context) (*media.Buffer, error) {
	if p.n >= 0 && p.i >= p.n {
		return nil, io.EOF
	}
	if p.delay > 0 {
		select {
		case <-time.After(p.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	data := make([]byte, p.w*p.h*3)
	data[0], data[1], data[2] = byte(p.stream), byte(p.i), byte(p.i>>8)
	p.i++
	return media.NewBuffer(data), nil
}

func stamps(n, frames int) []media.BufferProvider {
	ps := make([]media.BufferProvider, n)
	for i := range ps {
		ps[i] = &stampProvider{stream: i, n: frames, w: 64, h: 48}
	}
	return ps
}

// collector records, per stream, the frame numbers it received and checks
// each frame's pixels against its metadata.
type collector struct {
	mu      sync.Mutex
	frames  map[int][]int64
	batches int
	errs    []string
}

func newCollector() *collector { return &collector{frames: map[int][]int64{}} }

func (c *collector) Consume(b *media.Buffer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	for i, fm := range b.Meta().Frames {
		if fm.BatchID != i {
			c.errs = append(c.errs, fmt.Sprintf("frame %d of batch has BatchID %d", i, fm.BatchID))
		}
		t, err := b.Extract(fm.BatchID)
		if err != nil {
			c.errs = append(c.errs, err.Error())
			continue
		}
		px := t.Bytes()
		if int(px[0]) != fm.SourceID || int64(px[1])|int64(px[2])<<8 != fm.FrameNumber {
			c.errs = append(c.errs, fmt.Sprintf("pixels say stream %d frame %d, meta says stream %d frame %d",
				px[0], int(px[1])|int(px[2])<<8, fm.SourceID, fm.FrameNumber))
		}
		c.frames[fm.SourceID] = append(c.frames[fm.SourceID], fm.FrameNumber)
	}
	return nil
}

// checkInOrder asserts each of streams got frames 0..n-1 in order.
func (c *collector) checkInOrder(t *testing.T, streams, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.errs {
		t.Error(e)
	}
	if len(c.frames) != streams {
		t.Errorf("got frames of %d streams, want %d", len(c.frames), streams)
	}
	for s := 0; s < streams; s++ {
		got := c.frames[s]
		if len(got) != n {
			t.Errorf("stream %d: %d frames, want %d", s, len(got), n)
			continue
		}
		for i, fn := range got {
			if fn != int64(i) {
				t.Errorf("stream %d: frame %d has number %d (out of order)", s, i, fn)
				break
			}
		}
	}
}

// checkClean asserts no buffer, frame or goroutine outlived the pipeline.
func checkClean(t *testing.T, goroutines int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left running, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
	if n := media.LiveBuffers(); n != 0 {
		t.Errorf("%d buffers not released", n)
	}
	if n := media.LiveFrames(); n != 0 {
		t.Errorf("%d frames not released", n)
	}
}

// messages records a pipeline's messages.
type messages struct {
	mu   sync.Mutex
	list []element.Message
}

func (m *messages) add(msg element.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = append(m.list, msg)
}

func (m *messages) all() []element.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]element.Message(nil), m.list...)
}
