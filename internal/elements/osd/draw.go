package osd

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/vidflow/vidflow/media"
)

// Options say what a Renderer draws for objects, and how.
type Options struct {
	// Boxes draws each object's box in its class colour.
	Boxes bool
	// Labels draws each object's label; with Confidence and TrackID, its
	// confidence and track id.
	Labels, Confidence, TrackID bool
	// Font is the family of labels; FontSize their size in points.
	Font     string
	FontSize int
	// BorderWidth is the width of object boxes in pixels.
	BorderWidth int
	// Clock draws the frame's capture time at (ClockX, ClockY).
	Clock          bool
	ClockX, ClockY int
	ClockSize      int
	ClockColor     media.Color
	// NoMasks leaves out segmentation maps and instance masks (drawn
	// under everything else when the metadata has them).
	NoMasks bool
}

// DefaultOptions are DeepStream nvdsosd's defaults plus vidflow's labels.
func DefaultOptions() Options {
	return Options{Boxes: true, Labels: true, Confidence: true, TrackID: true, Font: "Sans", FontSize: 12,
		BorderWidth: 2, ClockSize: 12, ClockColor: media.Color{R: 1, A: 1}}
}

// Palette holds the class colours of object boxes: class k gets entry k mod
// len(Palette). They are the distinct colours of Sasha Trubetskoy's list.
var Palette = []media.Color{
	{R: 0.90, G: 0.10, B: 0.29, A: 1}, // red
	{R: 0.24, G: 0.71, B: 0.29, A: 1}, // green
	{R: 1.00, G: 0.88, B: 0.10, A: 1}, // yellow
	{R: 0.00, G: 0.51, B: 0.78, A: 1}, // blue
	{R: 0.96, G: 0.51, B: 0.19, A: 1}, // orange
	{R: 0.57, G: 0.12, B: 0.71, A: 1}, // purple
	{R: 0.27, G: 0.94, B: 0.94, A: 1}, // cyan
	{R: 0.94, G: 0.20, B: 0.90, A: 1}, // magenta
	{R: 0.82, G: 0.96, B: 0.24, A: 1}, // lime
	{R: 0.98, G: 0.75, B: 0.83, A: 1}, // pink
	{R: 0.00, G: 0.50, B: 0.50, A: 1}, // teal
	{R: 0.86, G: 0.75, B: 1.00, A: 1}, // lavender
	{R: 0.67, G: 0.43, B: 0.16, A: 1}, // brown
	{R: 1.00, G: 0.98, B: 0.78, A: 1}, // beige
	{R: 0.50, G: 0.00, B: 0.00, A: 1}, // maroon
	{R: 0.67, G: 1.00, B: 0.76, A: 1}, // mint
}

// ClassColor is the box colour of a class.
func ClassColor(classID int) media.Color {
	n := len(Palette)
	return Palette[((classID%n)+n)%n]
}

// Defaults of display elements whose colour is left zero (all components 0).
var (
	defaultText   = media.White
	defaultTextBg = media.Color{A: 0.6}
	defaultStroke = media.Green
	defaultFill   = media.Color{G: 1, A: 0.3}
)

func orDefault(c, d media.Color) media.Color {
	if c == (media.Color{}) {
		return d
	}
	return c
}

// Renderer draws objects and display metadata on frames. It keeps the
// glyph caches of the fonts it used, so keep one per goroutine; it is not
// safe for concurrent use.
type Renderer struct {
	opt   Options
	faces map[faceKey]*face
	err   error
	buf   []byte // label text
	// the family of the last font name asked for
	famName string
	fam     int
	pts     [][2]float64
}

type faceKey struct{ fam, size int }

// NewRenderer returns a renderer with the options.
func NewRenderer(opt Options) *Renderer {
	return &Renderer{opt: opt, faces: map[faceKey]*face{}}
}

// maxFaces bounds the fonts (family and size) a renderer caches.
const maxFaces = 32

func (r *Renderer) face(name string, points int) *face {
	if points <= 0 {
		points = r.opt.FontSize
	}
	if name != r.famName || r.famName == "" {
		r.famName, r.fam = name, family(name)
	}
	k := faceKey{r.fam, clampSize(points)}
	if f, ok := r.faces[k]; ok {
		return f
	}
	f, err := newFace(k.fam, k.size)
	if err != nil {
		r.err = err
		return nil
	}
	if len(r.faces) >= maxFaces {
		clear(r.faces)
	}
	r.faces[k] = f
	return f
}

