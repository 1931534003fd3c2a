package calib

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
)

// Detector runs a CenterNet model (outputs heat and wh) and decodes its
// detections as configs/config_infer_primary.yml does: threshold 0.25,
// class-wise NMS at IoU 0.5, at most 100, in network-input pixels.
type Detector struct {
	s    *Session
	heat []float32
	wh   []float32
	cfg  parsers.CenterNetConfig
}

// NewDetector opens the model for detection.
func NewDetector(model []byte, threads int) (*Detector, error) {
	s, err := Open(model, []string{"heat", "wh"}, threads)
	if err != nil {
		return nil, err
	}
	return &Detector{s: s, cfg: parsers.CenterNetConfig{Classes: 80, Height: Size / 4, Width: Size / 4,
		Threshold: 0.25, IoU: 0.5, TopK: 100, ClipW: Size, ClipH: Size}}, nil
}

// Detect returns the frame's detections.
func (d *Detector) Detect(f Frame) ([]bbox.Detection, error) {
	err := d.s.Run(f, func(i int, _ string, data []float32) {
		if i == 0 {
			d.heat = append(d.heat[:0], data...)
		} else {
			d.wh = append(d.wh[:0], data...)
		}
	})
	if err != nil {
		return nil, err
	}
	return parsers.DecodeCenterNet(nil, d.heat, d.wh, d.cfg)
}

// SetThreshold sets the detection threshold (default 0.25, the config's):
// a lower one lets Agreement.AddMargin tell near misses apart.
func (d *Detector) SetThreshold(t float32) { d.cfg.Threshold = t }

// Close frees the detector's session.
func (d *Detector) Close() { d.s.Close() }

// Counts are the matches of one class (or all).
type Counts struct {
	Ref, Got, Matched int // float detections, INT8 detections, pairs at IoU >= 0.5 of the same class
	// Drift: sum and max of |INT8 score - float score| over the pairs, and
	// the signed sum.
	DriftSum, DriftMax, DriftSigned float64
	// With AddMargin: float detections missed only because the INT8 score
	// of the same object is under the threshold by less than the margin,
	// and INT8 detections unmatched only because the float one is.
	MissNear, ExtraNear int
}

// Precision of the INT8 detections against the float ones (1 when none).
func (c Counts) Precision() float64 { return ratio(c.Matched, c.Got) }

// Recall of the float detections by the INT8 ones (1 when none).
func (c Counts) Recall() float64 { return ratio(c.Matched, c.Ref) }

