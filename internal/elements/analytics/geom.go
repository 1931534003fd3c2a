package analytics

import "math"

func sub(a, b Point) Point { return Point{a.X - b.X, a.Y - b.Y} }

func cross(a, b Point) float64 { return a.X*b.Y - a.Y*b.X }

func dot(a, b Point) float64 { return a.X*b.X + a.Y*b.Y }

func norm(a Point) float64 { return math.Hypot(a.X, a.Y) }

// polygon is a polygon with its bounding box, for a quick rejection.
type polygon struct {
	pts                    []Point
	minX, minY, maxX, maxY float64
}

func newPolygon(pts []Point) polygon {
	p := polygon{pts: pts, minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1)}
	for _, q := range pts {
		p.minX, p.maxX = min(p.minX, q.X), max(p.maxX, q.X)
		p.minY, p.maxY = min(p.minY, q.Y), max(p.maxY, q.Y)
	}
	return p
}

// contains reports whether q is inside the polygon (even-odd rule); points
// on an edge are inside.
func (p *polygon) contains(q Point) bool {
	if q.X < p.minX || q.X > p.maxX || q.Y < p.minY || q.Y > p.maxY {
		return false
	}
	in := false
	n := len(p.pts)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := p.pts[j], p.pts[i]
		if onSegment(q, a, b) {
			return true
		}
		if (a.Y > q.Y) != (b.Y > q.Y) {
			x := a.X + (q.Y-a.Y)*(b.X-a.X)/(b.Y-a.Y)
			if q.X < x {
				in = !in
			}
		}
	}
	return in
}

func onSegment(q, a, b Point) bool {
	if math.Abs(cross(sub(b, a), sub(q, a))) > 1e-9*(1+norm(sub(b, a))) {
		return false
	}
	return q.X >= min(a.X, b.X)-1e-9 && q.X <= max(a.X, b.X)+1e-9 && q.Y >= min(a.Y, b.Y)-1e-9 && q.Y <= max(a.Y, b.Y)+1e-9
}

// side is the sign of q's side of the line a→b: +1, -1, or 0 on it.
func side(a, b, q Point) int8 {
	c := cross(sub(b, a), sub(q, a))
	switch {
	case c > 1e-9:
		return 1
	case c < -1e-9:
		return -1
	}
	return 0
}

// crossesSegment reports whether the path p→q (whose ends lie on
// opposite sides of the line a-b) meets the segment a-b itself.
func crossesSegment(a, b, p, q Point) bool {
	d := sub(q, p)
	e := sub(b, a)
	den := cross(d, e)
	if den == 0 {
		return false
	}
	// Intersection at a + u·e; u in [0, 1] is on the segment.
	u := cross(sub(a, p), d) / den
	return u >= -1e-9 && u <= 1+1e-9
}
