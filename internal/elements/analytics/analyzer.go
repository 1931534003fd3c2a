package analytics

import (
	"time"

	"github.com/vidflow/vidflow/media"
)

// HistoryLen is how many past observations of a tracked object make its
// motion vector (the displacement from the oldest to the newest).
const HistoryLen = 10

// maxTrackAge is how many frames of its stream a track's state outlives
// its last observation.
const maxTrackAge = 300

// Analyzer applies a configuration's rules to frames, keeping the state of
// each stream (tracks, cumulative counts, overcrowding timers). It is not
// safe for concurrent use; SetConfig may change the rules between frames,
// keeping the counts and states of labels that stay.
type Analyzer struct {
	cfg      *Config
	gen      int
	uniqueID int
	streams  map[int]*streamState
}

// New returns an analyzer of a configuration; uniqueID goes into the results.
func New(cfg *Config, uniqueID int) *Analyzer {
	return &Analyzer{cfg: cfg, gen: 1, uniqueID: uniqueID, streams: map[int]*streamState{}}
}

// Config is the configuration in use.
func (a *Analyzer) Config() *Config { return a.cfg }

// SetConfig replaces the rules. Cumulative line counts and overcrowding
// states carry over by label; where each object is relative to the lines
// is learnt anew from the next frame.
func (a *Analyzer) SetConfig(cfg *Config) {
	a.cfg = cfg
	a.gen++
}

// EndStream drops a stream's state.
func (a *Analyzer) EndStream(source int) { delete(a.streams, source) }

// Streams is the number of streams with state.
func (a *Analyzer) Streams() int { return len(a.streams) }

type scaledROI struct {
	rule *ROIRule
	poly polygon
}

type scaledOC struct {
	rule  *OvercrowdingRule
	poly  polygon
	state *ocState
}

type ocState struct {
	above bool
	since time.Duration
	on    bool
}

type scaledLine struct {
	rule *LineRule
	a, b Point // crossing line
	dir  Point // direction vector
	to   int8  // the side the direction vector points to
	cos  float64
}

type scaledDir struct {
	rule     *DirectionRule
	dir      Point // unit vector
	from, to Point // the vector as configured, scaled
	cos      float64
}

type track struct {
	hist     [HistoryLen]Point
	n, next  int
	lastSeen int64
	gen      int
	sides    []int8  // per line: last side the object was on (0 unknown)
	sidePts  []Point // per line: where it was then
}

func (t *track) push(p Point) {
	t.hist[t.next] = p
	t.next = (t.next + 1) % HistoryLen
	if t.n < HistoryLen {
		t.n++
	}
}

// motion is the displacement from the oldest remembered position to p.
func (t *track) motion(p Point) Point {
	if t.n == 0 {
		return Point{}
	}
	oldest := t.hist[(t.next-t.n+HistoryLen)%HistoryLen]
	return sub(p, oldest)
}

type countSample struct {
	pts    time.Duration
	counts map[int]int
}

type streamState struct {
	gen      int
	w, h     int
	rules    *StreamRules
	rois     []scaledROI
	ocs      []scaledOC
	lines    []scaledLine
	dirs     []scaledDir
	cum      map[string]int64
	oc       map[string]*ocState
	tracks   map[int64]*track
	frames   int64
	static   *media.DisplayMeta
	window   []countSample
	fontSize int
}

// stream returns the state of fm's stream with its rules scaled to fm's size.
func (a *Analyzer) stream(fm *media.FrameMeta) *streamState {
	st := a.streams[fm.SourceID]
	if st == nil {
		st = &streamState{cum: map[string]int64{}, oc: map[string]*ocState{}, tracks: map[int64]*track{}}
		a.streams[fm.SourceID] = st
	}
	if st.gen != a.gen || st.w != fm.Width || st.h != fm.Height {
		a.scale(st, fm.SourceID, fm.Width, fm.Height)
	}
	return st
}

