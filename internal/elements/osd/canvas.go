package osd

import (
	"fmt"
	"math"

	"github.com/vidflow/vidflow/media"
)

// canvas is a packed RGB, RGBA or GRAY8 surface to draw on. Every drawing
// operation clips to it.
type canvas struct {
	pix      []byte
	stride   int
	w, h, ch int
	off      int
}

func newCanvas(s *media.Surface) (canvas, error) {
	ch := s.Format.Channels()
	if ch == 0 {
		return canvas{}, fmt.Errorf("osd: cannot draw on %v frames: batch them as RGB, RGBA or GRAY8", s.Format)
	}
	if err := s.Check(); err != nil {
		return canvas{}, fmt.Errorf("osd: %w", err)
	}
	return canvas{pix: s.Data, stride: s.Strides[0], w: s.Width, h: s.Height, ch: ch, off: s.Offsets[0]}, nil
}

// paint is a colour ready to blend: 8-bit components and alpha, and the
// luma for GRAY8 frames.
type paint struct {
	r, g, b, y uint8
	a          uint32 // 0..255
}

func toPaint(c media.Color) paint {
	p := paint{r: unit(c.R), g: unit(c.G), b: unit(c.B), a: uint32(unit(c.A))}
	p.y = uint8((77*uint32(p.r) + 150*uint32(p.g) + 29*uint32(p.b)) >> 8)
	return p
}

// unit converts a 0..1 component to 0..255, clamping (NaN is 0).
func unit(v float32) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(v*255 + 0.5)
}

// blend mixes s over d with alpha a (0..255), rounding to nearest:
// (t + t>>8) >> 8 is t/255 for the t that occur here.
func blend(d, s uint8, a uint32) uint8 {
	t := uint32(s)*a + uint32(d)*(255-a) + 128
	return uint8((t + t>>8) >> 8)
}

// px blends p with alpha a (0..255) into the pixel at offset o.
func (c *canvas) px(o int, p *paint, a uint32) {
	switch c.ch {
	case 3:
		d := c.pix[o : o+3 : o+3]
		d[0], d[1], d[2] = blend(d[0], p.r, a), blend(d[1], p.g, a), blend(d[2], p.b, a)
	case 4:
		d := c.pix[o : o+4 : o+4]
		d[0], d[1], d[2] = blend(d[0], p.r, a), blend(d[1], p.g, a), blend(d[2], p.b, a)
		d[3] = uint8(uint32(d[3]) + (255-uint32(d[3]))*a/255)
	default:
		c.pix[o] = blend(c.pix[o], p.y, a)
	}
}

// span fills pixels x0..x1-1 of row y (clipped) with p.
func (c *canvas) span(y, x0, x1 int, p *paint) {
	if y < 0 || y >= c.h || p.a == 0 {
		return
	}
	x0, x1 = max(x0, 0), min(x1, c.w)
	if x0 >= x1 {
		return
	}
	ch := c.ch
	row := c.pix[c.off+y*c.stride+x0*ch : c.off+y*c.stride+x1*ch]
	if p.a == 255 {
		switch ch {
		case 3:
			for i := 0; i+2 < len(row); i += 3 {
				row[i], row[i+1], row[i+2] = p.r, p.g, p.b
			}
		case 4:
			for i := 0; i+3 < len(row); i += 4 {
				row[i], row[i+1], row[i+2], row[i+3] = p.r, p.g, p.b, 255
			}
		default:
			for i := range row {
				row[i] = p.y
			}
		}
		return
	}
	// Translucent: precompute the source's share once per span.
	a, ia := p.a, 255-p.a
	sr, sg, sb, sy := uint32(p.r)*a+128, uint32(p.g)*a+128, uint32(p.b)*a+128, uint32(p.y)*a+128
	div := func(t uint32) uint8 { return uint8((t + t>>8) >> 8) }
	switch ch {
	case 3:
		for i := 0; i+2 < len(row); i += 3 {
			row[i] = div(sr + uint32(row[i])*ia)
			row[i+1] = div(sg + uint32(row[i+1])*ia)
			row[i+2] = div(sb + uint32(row[i+2])*ia)
		}
	case 4:
		for i := 0; i+3 < len(row); i += 4 {
			row[i] = div(sr + uint32(row[i])*ia)
			row[i+1] = div(sg + uint32(row[i+1])*ia)
			row[i+2] = div(sb + uint32(row[i+2])*ia)
			row[i+3] = uint8(uint32(row[i+3]) + (255-uint32(row[i+3]))*a/255)
		}
	default:
		for i := range row {
			row[i] = div(sy + uint32(row[i])*ia)
		}
	}
}

