// Package osd holds the on-screen display (DeepStream's nvdsosd): it draws
// each object's box in its class colour with a label (class, track id,
// confidence), and the display metadata probes add (texts with
// backgrounds, rectangles with borders and translucent fills, lines,
// arrows, circles), on packed RGB, RGBA or GRAY8 frames, in Go, with the
// Go TrueType fonts. Everything is clipped to the frame: elements outside
// it, negative or NaN sizes and huge texts draw what is visible, or
// nothing, and never fail.
//
// The OSD draws into the frames in place. A frame that is shared (a Fork
// upstream gave the same pixels to several branches) is first copied into
// a pooled frame of the OSD's own (copy-on-write), so the other branches
// keep the undrawn picture; copy-on-write=false draws in place anyway.
package osd

import (
	"context"
	"fmt"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/imgproc"
	"github.com/vidflow/vidflow/media"
)

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvdsosd",
		Aliases: []string{"osd"},
		Doc: "Draws objects (box in the class colour, label with track id and confidence) and display metadata " +
			"(texts, rectangles, lines, arrows, circles) on RGB, RGBA or GRAY8 frames, clipped to the frame. " +
			"Shared frames (after a Fork) are copied first.",
		Role: element.RoleTransform,
		Props: []element.PropSpec{
			{Name: "display-text", Type: element.Bool, Default: true, Doc: "draw object labels"},
			{Name: "display-bbox", Type: element.Bool, Default: true, Doc: "draw object boxes"},
			{Name: "display-clock", Type: element.Bool, Default: false, Doc: "draw the frame's capture time"},
			{Name: "clock-font-size", Type: element.Int, Default: 12, Doc: "clock size in points"},
			{Name: "x-clock-offset", Type: element.Int, Default: 0},
			{Name: "y-clock-offset", Type: element.Int, Default: 0},
			{Name: "clock-color", Type: element.Int, Default: int(0xff0000ff), Doc: "clock colour as 0xRRGGBBAA"},
			{Name: "display-confidence", Type: element.Bool, Default: true, Doc: "add the confidence to labels (vidflow)"},
			{Name: "display-track-id", Type: element.Bool, Default: true, Doc: "add the track id to labels (vidflow)"},
			{Name: "font", Type: element.String, Default: "Sans", Doc: "label font: Sans, Mono, Sans Bold, Mono Bold (Go fonts; other names are Sans)"},
			{Name: "font-size", Type: element.Int, Default: 12, Doc: "label size in points (at 96 dpi: 12 = 16 px)"},
			{Name: "border-width", Type: element.Int, Default: 2, Doc: "object box width in pixels"},
			{Name: "copy-on-write", Type: element.Bool, Default: true, Doc: "copy frames shared with other branches before drawing"},
			{Name: "process-mode", Type: element.Int, Default: 1, Ignored: true, Doc: "drawing is on the CPU"},
			{Name: "gpu-id", Type: element.Int, Default: 0, Ignored: true},
			{Name: "display-mask", Type: element.Bool, Default: false, Doc: "segmentation maps and instance masks are drawn when the metadata has them; display-mask=false leaves them out"},
			{Name: "hw-blend-color-attr", Type: element.String, Default: "", Ignored: true},
		},
		New: newElement,
	})
}

type osdElement struct {
	opt Options
	cow bool
}

func newElement(c *element.Config) (element.Element, error) {
	o := DefaultOptions()
	o.Labels = c.Bool("display-text")
	o.Boxes = c.Bool("display-bbox")
	o.Clock = c.Bool("display-clock")
	o.ClockSize = c.Int("clock-font-size")
	o.ClockX, o.ClockY = c.Int("x-clock-offset"), c.Int("y-clock-offset")
	cc := uint32(c.Int("clock-color"))
	o.ClockColor = media.Color{R: float32(cc>>24) / 255, G: float32(cc>>16&0xff) / 255, B: float32(cc>>8&0xff) / 255, A: float32(cc&0xff) / 255}
	o.Confidence = c.Bool("display-confidence")
	o.TrackID = c.Bool("display-track-id")
	o.Font = c.String("font")
	o.FontSize = c.Int("font-size")
	o.BorderWidth = c.Int("border-width")
	// nvdsosd draws instance masks only with display-mask; vidflow has no
	// nvsegvisual, so masks are drawn unless display-mask is turned off.
	o.NoMasks = c.IsSet("display-mask") && !c.Bool("display-mask")
	switch {
	case o.FontSize < minFontSize || o.FontSize > maxFontSize:
		return nil, fmt.Errorf("property \"font-size\": %d out of range (%d..%d)", o.FontSize, minFontSize, maxFontSize)
	case o.ClockSize < minFontSize || o.ClockSize > maxFontSize:
		return nil, fmt.Errorf("property \"clock-font-size\": %d out of range (%d..%d)", o.ClockSize, minFontSize, maxFontSize)
	case o.BorderWidth < 0 || o.BorderWidth > 100:
		return nil, fmt.Errorf("property \"border-width\": %d out of range (0..100)", o.BorderWidth)
	}
	if _, err := fonts(); err != nil {
		return nil, fmt.Errorf("fonts: %w", err)
	}
	return &osdElement{opt: o, cow: c.Bool("copy-on-write")}, nil
}