func (a *Analyzer) scale(st *streamState, source, w, h int) {
	st.gen, st.w, st.h = a.gen, w, h
	st.rules = a.cfg.Streams[source]
	st.rois, st.ocs, st.lines, st.dirs = nil, nil, nil, nil
	sx, sy := 1.0, 1.0
	if a.cfg.Width > 0 && w > 0 && h > 0 {
		sx, sy = float64(w)/float64(a.cfg.Width), float64(h)/float64(a.cfg.Height)
	}
	sp := func(p Point) Point { return Point{p.X * sx, p.Y * sy} }
	sps := func(ps []Point) []Point {
		out := make([]Point, len(ps))
		for i, p := range ps {
			out[i] = sp(p)
		}
		return out
	}
	r := st.rules
	if r == nil {
		r = &StreamRules{}
	}
	for i := range r.ROIs {
		st.rois = append(st.rois, scaledROI{rule: &r.ROIs[i], poly: newPolygon(sps(r.ROIs[i].Polygon))})
	}
	labels := map[string]bool{}
	for i := range r.Overcrowding {
		rule := &r.Overcrowding[i]
		s := st.oc[rule.Label]
		if s == nil {
			s = &ocState{}
			st.oc[rule.Label] = s
		}
		labels[rule.Label] = true
		st.ocs = append(st.ocs, scaledOC{rule: rule, poly: newPolygon(sps(rule.Polygon)), state: s})
	}
	for l := range st.oc {
		if !labels[l] {
			delete(st.oc, l)
		}
	}
	for i := range r.Lines {
		rule := &r.Lines[i]
		l := scaledLine{rule: rule, a: sp(rule.Line[0]), b: sp(rule.Line[1]), cos: rule.Mode.minCos()}
		l.dir = sub(sp(rule.Dir[1]), sp(rule.Dir[0]))
		// The side the direction vector points to: that of a + dir.
		l.to = side(l.a, l.b, Point{l.a.X + l.dir.X, l.a.Y + l.dir.Y})
		st.lines = append(st.lines, l)
	}
	for i := range r.Directions {
		rule := &r.Directions[i]
		d := sub(sp(rule.Dir[1]), sp(rule.Dir[0]))
		n := norm(d)
		st.dirs = append(st.dirs, scaledDir{rule: rule, dir: Point{d.X / n, d.Y / n}, from: sp(rule.Dir[0]), to: sp(rule.Dir[1]), cos: rule.Mode.minCos()})
	}
	st.static = nil
	st.fontSize = a.cfg.FontSize
	if a.cfg.OSDMode > 0 {
		st.static = staticDisplay(st)
	}
}

// Process applies the rules to one frame: it fills the frame's and the
// objects' results (User["analytics"]) and, when osd-mode asks, adds the
// drawing to fm.Display.
func (a *Analyzer) Process(fm *media.FrameMeta) {
	if !a.cfg.Enable {
		return
	}
	st := a.stream(fm)
	st.frames++
	fr := &media.AnalyticsFrameMeta{UniqueID: a.uniqueID, ObjCount: map[int]int{}}
	if len(st.rois) > 0 {
		fr.ObjInROI = make(map[string]int, len(st.rois))
		for _, r := range st.rois {
			fr.ObjInROI[r.rule.Label] = 0
		}
	}
	if len(st.ocs) > 0 {
		fr.Overcrowding = make(map[string]bool, len(st.ocs))
		fr.OvercrowdingCount = make(map[string]int, len(st.ocs))
		for _, r := range st.ocs {
			fr.OvercrowdingCount[r.rule.Label] = 0
		}
	}
	if len(st.lines) > 0 {
		fr.LineCurrent = make(map[string]int, len(st.lines))
		fr.LineCumulative = make(map[string]int64, len(st.lines))
		for _, l := range st.lines {
			fr.LineCurrent[l.rule.Label] = 0
		}
	}
	hasRules := len(st.rois)+len(st.ocs)+len(st.lines)+len(st.dirs) > 0
	var results []media.AnalyticsObjInfo
	var arena []string // backs the objects' label lists: few allocations per frame
	if hasRules {
		results = make([]media.AnalyticsObjInfo, len(fm.Objects))
		arena = make([]string, 0, len(fm.Objects))
	}
	take := func(from int) []string {
		if len(arena) == from {
			return nil
		}
		return arena[from:len(arena):len(arena)]
	}
	for i, o := range fm.Objects {
		fr.ObjCount[o.ClassID]++
		if !hasRules {
			continue
		}
		or := &results[i]
		or.UniqueID = a.uniqueID
		p := Point{float64(o.Rect.Left + o.Rect.Width/2), float64(o.Rect.Top + o.Rect.Height)}
		from := len(arena)
		for _, r := range st.rois {
			if r.rule.Classes.Has(o.ClassID) && r.poly.contains(p) != r.rule.Inverse {
				arena = append(arena, r.rule.Label)
				fr.ObjInROI[r.rule.Label]++
			}
		}
		or.ROIs = take(from)
		from = len(arena)
		for _, r := range st.ocs {
			if r.rule.Classes.Has(o.ClassID) && r.poly.contains(p) {
				arena = append(arena, r.rule.Label)
				fr.OvercrowdingCount[r.rule.Label]++
			}
		}
		or.Overcrowding = take(from)
		if o.TrackID >= 0 && (len(st.lines) > 0 || len(st.dirs) > 0) {
			a.trackObject(st, fr, or, o, p)
		}
		if o.User == nil {
			o.User = map[string]any{media.AnalyticsKey: or}
		} else {
			o.User[media.AnalyticsKey] = or
		}
	}
	for _, r := range st.ocs {
		s := r.state
		n := fr.OvercrowdingCount[r.rule.Label]
		if n >= r.rule.Threshold {
			if !s.above {
				s.above, s.since = true, fm.PTS
			}
			if fm.PTS-s.since >= time.Duration(r.rule.TimeThresholdMs)*time.Millisecond {
				s.on = true
			}
		} else {
			s.above, s.on = false, false
		}
		fr.Overcrowding[r.rule.Label] = s.on
	}
	for _, l := range st.lines {
		fr.LineCumulative[l.rule.Label] = st.cum[l.rule.Label]
	}
	if a.cfg.ObjCountWindowMs > 0 {
		fr.ObjCount = st.windowCounts(fm.PTS, fr.ObjCount, time.Duration(a.cfg.ObjCountWindowMs)*time.Millisecond)
	}
	if st.frames%32 == 0 {
		for id, t := range st.tracks {
			if st.frames-t.lastSeen > maxTrackAge {
				delete(st.tracks, id)
			}
		}
	}
	if fm.User == nil {
		fm.User = map[string]any{}
	}
	fm.User[media.AnalyticsKey] = fr
	if st.static != nil {
		fm.AddDisplay(st.display(a.cfg, fr))
	}
}

