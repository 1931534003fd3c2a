package mot

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/vidflow/vidflow/internal/elements/track"
	"github.com/vidflow/vidflow/media"
)

// SynthOptions describe a synthetic benchmark sequence.
type SynthOptions struct {
	Seed          uint64
	Frames        int
	Width, Height int
	// Objects is the number of objects in view at a time (about).
	Objects int
	// CrossEvery starts a pair of objects on a collision course, the one
	// passing behind the other, every so many frames (0: never).
	CrossEvery int
	// Noise is the standard deviation of the detector's box edges, as a
	// fraction of the box's size.
	Noise float64
	// Miss is the probability that the detector misses a fully visible
	// object; partly hidden objects are missed more, and their detections
	// score lower.
	Miss float64
	// FalsePositives is the mean number of spurious detections per frame,
	// and Clutter the mean number of persistent ones (a detector firing on
	// the same background thing for 5 to 25 frames) started per 100 frames.
	FalsePositives, Clutter float64
}

// DefaultSynth is the benchmark of the docs and tests: 900 frames of
// 1280×720 with about 14 objects in view, a crossing every 40 frames,
// 4% box noise, 5% misses, 1 false positive per frame and 5 clutter
// tracks per 100 frames.
func DefaultSynth() SynthOptions {
	return SynthOptions{Seed: 1, Frames: 900, Width: 1280, Height: 720, Objects: 14, CrossEvery: 40,
		Noise: 0.04, Miss: 0.05, FalsePositives: 1, Clutter: 5}
}

type mover struct {
	id                 int
	x, y, vx, vy, w, h float64 // centre, velocity, size
	z                  float64 // depth: larger is nearer
	turn               float64 // heading change per frame
	born               int
}

// Synthetic makes a benchmark sequence: the ground truth (ids from 1) and
// the detections (id -1, Conf the detector's score). The same options
// always give the same sequence.
//
// Each frame: objects enter (synth.enter), the visible ones make the
// ground truth (synth.visible), the detector sees them with noise and
// misses (synth.detect) and adds spurious and persistent false detections
// (synth.falsePositives, synth.clutter), then everything moves
// (synth.move). The steps draw from one random source in this order, so
// the order is part of the sequence.
func Synthetic(o SynthOptions) (gt, det Sequence) {
	s := &synth{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x6d6f7462656e6368)),
		W: float64(o.Width), H: float64(o.Height), nextID: 1}
	// Start with objects already in view.
	for range o.Objects {
		m := s.spawn(0)
		m.x, m.y = m.w/2+s.rng.Float64()*(s.W-m.w), m.h/2+s.rng.Float64()*(s.H-m.h)
		s.ms = append(s.ms, m)
	}
	gt, det = make(Sequence, o.Frames), make(Sequence, o.Frames)
	for f := 0; f < o.Frames; f++ {
		s.enter(f)
		vs := s.visible()
		for _, v := range vs {
			gt[f] = append(gt[f], v.box)
		}
		det[f] = s.detect(det[f], vs)
		det[f] = s.falsePositives(det[f])
		det[f] = s.clutter(det[f])
		s.move(f)
	}
	return gt, det
}

// synth is the state of a synthetic sequence between frames.
type synth struct {
	o      SynthOptions
	rng    *rand.Rand
	W, H   float64
	ms     []*mover
	nextID int
	cl     []clutter
}

// clutter is a persistent false detection: a detector firing on the same
// background thing for a number of frames.
type clutter struct {
	b     Box
	left  int // frames
	score float64
}

// seen is a ground-truth object of a frame.
type seen struct {
	m   *mover
	vis float64 // the share of the box not hidden by nearer objects
	box Box
}

// spawn makes an object entering from an edge at frame f, heading into
// the middle of the frame.
func (s *synth) spawn(f int) *mover {
	rng, W, H := s.rng, s.W, s.H
	w := 30 + rng.Float64()*60
	m := &mover{id: s.nextID, w: w, h: w * (1.6 + rng.Float64()*1.2), z: rng.Float64(), born: f}
	s.nextID++
	speed := 1.5 + rng.Float64()*5
	// Enter from an edge, heading inwards.
	switch rng.IntN(4) {
	case 0:
		m.x, m.y = -m.w/2, H*(0.15+0.7*rng.Float64())
	case 1:
		m.x, m.y = W+m.w/2, H*(0.15+0.7*rng.Float64())
	case 2:
		m.x, m.y = W*(0.1+0.8*rng.Float64()), -m.h/2
	default:
		m.x, m.y = W*(0.1+0.8*rng.Float64()), H+m.h/2
	}
	tx, ty := W*(0.25+0.5*rng.Float64()), H*(0.25+0.5*rng.Float64())
	a := math.Atan2(ty-m.y, tx-m.x)
	m.vx, m.vy = speed*math.Cos(a), speed*math.Sin(a)
	m.turn = (rng.Float64()*2 - 1) * 0.004
	return m
}

