package track

import "github.com/vidflow/vidflow/media"

// The motion model of SORT and ByteTrack: a constant-velocity Kalman
// filter on the box's centre and size, [cx, cy, w, h] and their
// velocities. With the diagonal noise used here the 8-dimensional filter
// splits exactly into four independent filters of (position, velocity),
// one per coordinate, which is what kalman holds.
type kalman struct {
	x [4]float64    // cx, cy, w, h
	v [4]float64    // their velocities per frame
	p [4][3]float64 // covariance per axis: var(x), cov(x, v), var(v)
}

// noise is the filter's noise model (DeepStream's StateEstimator).
type noise struct {
	// Height-proportional (REGULAR, stateEstimatorType 2, as ByteTrack):
	// standard deviations are weight × box height.
	loc, vel float64
	// Constant variances (SIMPLE, stateEstimatorType 1 and 3).
	procLoc, procSize, procVel, meas float64
	regular                          bool
}

func (n *noise) process(k *kalman, axis int) (qx, qv float64) {
	if n.regular {
		h := max(k.x[3], 1)
		return sq(n.loc * h), sq(n.vel * h)
	}
	if axis < 2 {
		return n.procLoc, n.procVel
	}
	return n.procSize, n.procVel
}

func (n *noise) measurement(k *kalman) float64 {
	if n.regular {
		return sq(n.loc * max(k.x[3], 1))
	}
	return n.meas
}

func sq(x float64) float64 { return x * x }

func newKalman(r media.Rect, n *noise) kalman {
	var k kalman
	k.x = [4]float64{float64(r.Left + r.Width/2), float64(r.Top + r.Height/2), float64(r.Width), float64(r.Height)}
	for a := range 4 {
		if n.regular {
			h := max(k.x[3], 1)
			k.p[a] = [3]float64{sq(2 * n.loc * h), 0, sq(10 * n.vel * h)}
		} else {
			k.p[a] = [3]float64{n.meas, 0, 10 * max(n.procVel, 1)}
		}
	}
	return k
}

// predict moves the state one frame on.
func (k *kalman) predict(n *noise) {
	for a := range 4 {
		qx, qv := n.process(k, a)
		k.x[a] += k.v[a]
		p := &k.p[a]
		p[0] += 2*p[1] + p[2] + qx
		p[1] += p[2]
		p[2] += qv
	}
	// Keep the size positive through long predictions.
	for a := 2; a < 4; a++ {
		if k.x[a] < 1 {
			k.x[a], k.v[a] = 1, 0
		}
	}
}

// update corrects the state with a measured box.
func (k *kalman) update(r media.Rect, n *noise) {
	z := [4]float64{float64(r.Left + r.Width/2), float64(r.Top + r.Height/2), float64(r.Width), float64(r.Height)}
	m := n.measurement(k)
	for a := range 4 {
		p := &k.p[a]
		s := p[0] + m
		if s <= 0 {
			continue
		}
		k0, k1 := p[0]/s, p[1]/s
		y := z[a] - k.x[a]
		k.x[a] += k0 * y
		k.v[a] += k1 * y
		p[2] -= k1 * p[1]
		p[0] *= 1 - k0
		p[1] *= 1 - k0
	}
}

// box is the state's box.
func (k *kalman) box() media.Rect {
	w, h := max(k.x[2], 1), max(k.x[3], 1)
	return media.Rect{Left: float32(k.x[0] - w/2), Top: float32(k.x[1] - h/2), Width: float32(w), Height: float32(h)}
}
