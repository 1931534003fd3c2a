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