// fill fills the pixel rectangle [x0,x1)×[y0,y1), clipped.
func (c *canvas) fill(x0, y0, x1, y1 int, p *paint) {
	y0, y1 = max(y0, 0), min(y1, c.h)
	for y := y0; y < y1; y++ {
		c.span(y, x0, x1, p)
	}
}

// cover blends p into pixel (x, y) with coverage cov (0..1).
func (c *canvas) cover(x, y int, p *paint, cov float64) {
	if cov <= 0 || x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	a := p.a
	if cov < 1 {
		a = uint32(float64(a)*cov + 0.5)
		if a == 0 {
			return
		}
	}
	c.px(c.off+y*c.stride+x*c.ch, p, a)
}

// mask blends p through an alpha mask of w×h placed at (x, y), clipped.
func (c *canvas) mask(m []byte, w, h, x, y int, p *paint) {
	if p.a == 0 || w <= 0 {
		return
	}
	sx0, sy0 := max(0, -x), max(0, -y)
	sx1, sy1 := min(w, c.w-x), min(h, c.h-y)
	ch := c.ch
	for sy := sy0; sy < sy1; sy++ {
		mrow := m[sy*w : sy*w+w]
		base := c.off + (y+sy)*c.stride + x*ch
		for sx := sx0; sx < sx1; sx++ {
			cov := uint32(mrow[sx])
			if cov == 0 {
				continue
			}
			a := p.a
			if cov != 255 {
				a = (a*cov + 127) / 255
			}
			c.px(base+sx*ch, p, a)
		}
	}
}

// The limits of coordinates: anything beyond is far outside every frame.
const farAway = 1 << 24

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// ipix rounds a coordinate to a pixel edge, clamped to ±farAway; ok is
// false for NaN.
func ipix(v float32) (int, bool) {
	f := float64(v)
	if math.IsNaN(f) {
		return 0, false
	}
	f = min(max(f, -farAway), farAway)
	return int(math.Round(f)), true
}

// rectPixels turns a float box into a pixel rectangle; ok is false for
// empty, negative or NaN boxes.
func rectPixels(left, top, width, height float32) (x0, y0, x1, y1 int, ok bool) {
	if !(width > 0) || !(height > 0) {
		return 0, 0, 0, 0, false
	}
	x0, ok0 := ipix(left)
	y0, ok1 := ipix(top)
	x1, ok2 := ipix(left + width)
	y1, ok3 := ipix(top + height)
	if !(ok0 && ok1 && ok2 && ok3) {
		return 0, 0, 0, 0, false
	}
	if x1 <= x0 {
		x1 = x0 + 1
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	return x0, y0, x1, y1, true
}

// frame draws the border of [x0,x1)×[y0,y1), bw pixels wide, inside it.
func (c *canvas) frame(x0, y0, x1, y1, bw int, p *paint) {
	if bw <= 0 {
		return
	}
	if 2*bw >= x1-x0 || 2*bw >= y1-y0 {
		c.fill(x0, y0, x1, y1, p)
		return
	}
	c.fill(x0, y0, x1, y0+bw, p)
	c.fill(x0, y1-bw, x1, y1, p)
	c.fill(x0, y0+bw, x0+bw, y1-bw, p)
	c.fill(x1-bw, y0+bw, x1, y1-bw, p)
}

// interval is a closed range of x; empty when lo > hi.
type interval struct{ lo, hi float64 }

var none = interval{1, 0}

func (a interval) empty() bool { return !(a.lo <= a.hi) }

func (a interval) union(b interval) interval {
	switch {
	case a.empty():
		return b
	case b.empty():
		return a
	}
	return interval{min(a.lo, b.lo), max(a.hi, b.hi)}
}

func (a interval) meet(b interval) interval {
	return interval{max(a.lo, b.lo), min(a.hi, b.hi)}
}

// solve returns the x with lo <= k*x + m <= hi.
func solve(k, m, lo, hi float64) interval {
	if math.Abs(k) < 1e-12 {
		if m >= lo && m <= hi {
			return interval{math.Inf(-1), math.Inf(1)}
		}
		return none
	}
	a, b := (lo-m)/k, (hi-m)/k
	if a > b {
		a, b = b, a
	}
	return interval{a, b}
}

// clipSegment clips the segment to the box [x0,x1]×[y0,y1] (Liang–Barsky);
// ok is false when nothing is left.
func clipSegment(ax, ay, bx, by, x0, y0, x1, y1 float64) (float64, float64, float64, float64, bool) {
	t0, t1 := 0.0, 1.0
	dx, dy := bx-ax, by-ay
	for _, e := range [4][2]float64{{-dx, ax - x0}, {dx, x1 - ax}, {-dy, ay - y0}, {dy, y1 - ay}} {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return 0, 0, 0, 0, false
			}
			continue
		}
		r := q / p
		if p < 0 {
			t0 = max(t0, r)
		} else {
			t1 = min(t1, r)
		}
		if t0 > t1 {
			return 0, 0, 0, 0, false
		}
	}
	return ax + t0*dx, ay + t0*dy, ax + t1*dx, ay + t1*dy, true
}

