// Package imgproc converts and scales frames in Go: colour formats to the
// packed RGB, RGBA or GRAY8 a batch holds, and bilinear resizing. Capture
// scales in GStreamer; this is for frames users inject at other sizes.
package imgproc

import (
	"fmt"

	"github.com/vidflow/vidflow/media"
)

// Converter converts and scales frames, reusing its scratch memory.
type Converter struct {
	scratch []byte
	xs      []int32
	xw      []int32
}

// Convert writes src, converted to dst's format and scaled to dst's size,
// into dst. dst must be packed RGB, RGBA or GRAY8.
func (c *Converter) Convert(dst, src *media.Surface) error {
	if dst.Format.Channels() == 0 {
		return fmt.Errorf("convert: target format %v is not packed RGB, RGBA or GRAY8", dst.Format)
	}
	if !src.Format.Raw() {
		return fmt.Errorf("convert: source format %v is not raw pixels", src.Format)
	}
	if err := src.Check(); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	if src.Width == dst.Width && src.Height == dst.Height {
		convertFormat(dst, src)
		return nil
	}
	mid := media.PackedSurface(dst.Format, src.Width, src.Height, nil)
	if src.Format == dst.Format {
		mid = *src
	} else {
		n := dst.Format.FrameSize(src.Width, src.Height)
		if cap(c.scratch) < n {
			c.scratch = make([]byte, n)
		}
		mid.Data = c.scratch[:n]
		convertFormat(&mid, src)
	}
	c.scale(dst, &mid)
	return nil
}

// convertFormat converts pixels between formats of the same size.
func convertFormat(dst, src *media.Surface) {
	dc := dst.Format.Channels()
	w, h := src.Width, src.Height
	for y := 0; y < h; y++ {
		drow := dst.Data[dst.Offsets[0]+y*dst.Strides[0]:]
		switch src.Format {
		case media.RGB, media.RGBA, media.GRAY8:
			sc := src.Format.Channels()
			srow := src.Data[src.Offsets[0]+y*src.Strides[0]:]
			if sc == dc {
				copy(drow[:w*dc], srow[:w*sc])
				continue
			}
			for x := 0; x < w; x++ {
				var r, g, b uint8
				if sc == 1 {
					r, g, b = srow[x], srow[x], srow[x]
				} else {
					r, g, b = srow[x*sc], srow[x*sc+1], srow[x*sc+2]
				}
				put(drow, x, dc, r, g, b)
			}
		case media.I420, media.NV12:
			yrow := src.Data[src.Offsets[0]+y*src.Strides[0]:]
			var urow, vrow []byte
			uStep := 1
			if src.Format == media.I420 {
				urow = src.Data[src.Offsets[1]+(y/2)*src.Strides[1]:]
				vrow = src.Data[src.Offsets[2]+(y/2)*src.Strides[2]:]
			} else {
				urow = src.Data[src.Offsets[1]+(y/2)*src.Strides[1]:]
				vrow = urow[1:]
				uStep = 2
			}
			for x := 0; x < w; x++ {
				yy := yrow[x]
				if dc == 1 {
					drow[x] = yy
					continue
				}
				r, g, b := yuvToRGB(yy, urow[(x/2)*uStep], vrow[(x/2)*uStep])
				put(drow, x, dc, r, g, b)
			}
		}
	}
}

func put(row []byte, x, ch int, r, g, b uint8) {
	switch ch {
	case 1:
		row[x] = uint8((77*int(r) + 150*int(g) + 29*int(b)) >> 8)
	case 3:
		row[3*x], row[3*x+1], row[3*x+2] = r, g, b
	case 4:
		row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = r, g, b, 255
	}
}

// yuvToRGB converts BT.601 limited-range YUV, as GStreamer's videoconvert
// assumes for SD video.
func yuvToRGB(y, u, v uint8) (uint8, uint8, uint8) {
	c := int(y) - 16
	d := int(u) - 128
	e := int(v) - 128
	r := (298*c + 409*e + 128) >> 8
	g := (298*c - 100*d - 208*e + 128) >> 8
	b := (298*c + 516*d + 128) >> 8
	return clamp(r), clamp(g), clamp(b)
}

func clamp(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// scale resizes packed src into dst (same format) bilinearly, with
// 8-bit fixed-point weights.
func (c *Converter) scale(dst, src *media.Surface) {
	ch := dst.Format.Channels()
	sw, sh, dw, dh := src.Width, src.Height, dst.Width, dst.Height
	if cap(c.xs) < dw {
		c.xs, c.xw = make([]int32, dw), make([]int32, dw)
	}
	xs, xw := c.xs[:dw], c.xw[:dw]
	for x := 0; x < dw; x++ {
		fx := (float64(x)+0.5)*float64(sw)/float64(dw) - 0.5
		fx = max(fx, 0)
		ix := int(fx)
		if ix >= sw-1 {
			ix, fx = sw-1, float64(sw-1)
		}
		xs[x] = int32(ix)
		xw[x] = int32((fx - float64(ix)) * 256)
	}
	for y := 0; y < dh; y++ {
		fy := (float64(y)+0.5)*float64(sh)/float64(dh) - 0.5
		fy = max(fy, 0)
		iy := int(fy)
		if iy >= sh-1 {
			iy, fy = sh-1, float64(sh-1)
		}
		wy := int32((fy - float64(iy)) * 256)
		iy2 := min(iy+1, sh-1)
		r0 := src.Data[src.Offsets[0]+iy*src.Strides[0]:]
		r1 := src.Data[src.Offsets[0]+iy2*src.Strides[0]:]
		drow := dst.Data[dst.Offsets[0]+y*dst.Strides[0]:]
		for x := 0; x < dw; x++ {
			x0 := int(xs[x]) * ch
			x1 := min(int(xs[x])+1, sw-1) * ch
			wx := xw[x]
			for k := 0; k < ch; k++ {
				top := int32(r0[x0+k])*(256-wx) + int32(r0[x1+k])*wx
				bot := int32(r1[x0+k])*(256-wx) + int32(r1[x1+k])*wx
				drow[x*ch+k] = uint8((top*(256-wy) + bot*wy + 1<<15) >> 16)
			}
		}
	}
}
