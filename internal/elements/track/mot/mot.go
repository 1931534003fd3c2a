// Package mot measures multi-object tracking quality: the CLEAR-MOT
// metrics (MOTA, MOTP, false positives, misses, id switches) and the
// identity metrics (IDF1, IDP, IDR) of a tracker's output against ground
// truth, both in MOTChallenge text format; and a deterministic synthetic
// benchmark — objects that move, cross and occlude each other, seen by a
// detector with position noise, misses and false positives — to run the
// trackers of package track on.
package mot

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow/internal/elements/track"
)

// Box is one object in one frame: its id (ground-truth identity or
// tracker id; -1 for detections), box in pixels and confidence.
type Box struct {
	ID         int
	X, Y, W, H float64
	Conf       float64
}

// IoU is the intersection over union of two boxes.
func (a Box) IoU(b Box) float64 {
	l, t := max(a.X, b.X), max(a.Y, b.Y)
	r, btm := min(a.X+a.W, b.X+b.W), min(a.Y+a.H, b.Y+b.H)
	if r <= l || btm <= t || a.W <= 0 || a.H <= 0 || b.W <= 0 || b.H <= 0 {
		return 0
	}
	in := (r - l) * (btm - t)
	return in / (a.W*a.H + b.W*b.H - in)
}

// Sequence is the boxes of each frame; Sequence[i] is frame i+1 of a
// MOTChallenge file.
type Sequence [][]Box

// Read reads a MOTChallenge text file: one box per line,
// "frame,id,left,top,width,height,conf,x,y,z" (frames from 1; the fields
// after height are optional; ground-truth files' conf 0 marks boxes to
// ignore, which Read drops when gt is true).
func Read(r io.Reader, gt bool) (Sequence, error) {
	var seq Sequence
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if len(f) < 6 {
			return nil, fmt.Errorf("line %d: want frame,id,left,top,width,height[,conf,...], got %d fields", line, len(f))
		}
		var v [7]float64
		v[6] = 1
		for i := 0; i < min(len(f), 7); i++ {
			x, err := strconv.ParseFloat(f[i], 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("line %d: field %d: %q is not a number", line, i+1, f[i])
			}
			v[i] = x
		}
		frame := int(v[0])
		if frame < 1 || float64(frame) != v[0] || frame > 10_000_000 {
			return nil, fmt.Errorf("line %d: frame %v is not a number from 1", line, v[0])
		}
		if gt && len(f) >= 7 && v[6] == 0 {
			continue
		}
		for len(seq) < frame {
			seq = append(seq, nil)
		}
		seq[frame-1] = append(seq[frame-1], Box{ID: int(v[1]), X: v[2], Y: v[3], W: v[4], H: v[5], Conf: v[6]})
	}
	return seq, sc.Err()
}

// Write writes a sequence in MOTChallenge format (x, y, z are -1).
func Write(w io.Writer, seq Sequence) error {
	bw := bufio.NewWriter(w)
	for i, frame := range seq {
		for _, b := range frame {
			fmt.Fprintf(bw, "%d,%d,%.2f,%.2f,%.2f,%.2f,%.4g,-1,-1,-1\n", i+1, b.ID, b.X, b.Y, b.W, b.H, b.Conf)
		}
	}
	return bw.Flush()
}

// Metrics are the CLEAR-MOT and identity metrics of a tracker's output.
type Metrics struct {
	GT, Hyp    int // boxes in the ground truth and in the tracker's output
	Matches    int // ground-truth boxes matched to an output box
	FP, FN     int // output boxes matching nothing; ground-truth boxes missed
	IDSwitches int
	// MOTA = 1 - (FN + FP + IDSwitches) / GT.
	MOTA float64
	// MOTP is the mean IoU of the matched pairs (higher is better).
	MOTP float64
	// Identity metrics: IDTP are the boxes of the best one-to-one
	// assignment of ground-truth to output trajectories over the whole
	// sequence; IDF1 = 2·IDTP / (GT + Hyp), IDP = IDTP / Hyp, IDR = IDTP / GT.
	IDTP           int
	IDF1, IDP, IDR float64
	// GTTracks counts the ground-truth trajectories; of them,
	// MostlyTracked are matched in at least 80% of their frames and
	// MostlyLost in at most 20%.
	GTTracks, MostlyTracked, MostlyLost int
}

