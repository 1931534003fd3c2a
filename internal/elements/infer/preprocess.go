package infer

import (
	"fmt"
	"math"
	"sync"

	"github.com/vidflow/vidflow/media"
)

// preprocessor writes images (a frame, or a region of one) into one
// image slot of the network's input tensor: scaled to the network's size
// (stretched, or letterboxed with maintain-aspect-ratio), channels in the
// model's colour order, y = scale × (x − offset), NCHW or NHWC. It keeps
// its lookup tables between calls and does not allocate once warm.
type preprocessor struct {
	w, h, c   int // network input
	nhwc      bool
	gray      bool       // one-channel model (model-color-format 2)
	src       [3]int     // source channel feeding each model channel (RGB order: 0 R, 1 G, 2 B)
	scale     float32    // net-scale-factor
	offsets   [3]float32 // per model channel
	keep      bool       // maintain-aspect-ratio
	symmetric bool
	bilinear  bool

	x0, x1 []int32 // per output column: byte offsets of the two source pixels
	xw     []float32
}

func newPreprocessor(c *Config, w, h, ch int, nhwc bool) *preprocessor {
	p := &preprocessor{w: w, h: h, c: ch, nhwc: nhwc, gray: c.ModelColorFormat == 2,
		scale: c.NetScaleFactor, keep: c.MaintainAspectRatio, symmetric: c.SymmetricPadding,
		bilinear: c.ScalingFilter != 0 && c.ScalingFilter != 6,
		x0:       make([]int32, w), x1: make([]int32, w), xw: make([]float32, w)}
	p.src = [3]int{0, 1, 2}
	if c.ModelColorFormat == 1 {
		p.src = [3]int{2, 1, 0}
	}
	copy(p.offsets[:], c.Offsets)
	return p
}

// xform maps network-input pixels back to frame pixels and clips to the
// region the image came from.
type xform struct {
	sx, sy     float32 // frame pixels per network pixel
	padX, padY float32
	left, top  float32 // the region in the frame
	right, bot float32
}

func (t xform) rect(x1, y1, x2, y2 float32) media.Rect {
	l := clampF((x1-t.padX)*t.sx+t.left, t.left, t.right)
	tp := clampF((y1-t.padY)*t.sy+t.top, t.top, t.bot)
	r := clampF((x2-t.padX)*t.sx+t.left, t.left, t.right)
	b := clampF((y2-t.padY)*t.sy+t.top, t.top, t.bot)
	return media.Rect{Left: l, Top: tp, Width: r - l, Height: b - tp}
}

func clampF(v, lo, hi float32) float32 { return min(max(v, lo), hi) }

// region is a rectangle of whole pixels of a frame.
type region struct{ x, y, w, h int }

// regionOf turns an object's box into whole pixels inside the frame;
// ok is false when nothing of it is inside.
func regionOf(r media.Rect, fw, fh int) (region, bool) {
	x0 := int(math.Floor(float64(max(r.Left, 0))))
	y0 := int(math.Floor(float64(max(r.Top, 0))))
	x1 := int(math.Ceil(float64(min(r.Right(), float32(fw)))))
	y1 := int(math.Ceil(float64(min(r.Bottom(), float32(fh)))))
	if x1 <= x0 || y1 <= y0 {
		return region{}, false
	}
	return region{x0, y0, x1 - x0, y1 - y0}, true
}

// geometry is where roi lands in the network input: scaled to dw×dh at
// (padX, padY) (stretched, or letterboxed with maintain-aspect-ratio),
// and the transform back to the frame. The CPU and GPU preprocessors
// share it.
func (p *preprocessor) geometry(roi region) (dw, dh, padX, padY int, t xform) {
	dw, dh = p.w, p.h
	if p.keep {
		r := min(float64(p.w)/float64(roi.w), float64(p.h)/float64(roi.h))
		dw = min(max(int(math.Round(float64(roi.w)*r)), 1), p.w)
		dh = min(max(int(math.Round(float64(roi.h)*r)), 1), p.h)
		if p.symmetric {
			padX, padY = (p.w-dw)/2, (p.h-dh)/2
		}
	}
	t = xform{
		sx: float32(roi.w) / float32(dw), sy: float32(roi.h) / float32(dh),
		padX: float32(padX), padY: float32(padY),
		left: float32(roi.x), top: float32(roi.y),
		right: float32(roi.x + roi.w), bot: float32(roi.y + roi.h),
	}
	return dw, dh, padX, padY, t
}

// pixel is an input tensor's element type: float32, or uint8 for models
// that take bytes (and convert on the device).
type pixel interface{ float32 | uint8 }

// fill writes region roi of surface s into dst, one image slot of a
// float32 input tensor (w×h×c values).
func (p *preprocessor) fill(dst []float32, s *media.Surface, roi region) (xform, error) {
	return fillSlot(p, dst, s, roi, 0)
}

