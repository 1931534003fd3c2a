package track

import "math"

// Hungarian solves the assignment problem: cost is a rows×cols matrix,
// row-major; it returns, for each row, the column assigned to it (or -1 for
// the rows left over when rows > cols) so that the sum of the costs of the
// assigned pairs is minimal. Every row is assigned when rows <= cols, every
// column when rows >= cols. It is the Kuhn–Munkres algorithm with
// potentials (shortest augmenting paths), O(rows²·cols). Costs must be
// finite; use a large value for forbidden pairs and check the result.
func Hungarian(cost []float64, rows, cols int) []int {
	var h hungarian
	return append([]int(nil), h.solve(cost, rows, cols)...)
}

// hungarian holds the scratch memory of the algorithm for reuse.
type hungarian struct {
	u, v, minv  []float64
	p, way, res []int
	used        []bool
	transposed  []float64
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// solve is Hungarian with reused memory; the result is valid until the
// next call.
func (h *hungarian) solve(cost []float64, rows, cols int) []int {
	h.res = grow(h.res, rows)
	if rows == 0 {
		return h.res
	}
	if cols == 0 {
		for i := range h.res {
			h.res[i] = -1
		}
		return h.res
	}
	if rows > cols {
		// Solve the transpose (cols rows of rows columns), then invert.
		t := grow(h.transposed, rows*cols)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				t[j*rows+i] = cost[i*cols+j]
			}
		}
		h.transposed = t
		colOf := h.run(t, cols, rows) // colOf[j] = row assigned to column j
		res := grow(h.res, rows)
		for i := range res {
			res[i] = -1
		}
		for j, i := range colOf[:cols] {
			res[i] = j
		}
		h.res = res
		return res
	}
	copy(h.res, h.run(cost, rows, cols))
	return h.res[:rows]
}

// run solves n <= m; it returns the column of each row in a buffer of its own.
func (h *hungarian) run(a []float64, n, m int) []int {
	inf := math.Inf(1)
	h.u, h.v = grow(h.u, n+1), grow(h.v, m+1)
	h.p, h.way = grow(h.p, m+1), grow(h.way, m+1)
	h.minv, h.used = grow(h.minv, m+1), grow(h.used, m+1)
	u, v, p, way, minv, used := h.u, h.v, h.p, h.way, h.minv, h.used
	clear(u)
	clear(v)
	clear(p)
	clear(way)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = inf
			used[j] = false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], inf, 0
			row := a[(i0-1)*m : i0*m]
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				if cur := row[j-1] - u[i0] - v[j]; cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			if j1 == 0 { // only with NaN costs: give up on this row
				break
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	out := grow(h.way, m+1) // way is free again: reuse it for the answer
	res := out[:n]
	for i := range res {
		res[i] = -1
	}
	for j := 1; j <= m; j++ {
		if p[j] != 0 {
			res[p[j]-1] = j - 1
		}
	}
	return res
}
