package media

// Color is an RGBA colour with components from 0 to 1, as DeepStream's OSD
// takes them.
type Color struct{ R, G, B, A float32 }

// Common colours.
var (
	Black = Color{0, 0, 0, 1}
	White = Color{1, 1, 1, 1}
	Red   = Color{1, 0, 0, 1}
	Green = Color{0, 1, 0, 1}
	Blue  = Color{0, 0, 1, 1}
)

// Font is a text font: a family name ("Sans", "Serif", "Mono"), a size in
// points and a colour.
type Font struct {
	Name  string
	Size  int
	Color Color
}

// DisplayText is a text drawn at (X, Y), its top-left corner, optionally on
// a background box.
type DisplayText struct {
	Text    string
	X, Y    int
	Font    Font
	HasBg   bool
	BgColor Color
}

// DisplayRect is a rectangle with a border and an optional fill.
type DisplayRect struct {
	Left, Top, Width, Height float32
	BorderWidth              int
	BorderColor              Color
	HasBg                    bool
	BgColor                  Color
}

// DisplayLine is a straight line.
type DisplayLine struct {
	X1, Y1, X2, Y2 int
	Width          int
	Color          Color
}

// ArrowHead says which ends of an arrow have a head.
type ArrowHead int

// Arrow heads.
const (
	ArrowEnd ArrowHead = iota
	ArrowStart
	ArrowBoth
)

// DisplayArrow is a line with a head at one or both ends.
type DisplayArrow struct {
	X1, Y1, X2, Y2 int
	Width          int
	Color          Color
	Head           ArrowHead
}

// DisplayCircle is a circle with an optional fill.
type DisplayCircle struct {
	XC, YC, Radius int
	Width          int
	Color          Color
	HasBg          bool
	BgColor        Color
}

// DisplayMeta is a set of drawing instructions for one frame, the twin of
// DeepStream's NvDsDisplayMeta without its 16-elements-per-kind limit.
type DisplayMeta struct {
	Texts   []DisplayText
	Rects   []DisplayRect
	Lines   []DisplayLine
	Arrows  []DisplayArrow
	Circles []DisplayCircle
}

// AddText appends a text and returns the DisplayMeta for chaining.
func (d *DisplayMeta) AddText(t DisplayText) *DisplayMeta { d.Texts = append(d.Texts, t); return d }

// AddRect appends a rectangle.
func (d *DisplayMeta) AddRect(r DisplayRect) *DisplayMeta { d.Rects = append(d.Rects, r); return d }

// AddLine appends a line.
func (d *DisplayMeta) AddLine(l DisplayLine) *DisplayMeta { d.Lines = append(d.Lines, l); return d }

// AddArrow appends an arrow.
func (d *DisplayMeta) AddArrow(a DisplayArrow) *DisplayMeta { d.Arrows = append(d.Arrows, a); return d }

// AddCircle appends a circle.
func (d *DisplayMeta) AddCircle(c DisplayCircle) *DisplayMeta {
	d.Circles = append(d.Circles, c)
	return d
}

// Clone copies the display metadata.
func (d *DisplayMeta) Clone() *DisplayMeta {
	return &DisplayMeta{
		Texts:   append([]DisplayText(nil), d.Texts...),
		Rects:   append([]DisplayRect(nil), d.Rects...),
		Lines:   append([]DisplayLine(nil), d.Lines...),
		Arrows:  append([]DisplayArrow(nil), d.Arrows...),
		Circles: append([]DisplayCircle(nil), d.Circles...),
	}
}

// AddDisplay appends a DisplayMeta to the frame.
func (f *FrameMeta) AddDisplay(d *DisplayMeta) { f.Display = append(f.Display, d) }

// AddObject appends an object to the frame.
func (f *FrameMeta) AddObject(o *ObjectMeta) { f.Objects = append(f.Objects, o) }
