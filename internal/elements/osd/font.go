package osd

import (
	"image"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The fonts are the Go fonts (TrueType, from golang.org/x/image): a
// humanist sans-serif and a monospace, each regular and bold. Family names
// map onto them: a name containing "mono" or "courier" picks the
// monospace, one containing "bold" the bold weight; anything else
// ("Sans", "Serif", "Arial", "") is the sans-serif.
const (
	famSans = iota
	famSansBold
	famMono
	famMonoBold
	numFamilies
)

var (
	parseOnce sync.Once
	parsed    [numFamilies]*opentype.Font
	parseErr  error
)

func fonts() ([numFamilies]*opentype.Font, error) {
	parseOnce.Do(func() {
		for i, ttf := range [numFamilies][]byte{goregular.TTF, gobold.TTF, gomono.TTF, gomonobold.TTF} {
			if parsed[i], parseErr = opentype.Parse(ttf); parseErr != nil {
				return
			}
		}
	})
	return parsed, parseErr
}

// family maps a font family name to one of the Go fonts.
func family(name string) int {
	n := strings.ToLower(name)
	mono := strings.Contains(n, "mono") || strings.Contains(n, "courier")
	bold := strings.Contains(n, "bold")
	switch {
	case mono && bold:
		return famMonoBold
	case mono:
		return famMono
	case bold:
		return famSansBold
	}
	return famSans
}

// Font sizes are points at 96 dots per inch, as Pango renders DeepStream's
// (12 points = 16 pixels), clamped to this range.
const (
	dpi         = 96
	minFontSize = 4
	maxFontSize = 200
)

func clampSize(points int) int { return min(max(points, minFontSize), maxFontSize) }

// glyph is a rendered glyph: an alpha mask placed at (dx, dy) from the pen
// position on the baseline.
type glyph struct {
	mask   []byte
	w, h   int
	dx, dy int
	adv    int // advance in whole pixels (the faces are hinted)
}

// face is one font at one size with its glyph cache. Faces are not safe
// for concurrent use; every Renderer has its own.
type face struct {
	f       font.Face
	ascent  int
	descent int
	ascii   [128]*glyph
	other   map[rune]*glyph
}

func newFace(fam, points int) (*face, error) {
	fs, err := fonts()
	if err != nil {
		return nil, err
	}
	f, err := opentype.NewFace(fs[fam], &opentype.FaceOptions{Size: float64(points), DPI: dpi, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	m := f.Metrics()
	return &face{f: f, ascent: m.Ascent.Ceil(), descent: m.Descent.Ceil(), other: map[rune]*glyph{}}, nil
}

// lineHeight is the height of one line of text.
func (fc *face) lineHeight() int { return fc.ascent + fc.descent }

// maxCachedRunes bounds the cache of non-ASCII glyphs of one face.
const maxCachedRunes = 4096

// glyph returns the cached glyph of r, rendering it on first use. Runes the
// font lacks render as '?'; control characters as a space.
func (fc *face) glyph(r rune) *glyph {
	if r < 32 || r == 0x7f {
		r = ' '
	}
	if r < 128 {
		if g := fc.ascii[r]; g != nil {
			return g
		}
	} else if g, ok := fc.other[r]; ok {
		return g
	}
	g := fc.render(r)
	if g == nil {
		g = fc.glyph('?')
	}
	if r < 128 {
		fc.ascii[r] = g
	} else {
		if len(fc.other) >= maxCachedRunes {
			clear(fc.other)
		}
		fc.other[r] = g
	}
	return g
}

func (fc *face) render(r rune) *glyph {
	dr, mask, mp, adv, ok := fc.f.Glyph(fixed.Point26_6{}, r)
	if !ok && r != '?' {
		return nil
	}
	g := &glyph{w: dr.Dx(), h: dr.Dy(), dx: dr.Min.X, dy: dr.Min.Y, adv: adv.Round()}
	if g.w <= 0 || g.h <= 0 {
		g.w, g.h = 0, 0
		return g
	}
	g.mask = make([]byte, g.w*g.h)
	if a, isAlpha := mask.(*image.Alpha); isAlpha {
		for y := 0; y < g.h; y++ {
			o := a.PixOffset(mp.X, mp.Y+y)
			copy(g.mask[y*g.w:(y+1)*g.w], a.Pix[o:o+g.w])
		}
	} else {
		for y := 0; y < g.h; y++ {
			for x := 0; x < g.w; x++ {
				_, _, _, al := mask.At(mp.X+x, mp.Y+y).RGBA()
				g.mask[y*g.w+x] = uint8(al >> 8)
			}
		}
	}
	return g
}

// maxRunes bounds the runes drawn of one text; DeepStream limits labels to
// 128 characters.
const maxRunes = 1024

// measure returns the width of the widest line of s and its number of lines.
func (fc *face) measure(s string) (w, lines int) {
	lines = 1
	x, n := 0, 0
	for _, r := range s {
		if n++; n > maxRunes {
			break
		}
		if r == '\n' {
			w = max(w, x)
			x = 0
			lines++
			continue
		}
		x += fc.glyph(r).adv
	}
	return max(w, x), lines
}
