package bench

import (
	"testing"
	"time"
)

// Real-time rates are each stream's own after the warm-up: a stream that
// started late and then kept its 30 fps is not diluted, and a slow one is
// not hidden in the sum.
func TestSteadyRatesPerStream(t *testing.T) {
	t0 := time.Now()
	s := &sinkStats{steady: make([]streamWindow, 2)}
	for i := range 31 { // stream 0: 30 fps for 1 s
		s.steady[0].add(t0.Add(time.Duration(i) * time.Second / 30))
	}
	late := t0.Add(5 * time.Second) // stream 1: starts 5 s later, 15 fps for 2 s
	for i := range 31 {
		s.steady[1].add(late.Add(time.Duration(i) * time.Second / 15))
	}
	row := &benchRow{StreamFPS: make([]float64, 2)}
	s.steadyRates(row)
	near := func(got, want float64) bool { return got > want-0.01 && got < want+0.01 }
	if !near(row.StreamFPS[0], 30) || !near(row.StreamFPS[1], 15) || !near(row.FPS, 45) || !near(row.Seconds, 2) {
		t.Errorf("rates %v, total %.2f over %.2f s; want [30 15], 45 over 2 s", row.StreamFPS, row.FPS, row.Seconds)
	}
}

// The middle rate leaves out a run's ramp and drain: batches of 10 frames
// every 100 ms in the middle (100 frames/s), with a slow start and a slow
// tail that a whole-window rate would count.
func TestMiddleFPS(t *testing.T) {
	t0 := time.Now()
	s := &sinkStats{}
	at := t0
	batch := func(d time.Duration, n int64) { at = at.Add(d); s.arrived(at, n) }
	for range 5 { // ramp: 10 frames a second
		batch(time.Second, 10)
	}
	for range 80 { // middle: 100 frames/s
		batch(100*time.Millisecond, 10)
	}
	for range 10 { // drain: 5 frames a second
		batch(time.Second, 5)
	}
	near := func(got, want float64) bool { return got > want-0.5 && got < want+0.5 }
	if got := s.middleFPS(0.1, 0.9); !near(got, 100) {
		t.Errorf("middle 80%%: %.1f frames/s, want 100 (whole window: %.1f)", got, float64(s.frames)/at.Sub(t0).Seconds())
	}
	if got := (&sinkStats{}).middleFPS(0.1, 0.9); got != 0 {
		t.Errorf("no frames: %.1f, want 0", got)
	}
}