// MeanDrift is the mean |score difference| of the pairs.
func (c Counts) MeanDrift() float64 {
	if c.Matched == 0 {
		return 0
	}
	return c.DriftSum / float64(c.Matched)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Agreement accumulates Counts per class id, and for all classes (-1).
type Agreement struct {
	Frames  int
	ByClass map[int]*Counts
}

// NewAgreement returns an empty Agreement.
func NewAgreement() *Agreement { return &Agreement{ByClass: map[int]*Counts{}} }

func (a *Agreement) counts(class int) *Counts {
	c := a.ByClass[class]
	if c == nil {
		c = &Counts{}
		a.ByClass[class] = c
	}
	return c
}

// Class returns the counts of a class id (-1: all classes).
func (a *Agreement) Class(id int) Counts {
	if c := a.ByClass[id]; c != nil {
		return *c
	}
	return Counts{}
}

// Add matches one frame's INT8 detections (got) with its float ones
// (ref): by descending INT8 score, each takes the unmatched float
// detection of its class with the highest IoU, if that is >= 0.5.
func (a *Agreement) Add(ref, got []bbox.Detection) {
	a.add(ref, got)
}

// AddMargin is Add on the detections at or above thr of ref and got,
// which were decoded at a lower threshold (thr - margin): the matching and
// the counts are Add's, at thr; a float detection left unmatched that an
// INT8 one under thr matches counts as MissNear, and the other way round
// as ExtraNear (the object is there in both, its score moved across thr).
func (a *Agreement) AddMargin(ref, got []bbox.Detection, thr float32) {
	above := func(d []bbox.Detection) (hi, lo []bbox.Detection) {
		for _, x := range d {
			if x.Score >= thr {
				hi = append(hi, x)
			} else {
				lo = append(lo, x)
			}
		}
		return hi, lo
	}
	rh, rl := above(ref)
	gh, gl := above(got)
	usedRef, usedGot := a.add(rh, gh)
	near := func(d bbox.Detection, others []bbox.Detection) bool {
		for _, o := range others {
			if o.ClassID == d.ClassID && iou(o, d) >= 0.5 {
				return true
			}
		}
		return false
	}
	for i, r := range rh {
		if !usedRef[i] && near(r, gl) {
			a.counts(r.ClassID).MissNear++
			a.counts(-1).MissNear++
		}
	}
	for i, g := range gh {
		if !usedGot[i] && near(g, rl) {
			a.counts(g.ClassID).ExtraNear++
			a.counts(-1).ExtraNear++
		}
	}
}

// add matches and counts one frame; it returns which ref and got
// detections were matched.
func (a *Agreement) add(ref, got []bbox.Detection) (usedRef, usedGot []bool) {
	a.Frames++
	used := make([]bool, len(ref))
	usedGot = make([]bool, len(got))
	order := make([]int, len(got))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		switch {
		case got[i].Score > got[j].Score:
			return -1
		case got[i].Score < got[j].Score:
			return 1
		}
		return 0
	})
	for _, r := range ref {
		a.counts(r.ClassID).Ref++
		a.counts(-1).Ref++
	}
	for _, gi := range order {
		g := got[gi]
		a.counts(g.ClassID).Got++
		a.counts(-1).Got++
		best, bi := float32(0.5), -1
		for ri, r := range ref {
			if used[ri] || r.ClassID != g.ClassID {
				continue
			}
			if iou := iou(r, g); iou >= best {
				best, bi = iou, ri
			}
		}
		if bi < 0 {
			continue
		}
		used[bi], usedGot[gi] = true, true
		d := float64(g.Score - ref[bi].Score)
		for _, c := range []*Counts{a.counts(g.ClassID), a.counts(-1)} {
			c.Matched++
			c.DriftSum += math.Abs(d)
			c.DriftSigned += d
			c.DriftMax = max(c.DriftMax, math.Abs(d))
		}
	}
	return used, usedGot
}

// Line formats one class's counts.
func (c Counts) Line(label string) string {
	signed := 0.0
	if c.Matched > 0 {
		signed = c.DriftSigned / float64(c.Matched)
	}
	line := fmt.Sprintf("%-8s float %5d  int8 %5d  matched %5d  precision %.4f  recall %.4f  score drift mean %.4f (signed %+.4f) max %.3f",
		label, c.Ref, c.Got, c.Matched, c.Precision(), c.Recall(), c.MeanDrift(), signed, c.DriftMax)
	if c.MissNear+c.ExtraNear > 0 {
		line += fmt.Sprintf("  across the threshold: %d of %d misses, %d of %d extras", c.MissNear, c.Ref-c.Matched, c.ExtraNear, c.Got-c.Matched)
	}
	return line
}

// Report formats the agreement for all classes and the classes listed
// (COCO ids: 0 person, 2 car).
func (a *Agreement) Report(classes map[int]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d frames\n", a.Frames)
	ids := make([]int, 0, len(classes))
	for id := range classes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintln(&b, a.Class(id).Line(classes[id]))
	}
	fmt.Fprintln(&b, a.Class(-1).Line("all"))
	return b.String()
}

func iou(a, b bbox.Detection) float32 {
	iw := min(a.X2, b.X2) - max(a.X1, b.X1)
	ih := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	return inter / (a.Area() + b.Area() - inter)
}
