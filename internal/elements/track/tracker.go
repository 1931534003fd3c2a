package track

import (
	"cmp"
	"math"
	"slices"

	"github.com/vidflow/vidflow/media"
)

// Tracker follows the objects of each stream across its frames and gives
// them persistent ids. Streams (FrameMeta.SourceID) are independent: each
// has its own targets and id counter. A Tracker is not safe for concurrent
// use.
//
// A target's life follows DeepStream's: it starts tentative from an
// unmatched detection, is confirmed (and gets the next id of its stream)
// after ProbationAge further matches, or ends after EarlyTerminationAge
// misses before that; a confirmed target that misses its detection goes to
// shadow tracking (predicted, not reported unless OutputShadowTracks) and
// ends after MaxShadowTrackingAge frames without a match.
type Tracker struct {
	cfg     Config
	noise   noise
	motion  bool
	streams map[int]*stream
	nextID  map[int]int64
	h       hungarian

	// scratch
	scores  []float64
	pairs   []pair
	parent  []int
	members []int
	cost    []float64
}

type state int

const (
	tentative state = iota
	active
	shadow
)

type target struct {
	id        int64 // UntrackedID until confirmed
	state     state
	kf        kalman
	last      media.Rect // the last matched box
	pred      media.Rect // the box predicted for this frame
	class     int
	label     string
	component int
	hits      int     // matches
	misses    int     // misses on probation
	since     int     // frames since the last match
	conf      float32 // tracker confidence
	ended     bool
}

type stream struct {
	targets []*target
	dets    []det
}

type det struct {
	o     *media.ObjectMeta
	score float64
	low   bool // tentative (second stage only)
	used  bool
}

type pair struct {
	t, d  int
	score float64
}

// New returns a tracker; the configuration is validated.
func New(cfg Config) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Tracker{cfg: cfg, streams: map[int]*stream{}, nextID: map[int]int64{}, motion: cfg.StateEstimatorType != 0}
	t.noise = noise{loc: cfg.NoiseWeightVar4Loc, vel: cfg.NoiseWeightVar4Vel, regular: cfg.StateEstimatorType == 2,
		procLoc: cfg.ProcessNoiseVar4Loc, procSize: cfg.ProcessNoiseVar4Size, procVel: cfg.ProcessNoiseVar4Vel,
		meas: cfg.MeasurementNoiseVar4Detector}
	return t, nil
}

// Config returns the tracker's configuration.
func (t *Tracker) Config() Config { return t.cfg }

// Streams is the number of streams with tracking state.
func (t *Tracker) Streams() int { return len(t.streams) }

// EndStream drops a stream's targets; with resetIDs its ids start again
// from 0, else they go on where they were.
func (t *Tracker) EndStream(source int, resetIDs bool) {
	delete(t.streams, source)
	if resetIDs {
		delete(t.nextID, source)
	}
}

// Update tracks the objects of one frame: detections matched to confirmed
// targets get their TrackID and TrackerConfidence, all others get
// UntrackedID. Objects with a Parent (found by secondary detectors inside
// other objects) are left alone. A detector confidence below 0 (unknown,
// as DeepStream's clustering gives) counts as 1. On a prediction-only
// frame (no objects, PredictOnEmpty) confirmed targets are added as
// objects with Confidence -0.1 at their predicted boxes.
func (t *Tracker) Update(fm *media.FrameMeta) {
	s := t.streams[fm.SourceID]
	if s == nil {
		s = &stream{}
		t.streams[fm.SourceID] = s
	}
	t.predict(s)
	if t.cfg.PredictOnEmpty && len(fm.Objects) == 0 {
		t.predictOnly(fm, s)
		s.compact()
		return
	}
	t.detections(fm, s)
	t.associate(s)
	t.ageUnmatched(s)
	t.spawn(fm, s)
	if t.cfg.OutputShadowTracks {
		for _, tg := range s.targets {
			if tg.state == shadow && !tg.ended {
				t.output(fm, tg)
			}
		}
	}
	t.assignIDs(fm.SourceID, s)
	s.compact()
}