// fill8 is fill for uint8 inputs (net-scale-factor 1, no offsets):
// values are rounded to the nearest byte.
func (p *preprocessor) fill8(dst []byte, s *media.Surface, roi region) (xform, error) {
	return fillSlot(p, dst, s, roi, 0.5)
}

// fillSlot is fill for either element type; bias is added before the
// conversion (0.5 rounds bytes).
func fillSlot[T pixel](p *preprocessor, dst []T, s *media.Surface, roi region, bias float32) (xform, error) {
	sc := s.Format.Channels()
	if sc == 0 {
		return xform{}, fmt.Errorf("infer needs RGB, RGBA or GRAY8 frames (the batcher's formats), got %v", s.Format)
	}
	if roi.w <= 0 || roi.h <= 0 || roi.x < 0 || roi.y < 0 || roi.x+roi.w > s.Width || roi.y+roi.h > s.Height {
		return xform{}, fmt.Errorf("region %+v outside the %dx%d frame", roi, s.Width, s.Height)
	}
	if err := s.Check(); err != nil {
		return xform{}, err
	}
	plane := p.w * p.h
	if len(dst) < plane*p.c {
		return xform{}, fmt.Errorf("input slot of %d values, need %d", len(dst), plane*p.c)
	}
	dw, dh, padX, padY, t := p.geometry(roi)
	if dw < p.w || dh < p.h {
		pad(p, dst, bias)
	}
	// Column tables.
	fx := float64(roi.w) / float64(dw)
	for ox := 0; ox < dw; ox++ {
		x0, x1, wx := taps(ox, fx, roi.w, p.bilinear)
		p.x0[ox] = int32((roi.x + x0) * sc)
		p.x1[ox] = int32((roi.x + x1) * sc)
		p.xw[ox] = wx
	}
	fy := float64(roi.h) / float64(dh)
	src := p.src
	if sc == 1 {
		src = [3]int{0, 0, 0}
	}
	luma := p.gray && sc >= 3
	base := s.Data[s.Offsets[0]:]
	for oy := 0; oy < dh; oy++ {
		y0, y1, wy := taps(oy, fy, roi.h, p.bilinear)
		r0 := base[(roi.y+y0)*s.Strides[0]:]
		r1 := base[(roi.y+y1)*s.Strides[0]:]
		ty := oy + padY
		if p.c == 3 && sc >= 3 && !luma {
			row3(p, dst, r0, r1, wy, ty, padX, dw, bias)
			continue
		}
		for ox := 0; ox < dw; ox++ {
			a, b, wx := p.x0[ox], p.x1[ox], p.xw[ox]
			tx := ox + padX
			if luma {
				r := lerp2(r0, r1, a, b, wx, wy)
				g := lerp2(r0, r1, a+1, b+1, wx, wy)
				bl := lerp2(r0, r1, a+2, b+2, wx, wy)
				v := 0.299*r + 0.587*g + 0.114*bl
				dst[ty*p.w+tx] = T(p.scale*(v-p.offsets[0]) + bias)
				continue
			}
			for c := 0; c < p.c; c++ {
				k := int32(src[c])
				v := lerp2(r0, r1, a+k, b+k, wx, wy)
				if p.nhwc {
					dst[(ty*p.w+tx)*p.c+c] = T(p.scale*(v-p.offsets[c]) + bias)
				} else {
					dst[c*plane+ty*p.w+tx] = T(p.scale*(v-p.offsets[c]) + bias)
				}
			}
		}
	}
	return t, nil
}

// row3 writes one row of a three-channel model from a source of three or
// more channels: the common case, written for speed.
func row3[T pixel](p *preprocessor, dst []T, r0, r1 []byte, wy float32, ty, padX, dw int, bias float32) {
	k0, k1, k2 := p.src[0], p.src[1], p.src[2]
	o0, o1, o2 := p.offsets[0], p.offsets[1], p.offsets[2]
	scale := p.scale
	x0, x1, xw := p.x0[:dw], p.x1[:dw], p.xw[:dw]
	var d0, d1, d2 []T
	step := 1
	if p.nhwc {
		row := dst[(ty*p.w+padX)*3 : (ty*p.w+padX+dw)*3]
		d0, d1, d2 = row, row[1:], row[2:]
		step = 3
	} else {
		plane := p.w * p.h
		o := ty*p.w + padX
		d0, d1, d2 = dst[o:o+dw], dst[plane+o:plane+o+dw], dst[2*plane+o:2*plane+o+dw]
	}
	for ox := range x0 {
		a, b, wx := int(x0[ox]), int(x1[ox]), xw[ox]
		pa, pb := r0[a:a+3:a+3], r0[b:b+3:b+3]
		qa, qb := r1[a:a+3:a+3], r1[b:b+3:b+3]
		i := ox * step
		d0[i] = T(scale*(bilerp(pa[k0], pb[k0], qa[k0], qb[k0], wx, wy)-o0) + bias)
		d1[i] = T(scale*(bilerp(pa[k1], pb[k1], qa[k1], qb[k1], wx, wy)-o1) + bias)
		d2[i] = T(scale*(bilerp(pa[k2], pb[k2], qa[k2], qb[k2], wx, wy)-o2) + bias)
	}
}