// Evaluate compares a tracker's output with the ground truth; boxes match
// when their IoU is at least threshold (0.5 is the standard).
func Evaluate(gt, hyp Sequence, threshold float64) Metrics {
	e := &evaluation{threshold: threshold, last: map[int]int{}, gtFrames: map[int]int{}, gtMatched: map[int]int{},
		hypFrames: map[int]int{}, overlap: map[idPair]int{}}
	for f := 0; f < max(len(gt), len(hyp)); f++ {
		var gs, hs []Box
		if f < len(gt) {
			gs = gt[f]
		}
		if f < len(hyp) {
			hs = hyp[f]
		}
		e.frame(gs, hs)
	}
	e.clearMOT()
	e.identity()
	return e.m
}

// idPair is a ground-truth id and an output id.
type idPair struct{ g, h int }

// evaluation accumulates the metrics over the frames of a sequence.
type evaluation struct {
	m         Metrics
	threshold float64
	last      map[int]int    // ground-truth id -> output id it was last matched to
	gtFrames  map[int]int    // ground-truth id -> frames it is in
	gtMatched map[int]int    // ground-truth id -> frames it is matched in
	hypFrames map[int]int    // output id -> frames it is in
	overlap   map[idPair]int // frames where g and h match by IoU (identity metrics)
	iouSum    float64
}

// frame counts one frame's boxes and matches them.
func (e *evaluation) frame(gs, hs []Box) {
	e.m.GT += len(gs)
	e.m.Hyp += len(hs)
	for _, g := range gs {
		e.gtFrames[g.ID]++
	}
	for _, h := range hs {
		e.hypFrames[h.ID]++
	}
	// Identity overlaps count every pair that matches by IoU.
	for _, g := range gs {
		for _, h := range hs {
			if g.IoU(h) >= e.threshold {
				e.overlap[idPair{g.ID, h.ID}]++
			}
		}
	}
	// CLEAR-MOT: keep last frame's correspondences that still hold, then
	// match the rest optimally.
	fm := &frameMatch{gs: gs, hs: hs, gUsed: make([]bool, len(gs)), hUsed: make([]bool, len(hs))}
	e.keepCorrespondences(fm)
	e.matchRest(fm)
}

// frameMatch is a frame's boxes and which of them are matched so far.
type frameMatch struct {
	gs, hs       []Box
	gUsed, hUsed []bool
}

// match records that ground-truth box gs[i] matches output box hs[j], an
// identity switch when the ground truth was last matched to another id.
func (e *evaluation) match(fm *frameMatch, i, j int, iou float64) {
	fm.gUsed[i], fm.hUsed[j] = true, true
	g, h := fm.gs[i].ID, fm.hs[j].ID
	e.m.Matches++
	e.iouSum += iou
	e.gtMatched[g]++
	if prev, ok := e.last[g]; ok && prev != h {
		e.m.IDSwitches++
	}
	e.last[g] = h
}

// keepCorrespondences matches each ground-truth box to the output id it
// was last matched to, where their boxes still overlap enough: CLEAR-MOT
// does not count a switch for a better-fitting box of another id.
func (e *evaluation) keepCorrespondences(fm *frameMatch) {
	for i, g := range fm.gs {
		prev, ok := e.last[g.ID]
		if !ok {
			continue
		}
		for j, h := range fm.hs {
			if !fm.hUsed[j] && h.ID == prev {
				if iou := g.IoU(h); iou >= e.threshold {
					e.match(fm, i, j, iou)
				}
				break
			}
		}
	}
}