// predict moves every target of the stream to its box for this frame and
// counts the frame as one more without a match (reset by match).
func (t *Tracker) predict(s *stream) {
	for _, tg := range s.targets {
		if t.motion {
			tg.kf.predict(&t.noise)
			tg.pred = tg.kf.box()
		} else {
			tg.pred = tg.last
		}
		tg.since++
	}
}

// predictOnly handles a frame without objects under PredictOnEmpty: there
// is nothing to match, so targets only age, and the confirmed ones are
// reported at their predicted boxes.
func (t *Tracker) predictOnly(fm *media.FrameMeta, s *stream) {
	for _, tg := range s.targets {
		if tg.since > t.cfg.MaxShadowTrackingAge {
			tg.ended = true
			continue
		}
		if tg.state == active {
			tg.conf *= 0.9
			t.output(fm, tg)
		}
	}
}

// detections collects the frame's top-level objects confident enough to
// match into s.dets, marking each untracked until a target claims it.
func (t *Tracker) detections(fm *media.FrameMeta, s *stream) {
	s.dets = s.dets[:0]
	for _, o := range fm.Objects {
		if o == nil || o.Parent != nil {
			continue
		}
		o.TrackID, o.TrackerConfidence = media.UntrackedID, 0
		score := float64(o.Confidence)
		if score < 0 {
			score = 1
		}
		if score < t.cfg.MinDetectorConfidence {
			continue
		}
		s.dets = append(s.dets, det{o: o, score: score, low: t.cfg.Cascaded && score < t.cfg.TentativeDetectorConfidence})
	}
}

// associate matches targets to detections. Cascaded, it does so in
// stages: established targets take the high-score detections first, then
// the active targets left may take low-score ones, and the tentative
// targets left get the remaining high-score ones.
func (t *Tracker) associate(s *stream) {
	if t.cfg.Cascaded {
		t.match(s, func(tg *target) bool { return tg.state != tentative }, func(d *det) bool { return !d.low }, false)
		t.match(s, func(tg *target) bool { return tg.state == active && tg.since > 0 }, func(d *det) bool { return d.low }, true)
		t.match(s, func(tg *target) bool { return tg.state == tentative && tg.since > 0 }, func(d *det) bool { return !d.low }, false)
	} else {
		t.match(s, func(*target) bool { return true }, func(*det) bool { return true }, false)
	}
}

// ageUnmatched applies a miss to the targets without a match this frame:
// tentative ones end after EarlyTerminationAge misses, others go to shadow
// tracking and end after MaxShadowTrackingAge frames.
func (t *Tracker) ageUnmatched(s *stream) {
	for _, tg := range s.targets {
		if tg.since == 0 {
			continue
		}
		tg.conf *= 0.9
		switch tg.state {
		case tentative:
			if tg.misses++; tg.misses >= max(1, t.cfg.EarlyTerminationAge) {
				tg.ended = true
			}
		default:
			tg.state = shadow
			if tg.since > t.cfg.MaxShadowTrackingAge {
				tg.ended = true
			}
		}
	}
}

// spawn starts new targets from the high-score detections left unmatched,
// skipping invalid boxes and those overlapping a live target's prediction
// by more than MinIouDiff4NewTarget (likely the same object).
func (t *Tracker) spawn(fm *media.FrameMeta, s *stream) {
	for i := range s.dets {
		d := &s.dets[i]
		if d.used || d.low {
			continue
		}
		if len(s.targets) >= t.cfg.MaxTargetsPerStream {
			break
		}
		r := d.o.Rect
		if !(r.Width > 0 && r.Height > 0) || !finiteRect(r) || t.overlapsTarget(s, r) {
			continue
		}
		tg := &target{id: media.UntrackedID, last: r, pred: r, class: d.o.ClassID, label: d.o.Label,
			component: d.o.ComponentID, hits: 1, conf: 1}
		if t.motion {
			tg.kf = newKalman(r, &t.noise)
		}
		s.targets = append(s.targets, tg)
		if t.cfg.ProbationAge == 0 {
			t.confirm(fm.SourceID, tg)
			d.o.TrackID, d.o.TrackerConfidence = tg.id, tg.conf
		}
	}
}