// Draw draws the frame's objects and display elements on s, which must be
// packed RGB, RGBA or GRAY8; everything is clipped to the frame.
// Segmentation masks are drawn first, then boxes, rectangles, circles,
// lines and arrows, texts on top.
func (r *Renderer) Draw(s *media.Surface, fm *media.FrameMeta) error {
	c, err := newCanvas(s)
	if err != nil {
		return err
	}
	if fm == nil {
		return nil
	}
	if !r.opt.NoMasks {
		c.masks(fm)
	}
	if r.opt.Boxes {
		for _, o := range fm.Objects {
			if o == nil {
				continue
			}
			x0, y0, x1, y1, ok := rectPixels(o.Rect.Left, o.Rect.Top, o.Rect.Width, o.Rect.Height)
			if !ok {
				continue
			}
			p := toPaint(ClassColor(o.ClassID))
			c.frame(x0, y0, x1, y1, max(1, r.opt.BorderWidth), &p)
		}
	}
	for _, d := range fm.Display {
		if d == nil {
			continue
		}
		for i := range d.Rects {
			r.rect(&c, &d.Rects[i])
		}
		for i := range d.Circles {
			r.circle(&c, &d.Circles[i])
		}
		for i := range d.Lines {
			l := &d.Lines[i]
			p := toPaint(orDefault(l.Color, defaultStroke))
			c.capsule(float64(l.X1)+0.5, float64(l.Y1)+0.5, float64(l.X2)+0.5, float64(l.Y2)+0.5, halfWidth(l.Width), &p)
		}
		for i := range d.Arrows {
			r.arrow(&c, &d.Arrows[i])
		}
	}
	if r.opt.Labels {
		for _, o := range fm.Objects {
			if o != nil {
				r.label(&c, o)
			}
		}
	}
	for _, d := range fm.Display {
		if d == nil {
			continue
		}
		for i := range d.Texts {
			t := &d.Texts[i]
			var bg *media.Color
			if t.HasBg {
				b := orDefault(t.BgColor, defaultTextBg)
				bg = &b
			}
			r.text(&c, t.X, t.Y, t.Text, t.Font.Name, t.Font.Size, orDefault(t.Font.Color, defaultText), bg)
		}
	}
	if r.opt.Clock {
		ts := fm.NTPTimestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		r.text(&c, r.opt.ClockX, r.opt.ClockY, ts.Format("2006-01-02 15:04:05"), r.opt.Font, r.opt.ClockSize, r.opt.ClockColor, nil)
	}
	return r.err
}

// halfWidth is half a stroke width; widths under 1 draw 1 pixel wide.
func halfWidth(w int) float64 { return float64(max(w, 1)) / 2 }

func (r *Renderer) rect(c *canvas, d *media.DisplayRect) {
	x0, y0, x1, y1, ok := rectPixels(d.Left, d.Top, d.Width, d.Height)
	if !ok {
		return
	}
	bw := max(d.BorderWidth, 0)
	if d.HasBg {
		p := toPaint(orDefault(d.BgColor, defaultFill))
		if 2*bw < x1-x0 && 2*bw < y1-y0 {
			c.fill(x0+bw, y0+bw, x1-bw, y1-bw, &p)
		}
	}
	p := toPaint(orDefault(d.BorderColor, defaultStroke))
	c.frame(x0, y0, x1, y1, bw, &p)
}

func (r *Renderer) circle(c *canvas, d *media.DisplayCircle) {
	if d.Radius <= 0 {
		return
	}
	cx, cy, rad := float64(d.XC)+0.5, float64(d.YC)+0.5, float64(d.Radius)
	hw := halfWidth(d.Width)
	var fill *paint
	if d.HasBg {
		p := toPaint(orDefault(d.BgColor, defaultFill))
		fill = &p
	}
	stroke := toPaint(orDefault(d.Color, defaultStroke))
	c.ring(cx, cy, rad-hw, rad+hw, &stroke, fill)
}