// enter adds the objects of frame f: one now and then while fewer than
// o.Objects are in view, and a crossing pair every o.CrossEvery frames.
func (s *synth) enter(f int) {
	rng, W, H, o := s.rng, s.W, s.H, s.o
	inView := 0
	for _, m := range s.ms {
		if m.visibleArea(W, H) > 0 {
			inView++
		}
	}
	if inView < o.Objects && rng.Float64() < 0.15 {
		s.ms = append(s.ms, s.spawn(f))
	}
	if o.CrossEvery > 0 && f%o.CrossEvery == o.CrossEvery/2 {
		// Two objects of the same size meet in the middle of the
		// frame, one behind the other, from opposite sides.
		y := H * (0.3 + 0.4*rng.Float64())
		x := W * (0.3 + 0.4*rng.Float64())
		w := 40 + rng.Float64()*30
		speed := 3 + rng.Float64()*3
		for k, dir := range []float64{1, -1} {
			m := &mover{id: s.nextID, w: w, h: w * 2.2, born: f, z: float64(k)*0.5 + 0.25}
			s.nextID++
			dist := 40 * speed
			m.x, m.y = x-dir*dist, y+float64(k)*w*0.15
			m.vx, m.vy = dir*speed, 0
			s.ms = append(s.ms, m)
		}
	}
}

// visible returns the ground truth of the frame: the objects with at least
// 30% of their box inside the frame and 10% of it not hidden.
func (s *synth) visible() []seen {
	var vs []seen
	for _, m := range s.ms {
		if m.visibleArea(s.W, s.H) < 0.3*m.w*m.h {
			continue
		}
		v := s.visibility(m)
		if v < 0.1 {
			continue
		}
		b := clipBox(Box{ID: m.id, X: m.x - m.w/2, Y: m.y - m.h/2, W: m.w, H: m.h, Conf: 1}, s.W, s.H)
		vs = append(vs, seen{m, v, b})
	}
	return vs
}

// visibility is the share of m's box not covered by nearer objects, on an
// 8×8 grid of points (points outside the frame count as covered).
func (s *synth) visibility(m *mover) float64 {
	vis := 0
	for gy := 0; gy < 8; gy++ {
		for gx := 0; gx < 8; gx++ {
			px := m.x - m.w/2 + (float64(gx)+0.5)*m.w/8
			py := m.y - m.h/2 + (float64(gy)+0.5)*m.h/8
			if px < 0 || py < 0 || px >= s.W || py >= s.H {
				continue
			}
			hidden := false
			for _, n := range s.ms {
				if n != m && n.z > m.z && math.Abs(px-n.x) < n.w/2 && math.Abs(py-n.y) < n.h/2 {
					hidden = true
					break
				}
			}
			if !hidden {
				vis++
			}
		}
	}
	return float64(vis) / 64
}

// detect appends the detector's view of the visible objects to dets: noisy
// boxes, missed and scored lower the more an object is hidden.
func (s *synth) detect(dets []Box, vs []seen) []Box {
	rng, o := s.rng, s.o
	for _, sn := range vs {
		pMiss := o.Miss + (1-o.Miss)*math.Pow(1-sn.vis, 2)
		if rng.Float64() < pMiss {
			continue
		}
		n := o.Noise
		b := sn.box
		l := b.X + rng.NormFloat64()*n*b.W
		r := b.X + b.W + rng.NormFloat64()*n*b.W
		t := b.Y + rng.NormFloat64()*n*b.H
		bt := b.Y + b.H + rng.NormFloat64()*n*b.H
		if r-l < 4 || bt-t < 4 {
			continue
		}
		score := (0.75 + 0.2*rng.Float64()) * (0.25 + 0.75*sn.vis)
		dets = append(dets, clipBox(Box{ID: -1, X: l, Y: t, W: r - l, H: bt - t, Conf: min(score, 0.99)}, s.W, s.H))
	}
	return dets
}

// falsePositives appends the frame's spurious detections (a Poisson number
// of them, low scores) to dets.
func (s *synth) falsePositives(dets []Box) []Box {
	rng, W, H := s.rng, s.W, s.H
	fps := poisson(rng, s.o.FalsePositives)
	for range fps {
		w := 20 + rng.Float64()*80
		dets = append(dets, Box{ID: -1, X: rng.Float64() * (W - w), Y: rng.Float64() * (H - 2*w), W: w, H: w * (1 + rng.Float64()),
			Conf: 0.1 + 0.45*rng.Float64()})
	}
	return dets
}