// overlapsTarget reports whether r overlaps the predicted box of a live
// target by more than MinIouDiff4NewTarget.
func (t *Tracker) overlapsTarget(s *stream, r media.Rect) bool {
	for _, tg := range s.targets {
		if !tg.ended && float64(tg.pred.IoU(r)) > t.cfg.MinIouDiff4NewTarget {
			return true
		}
	}
	return false
}

// assignIDs confirms the matched targets that passed probation this frame,
// then gives each matched detection its target's id: until here match has
// left the target's index in TrackID.
func (t *Tracker) assignIDs(source int, s *stream) {
	for _, tg := range s.targets {
		if tg.since == 0 && tg.state == tentative && tg.hits > t.cfg.ProbationAge {
			t.confirm(source, tg)
		}
	}
	for i := range s.dets {
		d := &s.dets[i]
		if d.used {
			tg := s.targets[d.o.TrackID] // set by match: the target's index
			d.o.TrackID = tg.id
			if tg.id < 0 {
				d.o.TrackerConfidence = 0
			}
		}
	}
}

func (t *Tracker) confirm(source int, tg *target) {
	n := t.nextID[source]
	t.nextID[source] = n + 1
	tg.id = n
	if t.cfg.UseUniqueID {
		tg.id = int64(source)<<32 | n&0xffffffff
	}
	tg.state = active
}

// output adds a target as a predicted object.
func (t *Tracker) output(fm *media.FrameMeta, tg *target) {
	r := tg.pred
	if !t.cfg.EnableBboxUnClipping && fm.Width > 0 && fm.Height > 0 {
		l, tp := max(r.Left, 0), max(r.Top, 0)
		rr, b := min(r.Right(), float32(fm.Width)), min(r.Bottom(), float32(fm.Height))
		if rr <= l || b <= tp {
			return
		}
		r = media.Rect{Left: l, Top: tp, Width: rr - l, Height: b - tp}
	}
	o := media.NewObject(tg.class, tg.label, -0.1, r)
	o.TrackID, o.TrackerConfidence, o.ComponentID = tg.id, tg.conf, tg.component
	fm.Objects = append(fm.Objects, o)
}

func (s *stream) compact() {
	n := 0
	for _, tg := range s.targets {
		if !tg.ended {
			s.targets[n] = tg
			n++
		}
	}
	clear(s.targets[n:])
	s.targets = s.targets[:n]
}

func finiteRect(r media.Rect) bool {
	for _, v := range [4]float32{r.Left, r.Top, r.Width, r.Height} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// score is the matching score of a target's box a and a detection's box b,
// ok false when the pair may not match.
func (t *Tracker) score(a, b media.Rect, low bool) (float64, bool) {
	iou := float64(a.IoU(b))
	if !(iou > 0) {
		return 0, false
	}
	if low {
		return iou, iou >= t.cfg.MinMatchingScore4TentativeIou
	}
	if iou < t.cfg.MinMatchingScore4Iou {
		return 0, false
	}
	size := 0.0
	if aa, ab := float64(a.Area()), float64(b.Area()); aa > 0 && ab > 0 {
		size = min(aa, ab) / max(aa, ab)
	}
	if size < t.cfg.MinMatchingScore4SizeSimilarity {
		return 0, false
	}
	sc := t.cfg.MatchingScoreWeight4Iou*iou + t.cfg.MatchingScoreWeight4SizeSimilarity*size
	return sc, sc >= t.cfg.MinMatchingScore4Overall
}

// match associates the unmatched targets and detections that the filters
// select, greedily or optimally. A matched target is updated; its
// detection's TrackID temporarily holds the target's index.
func (t *Tracker) match(s *stream, tf func(*target) bool, df func(*det) bool, low bool) {
	var ti, di []int
	for i, tg := range s.targets {
		if !tg.ended && tg.since > 0 && tf(tg) {
			ti = append(ti, i)
		}
	}
	for i := range s.dets {
		if d := &s.dets[i]; !d.used && df(d) {
			di = append(di, i)
		}
	}
	if len(ti) == 0 || len(di) == 0 {
		return
	}
	nt, nd := len(ti), len(di)
	t.scores = grow(t.scores, nt*nd)
	t.pairs = t.pairs[:0]
	for a, i := range ti {
		tg := s.targets[i]
		box := tg.pred
		if t.motion && !t.cfg.UsePrediction4Assoc {
			box = tg.last
		}
		for b, j := range di {
			d := &s.dets[j]
			sc, ok := t.score(box, d.o.Rect, low)
			if ok && t.cfg.CheckClassMatch && tg.class != d.o.ClassID {
				ok = false
			}
			if !ok {
				sc = -1
			}
			t.scores[a*nd+b] = sc
			if ok {
				t.pairs = append(t.pairs, pair{a, b, sc})
			}
		}
	}
	if len(t.pairs) == 0 {
		return
	}
	if t.cfg.Optimal {
		t.optimal(nt, nd)
	} else {
		t.greedy(nt, nd)
	}
	for _, p := range t.pairs {
		tg, d := s.targets[ti[p.t]], &s.dets[di[p.d]]
		d.used = true
		d.o.TrackID = int64(ti[p.t])
		d.o.TrackerConfidence = float32(min(p.score, 1))
		r := d.o.Rect
		if t.motion {
			tg.kf.update(r, &t.noise)
		}
		tg.last = r
		tg.label, tg.component = d.o.Label, d.o.ComponentID
		tg.hits++
		tg.since = 0
		tg.conf = float32(min(p.score, 1))
		if tg.state == shadow {
			tg.state = active
		}
	}
}

// greedy keeps, best score first, the pairs whose target and detection are
// both still free (DeepStream's IOU tracker).
func (t *Tracker) greedy(nt, nd int) {
	slices.SortFunc(t.pairs, func(a, b pair) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.d, b.d)
	})
	usedT, usedD := make([]bool, nt), make([]bool, nd)
	n := 0
	for _, p := range t.pairs {
		if usedT[p.t] || usedD[p.d] {
			continue
		}
		usedT[p.t], usedD[p.d] = true, true
		t.pairs[n] = p
		n++
	}
	t.pairs = t.pairs[:n]
}

