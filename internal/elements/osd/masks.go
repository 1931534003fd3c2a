package osd

import (
	"math"

	"github.com/vidflow/vidflow/media"
)

// maskAlpha is the opacity of mask colours: the picture stays visible
// under them.
const maskAlpha = 128

// masks draws a frame's semantic segmentation map (as DeepStream's
// nvsegvisual shows it, here over the picture) and each object's instance
// mask (nvdsosd's display-mask), in the class colours, translucent. A map
// covers the whole frame, stretched (nearest pixel); a mask its object's
// box.
func (c *canvas) masks(fm *media.FrameMeta) {
	if m := fm.Segmentation(); m != nil && m.Width > 0 && m.Height > 0 && len(m.ClassMap) >= m.Width*m.Height {
		c.classMap(m.ClassMap, m.Width, m.Height, 0, 0, c.w, c.h)
	}
	for _, o := range fm.Objects {
		if o == nil {
			continue
		}
		if m := o.InstanceMask(); m != nil && m.Width > 0 && m.Height > 0 && len(m.Data) >= m.Width*m.Height {
			c.instanceMask(m, o.ClassID, o.Rect)
		}
	}
}

// classMap paints the classes of an mw×mh map stretched over the
// rectangle (x0,y0)-(x1,y1) of the canvas (clipped); -1 is left alone.
func (c *canvas) classMap(cls []int32, mw, mh, x0, y0, x1, y1 int) {
	w, h := x1-x0, y1-y0
	if w <= 0 || h <= 0 {
		return
	}
	paints := map[int32]*paint{}
	for y := max(y0, 0); y < min(y1, c.h); y++ {
		row := cls[((y-y0)*mh/h)*mw:]
		for x := max(x0, 0); x < min(x1, c.w); x++ {
			k := row[(x-x0)*mw/w]
			if k < 0 {
				continue
			}
			p := paints[k]
			if p == nil {
				v := toPaint(ClassColor(int(k)))
				p = &v
				paints[k] = p
			}
			c.px(c.off+y*c.stride+x*c.ch, p, maskAlpha)
		}
	}
}

// instanceMask paints the pixels of the object's box where its mask is
// above the mask's threshold.
func (c *canvas) instanceMask(m *media.InstanceMask, class int, r media.Rect) {
	x0, y0, x1, y1, ok := rectPixels(r.Left, r.Top, r.Width, r.Height)
	if !ok || x1 <= x0 || y1 <= y0 {
		return
	}
	p := toPaint(ClassColor(class))
	w, h := x1-x0, y1-y0
	for y := max(y0, 0); y < min(y1, c.h); y++ {
		row := m.Data[((y-y0)*m.Height/h)*m.Width:]
		for x := max(x0, 0); x < min(x1, c.w); x++ {
			if v := row[(x-x0)*m.Width/w]; v > m.Threshold && !math.IsNaN(float64(v)) {
				c.px(c.off+y*c.stride+x*c.ch, &p, maskAlpha)
			}
		}
	}
}
