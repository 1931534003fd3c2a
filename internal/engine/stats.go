package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const ringSize = 1024

// stats are updated by the element's goroutine and read by Stats callers.
type stats struct {
	buffersIn, buffersOut, framesIn, framesOut, drops, reconnects atomic.Int64

	mu      sync.Mutex
	lat     [ringSize]time.Duration
	nlat    int
	outT    [64]int64 // unix nanos of recent emissions
	outF    [64]int64 // cumulative frames out at those times
	nout    int
	scratch []time.Duration
}

func (s *stats) observe(d time.Duration) {
	s.mu.Lock()
	s.lat[s.nlat%ringSize] = d
	s.nlat++
	s.mu.Unlock()
}

func (s *stats) emitted(frames int, now time.Time) {
	total := s.framesOut.Add(int64(frames))
	s.buffersOut.Add(1)
	s.mu.Lock()
	i := s.nout % len(s.outT)
	s.outT[i], s.outF[i] = now.UnixNano(), total
	s.nout++
	s.mu.Unlock()
}

func (s *stats) snapshot(now time.Time) (p50, p95 time.Duration, fps float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(s.nlat, ringSize)
	if n > 0 {
		s.scratch = append(s.scratch[:0], s.lat[:n]...)
		slices.Sort(s.scratch)
		p50 = s.scratch[(n-1)*50/100]
		p95 = s.scratch[(n-1)*95/100]
	}
	if s.nout >= 2 {
		last := (s.nout - 1) % len(s.outT)
		first := 0
		if s.nout > len(s.outT) {
			first = s.nout % len(s.outT)
		}
		// A stream that stopped emitting has no current rate.
		if now.UnixNano()-s.outT[last] < int64(2*time.Second) {
			if dt := s.outT[last] - s.outT[first]; dt > 0 {
				fps = float64(s.outF[last]-s.outF[first]) / (float64(dt) / 1e9)
			}
		}
	}
	return p50, p95, fps
}