// optimal keeps the pairs that maximise the total score, each target and
// detection in at most one pair: the Hungarian algorithm on each connected
// group of possible pairs, with a "no match" column of cost 0 per target.
func (t *Tracker) optimal(nt, nd int) {
	// Union-find over targets (0..nt-1) and detections (nt..nt+nd-1).
	t.parent = grow(t.parent, nt+nd)
	for i := range t.parent {
		t.parent[i] = i
	}
	find := func(x int) int {
		for t.parent[x] != x {
			t.parent[x] = t.parent[t.parent[x]]
			x = t.parent[x]
		}
		return x
	}
	for _, p := range t.pairs {
		a, b := find(p.t), find(nt+p.d)
		if a != b {
			t.parent[a] = b
		}
	}
	var out []pair
	done := make([]bool, nt+nd)
	for root := 0; root < nt+nd; root++ {
		r := find(root)
		if done[r] {
			continue
		}
		done[r] = true
		// The component's targets and detections.
		var ts, ds []int
		for i := 0; i < nt+nd; i++ {
			if find(i) == r {
				if i < nt {
					ts = append(ts, i)
				} else {
					ds = append(ds, i-nt)
				}
			}
		}
		if len(ts) == 0 || len(ds) == 0 {
			continue
		}
		if len(ts) == 1 && len(ds) == 1 {
			out = append(out, pair{ts[0], ds[0], t.scores[ts[0]*nd+ds[0]]})
			continue
		}
		// Rows: targets; columns: detections, then one "unmatched" column per target.
		rows, cols := len(ts), len(ds)+len(ts)
		const forbidden = 1e9
		t.cost = grow(t.cost, rows*cols)
		for a, i := range ts {
			row := t.cost[a*cols : (a+1)*cols]
			for b, j := range ds {
				if sc := t.scores[i*nd+j]; sc >= 0 {
					row[b] = -sc
				} else {
					row[b] = forbidden
				}
			}
			for b := len(ds); b < cols; b++ {
				row[b] = forbidden
			}
			row[len(ds)+a] = 0
		}
		for a, b := range t.h.solve(t.cost, rows, cols) {
			if b >= 0 && b < len(ds) && t.cost[a*cols+b] < 0 {
				out = append(out, pair{ts[a], ds[b], -t.cost[a*cols+b]})
			}
		}
	}
	t.pairs = append(t.pairs[:0], out...)
}