// matchRest matches the boxes keepCorrespondences left by the assignment
// of least total 1-IoU among the pairs over the threshold.
func (e *evaluation) matchRest(fm *frameMatch) {
	gs, hs := fm.gs, fm.hs
	var gi, hj []int
	for i := range gs {
		if !fm.gUsed[i] {
			gi = append(gi, i)
		}
	}
	for j := range hs {
		if !fm.hUsed[j] {
			hj = append(hj, j)
		}
	}
	if len(gi) == 0 || len(hj) == 0 {
		return
	}
	const forbidden = 1e6
	cost := make([]float64, len(gi)*len(hj))
	for a, i := range gi {
		for b, j := range hj {
			cost[a*len(hj)+b] = forbidden
			if iou := gs[i].IoU(hs[j]); iou >= e.threshold {
				cost[a*len(hj)+b] = 1 - iou
			}
		}
	}
	for a, b := range track.Hungarian(cost, len(gi), len(hj)) {
		if b >= 0 && cost[a*len(hj)+b] < forbidden {
			e.match(fm, gi[a], hj[b], 1-cost[a*len(hj)+b])
		}
	}
}

// clearMOT derives the CLEAR-MOT metrics and the track coverage counts
// from the matches of all frames.
func (e *evaluation) clearMOT() {
	m := &e.m
	m.FN = m.GT - m.Matches
	m.FP = m.Hyp - m.Matches
	if m.GT > 0 {
		m.MOTA = 1 - float64(m.FN+m.FP+m.IDSwitches)/float64(m.GT)
	}
	if m.Matches > 0 {
		m.MOTP = e.iouSum / float64(m.Matches)
	}
	for id, frames := range e.gtFrames {
		m.GTTracks++
		r := float64(e.gtMatched[id]) / float64(frames)
		if r >= 0.8 {
			m.MostlyTracked++
		} else if r <= 0.2 {
			m.MostlyLost++
		}
	}
}

// identity computes the identity metrics: the assignment of ground-truth
// to output trajectories that maximises the boxes they share.
func (e *evaluation) identity() {
	m := &e.m
	gids, hids := sortedKeys(e.gtFrames), sortedKeys(e.hypFrames)
	if len(gids) > 0 && len(hids) > 0 && len(e.overlap) > 0 {
		gIndex, hIndex := index(gids), index(hids)
		cost := make([]float64, len(gids)*len(hids))
		for k, c := range e.overlap {
			cost[gIndex[k.g]*len(hids)+hIndex[k.h]] = -float64(c)
		}
		for a, b := range track.Hungarian(cost, len(gids), len(hids)) {
			if b >= 0 {
				m.IDTP += int(-cost[a*len(hids)+b])
			}
		}
	}
	if m.GT+m.Hyp > 0 {
		m.IDF1 = 2 * float64(m.IDTP) / float64(m.GT+m.Hyp)
	}
	if m.Hyp > 0 {
		m.IDP = float64(m.IDTP) / float64(m.Hyp)
	}
	if m.GT > 0 {
		m.IDR = float64(m.IDTP) / float64(m.GT)
	}
}

func sortedKeys(m map[int]int) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

func index(ids []int) map[int]int {
	m := make(map[int]int, len(ids))
	for i, id := range ids {
		m[id] = i
	}
	return m
}

// String formats the metrics on one line.
func (m Metrics) String() string {
	return fmt.Sprintf("MOTA %.1f%% IDF1 %.1f%% MOTP %.3f IDsw %d FP %d FN %d (GT %d, IDP %.1f%%, IDR %.1f%%, MT %d ML %d of %d)",
		100*m.MOTA, 100*m.IDF1, m.MOTP, m.IDSwitches, m.FP, m.FN, m.GT, 100*m.IDP, 100*m.IDR, m.MostlyTracked, m.MostlyLost, m.GTTracks)
}