// clutter maybe starts a persistent false detection, appends the live ones
// (jittered) to dets and drops those that have run out.
func (s *synth) clutter(dets []Box) []Box {
	rng, W, H := s.rng, s.W, s.H
	if rng.Float64() < s.o.Clutter/100 {
		w := 30 + rng.Float64()*60
		s.cl = append(s.cl, clutter{b: Box{ID: -1, X: rng.Float64() * (W - w), Y: rng.Float64() * (H - 2*w), W: w, H: w * 2},
			left: 5 + rng.IntN(21), score: 0.3 + 0.15*rng.Float64()})
	}
	k := 0
	for _, c := range s.cl {
		b := c.b
		b.X += rng.NormFloat64() * 2
		b.Y += rng.NormFloat64() * 2
		b.Conf = c.score + rng.NormFloat64()*0.03
		dets = append(dets, b)
		if c.left--; c.left > 0 {
			s.cl[k] = c
			k++
		}
	}
	s.cl = s.cl[:k]
	return dets
}

// move advances every object by a frame of frame f; objects that left the
// frame are gone (those born in the last 5 frames may still be entering).
func (s *synth) move(f int) {
	k := 0
	for _, m := range s.ms {
		a := math.Atan2(m.vy, m.vx) + m.turn
		sp := math.Hypot(m.vx, m.vy)
		m.vx, m.vy = sp*math.Cos(a), sp*math.Sin(a)
		m.x += m.vx
		m.y += m.vy
		if f-m.born < 5 || m.visibleArea(s.W, s.H) > 0 {
			s.ms[k] = m
			k++
		}
	}
	s.ms = s.ms[:k]
}

func (m *mover) visibleArea(W, H float64) float64 {
	l, t := max(m.x-m.w/2, 0), max(m.y-m.h/2, 0)
	r, b := min(m.x+m.w/2, W), min(m.y+m.h/2, H)
	if r <= l || b <= t {
		return 0
	}
	return (r - l) * (b - t)
}

func clipBox(b Box, W, H float64) Box {
	l, t := max(b.X, 0), max(b.Y, 0)
	r, btm := min(b.X+b.W, W), min(b.Y+b.H, H)
	b.X, b.Y, b.W, b.H = l, t, max(r-l, 0), max(btm-t, 0)
	return b
}

func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// Run runs a tracker with cfg over the detections, as frames of one
// stream of the given size, and returns its output: the detections it
// gave an id and the targets it predicted (frames without detections are
// prediction-only when cfg.PredictOnEmpty). Every interval+1-th frame is
// detected, the others get no detections, as Infer's interval does.
func Run(cfg track.Config, det Sequence, width, height, interval int) (Sequence, error) {
	t, err := track.New(cfg)
	if err != nil {
		return nil, err
	}
	out := make(Sequence, len(det))
	for f, ds := range det {
		fm := &media.FrameMeta{FrameNumber: int64(f), Width: width, Height: height}
		if interval <= 0 || f%(interval+1) == 0 {
			for _, d := range ds {
				fm.Objects = append(fm.Objects, media.NewObject(0, "object", float32(d.Conf),
					media.Rect{Left: float32(d.X), Top: float32(d.Y), Width: float32(d.W), Height: float32(d.H)}))
			}
		}
		t.Update(fm)
		for _, o := range fm.Objects {
			if o.TrackID >= 0 {
				out[f] = append(out[f], Box{ID: int(o.TrackID), X: float64(o.Rect.Left), Y: float64(o.Rect.Top),
					W: float64(o.Rect.Width), H: float64(o.Rect.Height), Conf: float64(o.Confidence)})
			}
		}
	}
	return out, nil
}

// Result is one tracker's score on a benchmark.
type Result struct {
	Algorithm string
	// Interval is the detector's: it ran on every Interval+1-th frame.
	Interval int
	Metrics  Metrics
	// PerFrame is the tracker's mean time per frame.
	PerFrame time.Duration
}

// Intervals are the detector intervals Bench runs the trackers at.
var Intervals = []int{0, 2}

// Bench runs the three trackers, with their presets, on a benchmark
// sequence made with o, at each of Intervals.
func Bench(o SynthOptions, gt, det Sequence) []Result {
	var out []Result
	for _, iv := range Intervals {
		for _, alg := range track.Algorithms {
			cfg, _ := track.Preset(alg)
			start := time.Now()
			hyp, err := Run(cfg, det, o.Width, o.Height, iv)
			el := time.Since(start)
			if err != nil {
				continue
			}
			out = append(out, Result{Algorithm: alg, Interval: iv, Metrics: Evaluate(gt, hyp, 0.5), PerFrame: el / time.Duration(max(1, len(det)))})
		}
	}
	return out
}