func (a *Analyzer) trackObject(st *streamState, fr *media.AnalyticsFrameMeta, or *media.AnalyticsObjInfo, o *media.ObjectMeta, p Point) {
	t := st.tracks[o.TrackID]
	if t == nil {
		t = &track{}
		st.tracks[o.TrackID] = t
	}
	if t.gen != st.gen || len(t.sides) != len(st.lines) {
		t.gen = st.gen
		t.sides = make([]int8, len(st.lines))
		t.sidePts = make([]Point, len(st.lines))
	}
	t.lastSeen = st.frames
	m := t.motion(p)
	for i, l := range st.lines {
		if !l.rule.Classes.Has(o.ClassID) {
			continue
		}
		s := side(l.a, l.b, p)
		if s == 0 {
			continue
		}
		prev, from := t.sides[i], t.sidePts[i]
		t.sides[i], t.sidePts[i] = s, p
		if prev == 0 || prev == s || s != l.to {
			continue
		}
		if !l.rule.Extended && !crossesSegment(l.a, l.b, from, p) {
			continue
		}
		if l.rule.Mode != Loose {
			n := norm(m) * norm(l.dir)
			if n == 0 || dot(m, l.dir)/n < l.cos-1e-9 {
				continue
			}
		}
		or.Lines = append(or.Lines, l.rule.Label)
		fr.LineCurrent[l.rule.Label]++
		st.cum[l.rule.Label]++
	}
	if n := norm(m); n >= 1 {
		best, bestCos := "", -2.0
		for _, d := range st.dirs {
			if !d.rule.Classes.Has(o.ClassID) {
				continue
			}
			c := dot(m, d.dir) / n
			ok := c > 1e-9
			if d.rule.Mode != Loose {
				ok = c >= d.cos-1e-9
			}
			if ok && c > bestCos {
				best, bestCos = d.rule.Label, c
			}
		}
		or.Direction = best
	}
	t.push(p)
}

func (st *streamState) windowCounts(pts time.Duration, now map[int]int, win time.Duration) map[int]int {
	st.window = append(st.window, countSample{pts: pts, counts: now})
	k := 0
	for k < len(st.window) && pts-st.window[k].pts > win {
		k++
	}
	st.window = append(st.window[:0], st.window[k:]...)
	out := make(map[int]int, len(now))
	for _, s := range st.window {
		for c, n := range s.counts {
			out[c] = max(out[c], n)
		}
	}
	return out
}