// capsule draws the segment A–B with round caps, hw pixels either side of
// it, anti-aliased: a pixel's coverage is how far inside the edge its
// centre is.
func (c *canvas) capsule(ax, ay, bx, by, hw float64, p *paint) {
	if !finite(ax, ay, bx, by, hw) || hw <= 0 || p.a == 0 {
		return
	}
	r := hw + 0.5
	m := r + 1
	var ok bool
	if ax, ay, bx, by, ok = clipSegment(ax, ay, bx, by, -m, -m, float64(c.w)+m, float64(c.h)+m); !ok {
		return
	}
	dx, dy := bx-ax, by-ay
	l := math.Hypot(dx, dy)
	var ux, uy float64
	if l > 1e-9 {
		ux, uy = dx/l, dy/l
	}
	ylo := max(0, int(math.Floor(min(ay, by)-r)))
	yhi := min(c.h-1, int(math.Ceil(max(ay, by)+r)))
	for y := ylo; y <= yhi; y++ {
		py := float64(y) + 0.5
		iv := disc(ax, ay, r, py).union(disc(bx, by, r, py))
		if l > 1e-9 {
			// |n·(P-A)| <= r and 0 <= u·(P-A) <= l, with n = (-uy, ux).
			s := solve(-uy, ux*(py-ay)+uy*ax, -r, r).meet(solve(ux, uy*(py-ay)-ux*ax, 0, l))
			iv = iv.union(s)
		}
		if iv.empty() {
			continue
		}
		xlo := max(0, int(math.Floor(iv.lo-0.5)))
		xhi := min(c.w-1, int(math.Ceil(iv.hi-0.5)))
		for x := xlo; x <= xhi; x++ {
			px := float64(x) + 0.5
			t := 0.0
			if l > 1e-9 {
				t = min(max((px-ax)*ux+(py-ay)*uy, 0), l)
			}
			d := dist(px-(ax+t*ux), py-(ay+t*uy))
			c.cover(x, y, p, min(hw+0.5-d, 1))
		}
	}
}

// dist is the length of (x, y); coordinates here are clipped, so no
// overflow care is needed.
func dist(x, y float64) float64 { return math.Sqrt(x*x + y*y) }

// disc returns the x-range of row py within distance r of (cx, cy).
func disc(cx, cy, r, py float64) interval {
	dy := py - cy
	if math.Abs(dy) > r {
		return none
	}
	dx := math.Sqrt(r*r - dy*dy)
	return interval{cx - dx, cx + dx}
}

