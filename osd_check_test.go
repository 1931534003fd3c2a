package vidflow_test

import (
	"math"
	"sync"

	"github.com/vidflow/vidflow/internal/elements/osd"
	"github.com/vidflow/vidflow/media"
)

// boxCheck is a retriever that checks the OSD's work on every frame it
// gets: the frame is in host memory, packed RGB or RGBA, and each object's
// box has its class colour at the middle of its left edge (the label is at
// the top; a box drawn over another can hide that pixel, hence a share).
type boxCheck struct {
	mu                      sync.Mutex
	frames, host, boxes, ok int
}

func (c *boxCheck) Consume(b *media.Buffer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, fm := range b.Meta().Frames {
		if i >= b.BatchSize() {
			break
		}
		c.frames++
		f := b.Frame(i)
		ch := f.Format.Channels()
		if f.OnDevice() || (f.Format != media.RGB && f.Format != media.RGBA) {
			continue
		}
		c.host++
		for _, o := range fm.Objects {
			x := int(math.Round(float64(o.Rect.Left)))
			y := int(math.Round(float64(o.Rect.Top + o.Rect.Height/2)))
			if x < 0 || y < 0 || x >= f.Width || y >= f.Height || o.Rect.Width < 8 || o.Rect.Height < 8 {
				continue
			}
			c.boxes++
			want := osd.ClassColor(o.ClassID)
			px := f.Data[f.Offsets[0]+y*f.Strides[0]+x*ch:]
			if component(px[0], want.R) && component(px[1], want.G) && component(px[2], want.B) {
				c.ok++
			}
		}
	}
	return nil
}

// component reports whether the byte v is the 0..1 component c, within 2.
func component(v uint8, c float32) bool {
	return math.Abs(float64(v)-float64(c)*255) <= 2
}
