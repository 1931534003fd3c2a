package sources

import (
	"context"
	"fmt"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// composePool is the number of dest-crop frames a stream has in flight:
// more than the queues and the batch hold at once, so that waiting for one
// is back-pressure, never a stall.
const composePool = 32

// setDest changes dest-crop ("left:top:width:height" in the stream's
// output frame; "" or "0:0:0:0" for the whole frame), as nvvideoconvert's:
// each frame is scaled into that part of a black frame of the stream's
// size, from the next frame on. vidflow does it in Go on the decoded
// frame (a copy, made only while dest-crop is set), for packed frames
// (RGB, RGBA, GRAY8).
func (s *source) setDest(value any) error {
	r, err := parseCrop(fmt.Sprint(value))
	if err != nil {
		return fmt.Errorf("dest-crop: %w", err)
	}
	if r != nil && s.format.Channels() == 0 {
		return fmt.Errorf("dest-crop cannot change: it is composed on packed frames (RGB, RGBA, GRAY8), and this stream gives %v", s.format)
	}
	if r != nil && s.device {
		return fmt.Errorf("dest-crop cannot change: this stream's frames stay in GPU memory (convert=device); use convert=cpu")
	}
	c := &s.ctl
	c.mu.Lock()
	defer c.mu.Unlock()
	w, h := s.w, s.h
	if w == 0 {
		w, h = c.w, c.h // the stream's own size, once a frame came
	}
	if r != nil && w > 0 && (r.left+r.width > w || r.top+r.height > h) {
		return fmt.Errorf("dest-crop %s is outside the stream's %dx%d frame", r, w, h)
	}
	c.dest = r
	c.hasDst.Store(r != nil)
	return nil
}

// compose is called with each one-frame buffer the stream gives: with
// dest-crop set, the frame is replaced by a pooled one holding it scaled
// into the rectangle, black around.
func (c *controls) compose(ctx context.Context, p element.Ports, b *media.Buffer) error {
	if !c.hasDst.Load() {
		if c.w == 0 {
			c.mu.Lock()
			f := b.Frame(0)
			c.w, c.h = f.Width, f.Height
			c.mu.Unlock()
		}
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f := b.Frame(0)
	c.w, c.h = f.Width, f.Height
	r := c.dest
	if r == nil {
		return nil
	}
	if r.left+r.width > f.Width || r.top+r.height > f.Height {
		return nil // set for another size; the frame goes as it is
	}
	if c.pool == nil || !c.pool.Matches(f.Format, f.Width, f.Height) {
		c.pool = media.NewPool(p.Name()+"-dest-crop", f.Format, f.Width, f.Height, composePool)
		p.AddPool(c.pool)
	}
	out, err := c.pool.Get(ctx)
	if err != nil {
		return err
	}
	clear(out.Data)
	ch := f.Format.Channels()
	if f.Format == media.RGBA { // opaque black
		for i := 3; i < len(out.Data); i += 4 {
			out.Data[i] = 255
		}
	}
	view := out.Surface
	view.Width, view.Height = r.width, r.height
	view.Offsets[0] += r.top*view.Strides[0] + r.left*ch
	if err := c.scaler.Convert(&view, &f.Surface); err != nil {
		out.Unref()
		return fmt.Errorf("dest-crop: %w", err)
	}
	out.Device = f.Device
	b.SetFrame(0, out)
	return nil
}
