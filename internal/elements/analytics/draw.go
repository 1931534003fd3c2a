package analytics

import (
	"fmt"
	"math"
	"sort"

	"github.com/vidflow/vidflow/media"
)

// OSD colours of the rule kinds.
var (
	colorROI      = media.Color{R: 0, G: 1, B: 0, A: 1}
	colorOC       = media.Color{R: 1, G: 1, B: 0, A: 1}
	colorOCOn     = media.Color{R: 1, G: 0, B: 0, A: 1}
	colorLine     = media.Color{R: 0, G: 0.6, B: 1, A: 1}
	colorDir      = media.Color{R: 1, G: 0, B: 1, A: 1}
	colorTextBg   = media.Color{R: 0, G: 0, B: 0, A: 0.5}
	lineWidth     = 2
	arrowWidthDir = 3
)

func ipt(p Point) (int, int) { return int(math.Round(p.X)), int(math.Round(p.Y)) }

func polygonLines(d *media.DisplayMeta, pts []Point, c media.Color) {
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		x1, y1 := ipt(a)
		x2, y2 := ipt(b)
		d.AddLine(media.DisplayLine{X1: x1, Y1: y1, X2: x2, Y2: y2, Width: lineWidth, Color: c})
	}
}

func (st *streamState) label(d *media.DisplayMeta, text string, p Point) {
	x, y := ipt(p)
	d.AddText(media.DisplayText{Text: text, X: x, Y: max(0, y-st.fontSize-6),
		Font: media.Font{Name: "Sans", Size: st.fontSize, Color: media.White}, HasBg: true, BgColor: colorTextBg})
}

// staticDisplay draws the rules of a stream (osd-mode 1): ROI polygons as
// lines, crossing lines with their direction as an arrow, direction
// vectors as arrows, each with its label. Overcrowding ROIs are drawn per
// frame (their colour says whether they are overcrowded).
func staticDisplay(st *streamState) *media.DisplayMeta {
	d := &media.DisplayMeta{}
	for _, r := range st.rois {
		polygonLines(d, r.poly.pts, colorROI)
		st.label(d, r.rule.Label, r.poly.pts[0])
	}
	for _, l := range st.lines {
		x1, y1 := ipt(l.a)
		x2, y2 := ipt(l.b)
		d.AddLine(media.DisplayLine{X1: x1, Y1: y1, X2: x2, Y2: y2, Width: lineWidth + 1, Color: colorLine})
		// The direction arrow starts at the line's middle.
		mid := Point{(l.a.X + l.b.X) / 2, (l.a.Y + l.b.Y) / 2}
		n := norm(l.dir)
		size := math.Max(20, 0.25*norm(sub(l.b, l.a)))
		end := Point{mid.X + l.dir.X/n*size, mid.Y + l.dir.Y/n*size}
		ax, ay := ipt(mid)
		bx, by := ipt(end)
		d.AddArrow(media.DisplayArrow{X1: ax, Y1: ay, X2: bx, Y2: by, Width: lineWidth, Color: colorLine, Head: media.ArrowEnd})
		st.label(d, l.rule.Label, l.a)
	}
	for _, dr := range st.dirs {
		// Arrows are drawn where the rule put them, scaled like the rest.
		a, end := dr.from, dr.to
		x1, y1 := ipt(a)
		x2, y2 := ipt(end)
		d.AddArrow(media.DisplayArrow{X1: x1, Y1: y1, X2: x2, Y2: y2, Width: arrowWidthDir, Color: colorDir, Head: media.ArrowEnd})
		st.label(d, dr.rule.Label, a)
	}
	d.Lines = d.Lines[:len(d.Lines):len(d.Lines)]
	d.Arrows = d.Arrows[:len(d.Arrows):len(d.Arrows)]
	d.Texts = d.Texts[:len(d.Texts):len(d.Texts)]
	return d
}

// display is one frame's drawing: the static part, the overcrowding ROIs
// in their state's colour and, with osd-mode 2, the counts.
func (st *streamState) display(cfg *Config, fr *media.AnalyticsFrameMeta) *media.DisplayMeta {
	s := st.static
	d := &media.DisplayMeta{Lines: s.Lines, Arrows: s.Arrows, Texts: s.Texts}
	for _, r := range st.ocs {
		c := colorOC
		if r.state.on {
			c = colorOCOn
		}
		polygonLines(d, r.poly.pts, c)
		st.label(d, r.rule.Label, r.poly.pts[0])
	}
	if cfg.OSDMode < 2 {
		return d
	}
	y := 10
	text := func(t string) {
		d.AddText(media.DisplayText{Text: t, X: 10, Y: y, Font: media.Font{Name: "Sans", Size: st.fontSize, Color: media.White}, HasBg: true, BgColor: colorTextBg})
		y += st.fontSize + 8
	}
	for _, r := range st.rois {
		text(fmt.Sprintf("ROI %s: %d", r.rule.Label, fr.ObjInROI[r.rule.Label]))
	}
	for _, r := range st.ocs {
		state := ""
		if fr.Overcrowding[r.rule.Label] {
			state = " OVERCROWDED"
		}
		text(fmt.Sprintf("OC %s: %d/%d%s", r.rule.Label, fr.OvercrowdingCount[r.rule.Label], r.rule.Threshold, state))
	}
	for _, l := range st.lines {
		text(fmt.Sprintf("LC %s: %d (+%d)", l.rule.Label, fr.LineCumulative[l.rule.Label], fr.LineCurrent[l.rule.Label]))
	}
	if cfg.DisplayObjCount {
		ids := make([]int, 0, len(fr.ObjCount))
		for id := range fr.ObjCount {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		for _, id := range ids {
			text(fmt.Sprintf("class %d: %d", id, fr.ObjCount[id]))
		}
	}
	return d
}
