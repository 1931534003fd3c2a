package osd

import (
	"context"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/imgproc"
	"github.com/vidflow/vidflow/media"
)

// poolPorts is the part of element.Ports that rgbCopy uses.
type poolPorts struct {
	element.Ports
	pools int
}

func (p *poolPorts) Name() string           { return "osd-test" }
func (p *poolPorts) AddPool(pl *media.Pool) { p.pools++ }

// An NV12 frame (NVDEC's, as convert=device keeps them) is drawn on an RGB
// copy of its pixels, from a pool made once for its size.
func TestRGBCopyOfNV12(t *testing.T) {
	const w, h = 64, 48
	data := make([]byte, media.NV12.FrameSize(w, h))
	for i := range w * h {
		data[i] = 81 // BT.601 red: Y 81, U 90, V 240
	}
	for i := w * h; i < len(data); i += 2 {
		data[i], data[i+1] = 90, 240
	}
	f := media.NewFrame(media.PackedSurface(media.NV12, w, h, data), nil)
	p := &poolPorts{}
	var pools []*media.Pool
	var conv imgproc.Converter
	for range 2 {
		c, err := rgbCopy(context.Background(), p, &pools, f, 1, &conv)
		if err != nil {
			t.Fatal(err)
		}
		if c.Format != media.RGB || c.Width != w || c.Height != h {
			t.Fatalf("copy is %v %dx%d, want RGB %dx%d", c.Format, c.Width, c.Height, w, h)
		}
		px := c.Row(h / 2)[3*(w/2):]
		if px[0] < 240 || px[1] > 15 || px[2] > 15 {
			t.Errorf("centre pixel %v, want red", px[:3])
		}
		if err := NewRenderer(DefaultOptions()).Draw(&c.Surface, &media.FrameMeta{}); err != nil {
			t.Errorf("drawing on the copy: %v", err)
		}
		c.Unref()
	}
	if p.pools != 1 || len(pools) != 1 {
		t.Errorf("%d pools added for two frames of one size, want 1", p.pools)
	}
	f.Unref()
}