// convex fills a convex polygon (vertices in either order), anti-aliased.
func (c *canvas) convex(pts [][2]float64, p *paint) {
	n := len(pts)
	if n < 3 || p.a == 0 {
		return
	}
	for _, q := range pts {
		if !finite(q[0], q[1]) || math.Abs(q[0]) > farAway || math.Abs(q[1]) > farAway {
			return
		}
	}
	// Orientation: make edge normals point inwards.
	area := 0.0
	for i := range pts {
		j := (i + 1) % n
		area += pts[i][0]*pts[j][1] - pts[j][0]*pts[i][1]
	}
	if math.Abs(area) < 1e-9 {
		return
	}
	sign := 1.0
	if area < 0 {
		sign = -1
	}
	type edge struct{ nx, ny, c float64 } // signed distance = nx*x + ny*y + c
	edges := make([]edge, 0, 8)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i := range pts {
		j := (i + 1) % n
		ex, ey := pts[j][0]-pts[i][0], pts[j][1]-pts[i][1]
		el := math.Hypot(ex, ey)
		if el < 1e-12 {
			continue
		}
		nx, ny := -ey/el*sign, ex/el*sign
		edges = append(edges, edge{nx, ny, -(nx*pts[i][0] + ny*pts[i][1])})
		ymin, ymax = min(ymin, pts[i][1]), max(ymax, pts[i][1])
	}
	ylo := max(0, int(math.Floor(ymin-1)))
	yhi := min(c.h-1, int(math.Ceil(ymax+1)))
	for y := ylo; y <= yhi; y++ {
		py := float64(y) + 0.5
		iv := interval{math.Inf(-1), math.Inf(1)}
		for _, e := range edges {
			iv = iv.meet(solve(e.nx, e.ny*py+e.c, -0.5, math.Inf(1)))
		}
		if iv.empty() {
			continue
		}
		xlo := max(0, int(math.Floor(iv.lo-0.5)))
		xhi := min(c.w-1, int(math.Ceil(iv.hi-0.5)))
		for x := xlo; x <= xhi; x++ {
			px := float64(x) + 0.5
			d := math.Inf(1)
			for _, e := range edges {
				d = min(d, e.nx*px+e.ny*py+e.c)
			}
			c.cover(x, y, p, min(d+0.5, 1))
		}
	}
}

// ring draws a circle outline between radii ri and ro, and fills the disc
// inside ri with fill when it is not nil, anti-aliased.
func (c *canvas) ring(cx, cy, ri, ro float64, stroke, fill *paint) {
	if !finite(cx, cy, ri, ro) || ro <= 0 {
		return
	}
	ri = max(ri, 0)
	// Nothing to draw when the frame is outside the outer circle, or inside
	// the inner one without a fill.
	nx := min(max(cx, 0), float64(c.w))
	ny := min(max(cy, 0), float64(c.h))
	if math.Hypot(cx-nx, cy-ny) > ro+1 {
		return
	}
	fx := max(math.Abs(cx), math.Abs(cx-float64(c.w)))
	fy := max(math.Abs(cy), math.Abs(cy-float64(c.h)))
	inside := math.Hypot(fx, fy) < ri-1
	if inside && fill == nil {
		return
	}
	ylo := max(0, int(math.Floor(cy-ro-1)))
	yhi := min(c.h-1, int(math.Ceil(cy+ro+1)))
	for y := ylo; y <= yhi; y++ {
		py := float64(y) + 0.5
		outer := disc(cx, cy, ro+0.5, py)
		if outer.empty() {
			continue
		}
		// Pixels whose centre is well inside ri: plain fill, no stroke.
		in := none
		if ri > 1 {
			in = disc(cx, cy, ri-0.5, py)
		}
		xlo := max(0, int(math.Floor(outer.lo-0.5)))
		xhi := min(c.w-1, int(math.Ceil(outer.hi-0.5)))
		ilo, ihi := xhi+1, xhi // inner full span [ilo, ihi]
		if !in.empty() {
			ilo = max(xlo, int(math.Ceil(in.lo-0.5))+1)
			ihi = min(xhi, int(math.Floor(in.hi-0.5))-1)
		}
		if fill != nil && ilo <= ihi {
			c.span(y, ilo, ihi+1, fill)
		}
		for x := xlo; x <= xhi; x++ {
			if x == ilo && ilo <= ihi {
				x = ihi
				continue
			}
			px := float64(x) + 0.5
			d := dist(px-cx, py-cy)
			inner := min(max(ri+0.5-d, 0), 1)
			if fill != nil && inner > 0 {
				c.cover(x, y, fill, inner)
			}
			if stroke != nil {
				c.cover(x, y, stroke, min(max(ro+0.5-d, 0), 1)-inner)
			}
		}
	}
}