// bilerp interpolates between a and b (row 0) and c and d (row 1).
func bilerp(a, b, c, d byte, wx, wy float32) float32 {
	t := float32(a) + wx*(float32(b)-float32(a))
	u := float32(c) + wx*(float32(d)-float32(c))
	return t + wy*(u-t)
}

// lerp2 interpolates a channel between pixels a and b of rows r0 and r1.
func lerp2(r0, r1 []byte, a, b int32, wx, wy float32) float32 {
	t := float32(r0[a]) + wx*(float32(r0[b])-float32(r0[a]))
	if wy == 0 {
		return t
	}
	u := float32(r1[a]) + wx*(float32(r1[b])-float32(r1[a]))
	return t + wy*(u-t)
}

// taps returns the source pixels and weight for output pixel o when n
// source pixels are scaled by 1/f: bilinear with half-pixel centres, or
// nearest.
func taps(o int, f float64, n int, bilinear bool) (int, int, float32) {
	if !bilinear {
		i := min(int((float64(o)+0.5)*f), n-1)
		return i, i, 0
	}
	s := max((float64(o)+0.5)*f-0.5, 0)
	i := min(int(s), n-1)
	j := min(i+1, n-1)
	return i, j, float32(s - float64(i))
}

// pad fills a slot with the value a black pixel gets (DeepStream pads the
// scaled image with black before normalising).
func pad[T pixel](p *preprocessor, dst []T, bias float32) {
	plane := p.w * p.h
	for c := 0; c < p.c; c++ {
		v := T(p.scale*(0-p.offsets[c]) + bias)
		if p.nhwc {
			for i := c; i < plane*p.c; i += p.c {
				dst[i] = v
			}
		} else {
			d := dst[c*plane : (c+1)*plane]
			for i := range d {
				d[i] = v
			}
		}
	}
}

// inputMem is the memory of the input tensor: float32 values, or bytes
// for models that take uint8 pixels (the other is nil), per values an
// image.
type inputMem struct {
	f32 []float32
	u8  []byte
	per int
}

// fill scales roi of s into image i with p.
func (in inputMem) fill(p *preprocessor, i int, s *media.Surface, roi region) (xform, error) {
	if in.u8 != nil {
		return p.fill8(in.u8[i*in.per:(i+1)*in.per], s, roi)
	}
	return p.fill(in.f32[i*in.per:(i+1)*in.per], s, roi)
}

// fillAll preprocesses the images of a run into the input: in order on
// the runner's goroutine, or split among preprocess-workers goroutines
// (each with its own preprocessor) when there are several.
func (r *runner) fillAll(b *media.Buffer, slots []slot) error {
	if r.gpre != nil {
		return r.gpre.fill(b, slots, r.workers)
	}
	w := min(r.workers, len(slots))
	if w <= 1 {
		return r.fillRange(r.pre, b, slots, 0)
	}
	for len(r.pres) < w {
		r.pres = append(r.pres, newPreprocessor(r.cfg, r.plan.w, r.plan.h, r.plan.c, r.plan.nhwc))
	}
	errs := make([]error, w)
	var wg sync.WaitGroup
	per := (len(slots) + w - 1) / w
	for g := 0; g < w; g++ {
		lo, hi := g*per, min((g+1)*per, len(slots))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = r.fillRange(r.pres[g], b, slots[lo:hi], lo)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fillRange preprocesses slots, images first.. of the run, with pre.
func (r *runner) fillRange(pre *preprocessor, b *media.Buffer, slots []slot, first int) error {
	for k := range slots {
		s := &slots[k]
		surf, err := b.Surface(s.fm.BatchID)
		if err == nil && surf.OnDevice() {
			// A device frame preprocessed on the CPU (secondary mode, the
			// CPU provider): one host copy, counted.
			surf, err = b.Frame(s.fm.BatchID).HostSurface()
		}
		if err == nil {
			if surf.Width != s.fm.Width || surf.Height != s.fm.Height {
				err = fmt.Errorf("frame is %dx%d, its metadata says %dx%d", surf.Width, surf.Height, s.fm.Width, s.fm.Height)
			} else {
				s.t, err = r.in.fill(pre, first+k, surf, s.roi)
			}
		}
		if err != nil {
			return fmt.Errorf("frame %d of stream %d: %v", s.fm.FrameNumber, s.fm.SourceID, err)
		}
	}
	return nil
}
