package track

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteForce returns the least total cost of assigning min(rows, cols)
// pairs, trying every assignment.
func bruteForce(cost []float64, rows, cols int) float64 {
	best := math.Inf(1)
	usedC := make([]bool, cols)
	var rec func(r, assigned int, sum float64)
	rec = func(r, assigned int, sum float64) {
		if assigned == min(rows, cols) {
			best = min(best, sum)
			return
		}
		if r == rows {
			return
		}
		if rows-r > min(rows, cols)-assigned { // this row may stay unassigned
			rec(r+1, assigned, sum)
		}
		for c := 0; c < cols; c++ {
			if !usedC[c] {
				usedC[c] = true
				rec(r+1, assigned+1, sum+cost[r*cols+c])
				usedC[c] = false
			}
		}
	}
	rec(0, 0, 0)
	return best
}

func TestHungarian(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 500; trial++ {
		rows, cols := 1+rng.IntN(6), 1+rng.IntN(6)
		cost := make([]float64, rows*cols)
		for i := range cost {
			cost[i] = math.Round(rng.Float64()*20) - 5
		}
		got := Hungarian(cost, rows, cols)
		if len(got) != rows {
			t.Fatalf("%d×%d: %d results", rows, cols, len(got))
		}
		sum, n := 0.0, 0
		seen := map[int]bool{}
		for r, c := range got {
			if c < 0 {
				continue
			}
			if c >= cols || seen[c] {
				t.Fatalf("%d×%d: bad or repeated column %d in %v", rows, cols, c, got)
			}
			seen[c] = true
			sum += cost[r*cols+c]
			n++
		}
		if n != min(rows, cols) {
			t.Fatalf("%d×%d: %d pairs assigned, want %d", rows, cols, n, min(rows, cols))
		}
		if want := bruteForce(cost, rows, cols); math.Abs(sum-want) > 1e-9 {
			t.Fatalf("%d×%d %v: cost %v, optimum %v (%v)", rows, cols, cost, sum, want, got)
		}
	}
	if got := Hungarian(nil, 0, 3); len(got) != 0 {
		t.Errorf("0 rows: %v", got)
	}
	if got := Hungarian(nil, 2, 0); len(got) != 2 || got[0] != -1 || got[1] != -1 {
		t.Errorf("0 columns: %v", got)
	}
}