func (r *Renderer) arrow(c *canvas, d *media.DisplayArrow) {
	p := toPaint(orDefault(d.Color, defaultStroke))
	ax, ay, bx, by := float64(d.X1)+0.5, float64(d.Y1)+0.5, float64(d.X2)+0.5, float64(d.Y2)+0.5
	hw := halfWidth(d.Width)
	l := math.Hypot(bx-ax, by-ay)
	if l < 1e-9 {
		c.capsule(ax, ay, bx, by, hw, &p)
		return
	}
	ux, uy := (bx-ax)/l, (by-ay)/l
	head := min(max(10, 4*hw*2), l*0.6) // head length
	half := head * 0.5
	start, end := d.Head == media.ArrowStart || d.Head == media.ArrowBoth, d.Head != media.ArrowStart
	sa, sb := 0.0, l // the shaft, shortened under the heads
	if start {
		sa = head * 0.9
	}
	if end {
		sb = l - head*0.9
	}
	if sb > sa {
		c.capsule(ax+ux*sa, ay+uy*sa, ax+ux*sb, ay+uy*sb, hw, &p)
	}
	tri := func(tx, ty, dx, dy float64) {
		bx, by := tx-dx*head, ty-dy*head
		r.pts = append(r.pts[:0], [2]float64{tx, ty}, [2]float64{bx - dy*half, by + dx*half}, [2]float64{bx + dy*half, by - dx*half})
		c.convex(r.pts, &p)
	}
	if end {
		tri(bx, by, ux, uy)
	}
	if start {
		tri(ax, ay, -ux, -uy)
	}
}

// label draws an object's label above its box (inside when there is no
// room above), on the class colour.
func (r *Renderer) label(c *canvas, o *media.ObjectMeta) {
	x0, y0, _, _, ok := rectPixels(o.Rect.Left, o.Rect.Top, o.Rect.Width, o.Rect.Height)
	if !ok {
		return
	}
	b := r.buf[:0]
	if o.Label != "" {
		b = append(b, o.Label...)
	} else {
		b = append(b, "class "...)
		b = strconv.AppendInt(b, int64(o.ClassID), 10)
	}
	if r.opt.TrackID && o.TrackID >= 0 {
		b = append(b, " #"...)
		b = strconv.AppendInt(b, o.TrackID, 10)
	}
	if r.opt.Confidence && o.Confidence >= 0 && o.Confidence <= 1 {
		b = append(b, ' ')
		b = strconv.AppendFloat(b, float64(o.Confidence), 'f', 2, 32)
	}
	r.buf = b
	f := r.face(r.opt.Font, r.opt.FontSize)
	if f == nil {
		return
	}
	text := unsafe.String(unsafe.SliceData(b), len(b)) // b is not changed while drawn
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	h := f.lineHeight() + 2*pad(f)
	y := y0 - h
	if y < 0 {
		y = y0
	}
	bg := ClassColor(o.ClassID)
	fg := media.White
	if 0.299*bg.R+0.587*bg.G+0.114*bg.B > 0.6 {
		fg = media.Black
	}
	r.textFace(c, f, x0, y, text, fg, &bg)
}

func pad(f *face) int { return max(1, f.lineHeight()/10) }

// text draws s with its top-left corner at (x, y), lines split at '\n',
// on a background box when bg is not nil.
func (r *Renderer) text(c *canvas, x, y int, s, font string, size int, fg media.Color, bg *media.Color) {
	if s == "" {
		return
	}
	f := r.face(font, size)
	if f == nil {
		return
	}
	r.textFace(c, f, x, y, s, fg, bg)
}

func (r *Renderer) textFace(c *canvas, f *face, x, y int, s string, fg media.Color, bg *media.Color) {
	// Texts that start this far out cannot reach the frame: maxRunes glyphs
	// of the largest size are narrower.
	const far = 1 << 22
	if x >= c.w || y >= c.h || x < -far || y < -far || s == "" {
		return
	}
	pd := pad(f)
	lh := f.lineHeight()
	if bg != nil {
		w, lines := f.measure(s)
		p := toPaint(*bg)
		c.fill(x, y, x+w+2*pd, y+lines*lh+2*pd, &p)
	}
	p := toPaint(fg)
	penX, base := x+pd, y+pd+f.ascent
	n := 0
	for _, ru := range s {
		if n++; n > maxRunes {
			break
		}
		if ru == '\n' {
			penX = x + pd
			base += lh
			if base-f.ascent >= c.h {
				break
			}
			continue
		}
		if penX >= c.w {
			continue // the rest of this line is out of the frame
		}
		g := f.glyph(ru)
		if g.w > 0 && penX+g.dx+g.w > 0 && base+g.dy < c.h && base+g.dy+g.h > 0 {
			c.mask(g.mask, g.w, g.h, penX+g.dx, base+g.dy, &p)
		}
		penX += g.adv
	}
}