// Run draws on every frame of every buffer; each run has its own renderer
// and copy pools.
func (e *osdElement) Run(ctx context.Context, p element.Ports) error {
	r := NewRenderer(e.opt)
	var pools []*media.Pool
	var conv imgproc.Converter
	m := &element.Map{Fn: func(ctx context.Context, b *media.Buffer) error {
		for i, fm := range b.Meta().Frames {
			if i >= b.BatchSize() {
				break
			}
			f := b.Frame(i)
			if f.Format.Channels() == 0 { // NV12 or I420: NVDEC's frames kept in GPU memory
				c, err := rgbCopy(ctx, p, &pools, f, b.BatchSize(), &conv)
				if err != nil {
					return err
				}
				b.SetFrame(i, c)
				f = c
			} else if (e.cow && !f.Writable()) || f.OnDevice() {
				// Frames in GPU memory are drawn on a host copy (one
				// download, counted by media.DeviceDownloads).
				c, err := copyFrame(ctx, p, &pools, f, b.BatchSize())
				if err != nil {
					return err
				}
				b.SetFrame(i, c)
				f = c
			}
			if err := r.Draw(&f.Surface, fm); err != nil {
				return err
			}
		}
		return nil
	}}
	return m.Run(ctx, p)
}

// copyPoolSize is the least number of copies of one size an OSD may have
// in flight: enough for the queues behind it.
const copyPoolSize = 4 + 2*element.DefaultQueueSize

// copyPoolFor is the pool size for batches of n frames: the batch being
// drawn, one downstream, and some slack. A pool smaller than one batch
// deadlocks: the OSD would wait for copies its own batch holds.
func copyPoolFor(n int) int { return max(copyPoolSize, 2*n+4) }

// copyFrame copies a shared frame of a batch of n into a pooled one.
func copyFrame(ctx context.Context, p element.Ports, pools *[]*media.Pool, f *media.Frame, n int) (*media.Frame, error) {
	src, err := f.HostSurface()
	if err != nil {
		return nil, fmt.Errorf("osd: %w", err)
	}
	if err := src.Check(); err != nil {
		return nil, fmt.Errorf("osd: %w", err)
	}
	c, err := poolFor(p, pools, f.Format, f.Width, f.Height, n).Get(ctx)
	if err != nil {
		return nil, err
	}
	for y := 0; y < f.Height; y++ {
		copy(c.Row(y), src.Row(y))
	}
	if !f.OnDevice() {
		c.Device = f.Device
	}
	return c, nil
}

// poolFor is the copy pool of format and size for batches of n frames,
// made on first use (a new size, or a larger batch than before).
func poolFor(p element.Ports, pools *[]*media.Pool, format media.ColorFormat, w, h, n int) *media.Pool {
	for _, pl := range *pools {
		if pl.Matches(format, w, h) && pl.Cap() >= copyPoolFor(n) {
			return pl
		}
	}
	pool := media.NewPool(p.Name(), format, w, h, copyPoolFor(n))
	p.AddPool(pool)
	*pools = append(*pools, pool)
	return pool
}

// rgbCopy is a planar frame (NV12 or I420: NVDEC's, kept in GPU memory by
// convert=device, come here without a tiler) converted into a pooled RGB
// frame to draw on, as DeepStream puts nvvideoconvert to RGBA before
// nvdsosd: one download (counted by media.DeviceDownloads) and a CPU
// conversion a frame. The tiler's GPU path (Render) is the fast one; this
// one makes the OSD work on any frame instead of refusing.
func rgbCopy(ctx context.Context, p element.Ports, pools *[]*media.Pool, f *media.Frame, n int, conv *imgproc.Converter) (*media.Frame, error) {
	src, err := f.HostSurface()
	if err != nil {
		return nil, fmt.Errorf("osd: %w", err)
	}
	c, err := poolFor(p, pools, media.RGB, f.Width, f.Height, n).Get(ctx)
	if err != nil {
		return nil, err
	}
	if err := conv.Convert(&c.Surface, src); err != nil {
		c.Unref()
		return nil, fmt.Errorf("osd: %w", err)
	}
	return c, nil
}
