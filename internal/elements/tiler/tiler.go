// Package tiler holds the multi-stream tiler (DeepStream's
// nvmultistreamtiler): it composes the frames of a batch into one frame,
// a grid of tiles, one per stream, each frame scaled bilinearly into its
// tile; objects' boxes and display elements are scaled and moved with it.
//
// The output is a batch of one frame (SourceID 0, FrameNumber counting the
// tiler's outputs, PTS the batch's) whose metadata holds every object and
// display element of the batch in tiled coordinates. Objects keep all
// their own metadata (class, label, track id, ...), but which stream an
// object came from is no longer recorded: the tiler goes last, before the
// OSD and the sink, as in DeepStream. Font sizes and line widths are not
// scaled, so texts stay readable on small tiles.
package tiler

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/imgproc"
	"github.com/vidflow/vidflow/media"
)

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvmultistreamtiler",
		Aliases: []string{"tiler"},
		Doc: "Composes a batch into one frame: a grid of rows × columns tiles, stream k in tile k, each frame " +
			"scaled bilinearly, boxes and display elements with it.",
		Role: element.RoleTransform,
		Props: []element.PropSpec{
			{Name: "rows", Type: element.Int, Default: 0, Doc: "grid rows; 0 = from the number of streams"},
			{Name: "columns", Type: element.Int, Default: 0, Doc: "grid columns; 0 = from the number of streams (about square)"},
			{Name: "width", Type: element.Int, Default: 1920, Doc: "output width"},
			{Name: "height", Type: element.Int, Default: 1080, Doc: "output height"},
			{Name: "show-source", Type: element.Int, Default: -1, Doc: "show only this stream, full size; -1 shows all"},
			{Name: "buffer-pool-size", Type: element.Int, Default: 4, Doc: "tiled frames in flight"},
			{Name: "gpu-id", Type: element.Int, Default: 0, Ignored: true},
			{Name: "compute-hw", Type: element.Int, Default: 0, Ignored: true},
			{Name: "nvbuf-memory-type", Type: element.Int, Default: 0, Ignored: true},
		},
		New: newTiler,
	})
}

type tiler struct {
	rows, cols, w, h, show, poolSize int
}

func newTiler(c *element.Config) (element.Element, error) {
	t := &tiler{rows: c.Int("rows"), cols: c.Int("columns"), w: c.Int("width"), h: c.Int("height"),
		show: c.Int("show-source"), poolSize: c.Int("buffer-pool-size")}
	switch {
	case t.rows < 0 || t.cols < 0 || t.rows > 64 || t.cols > 64:
		return nil, fmt.Errorf("rows and columns must be 0..64, got %d×%d", t.rows, t.cols)
	case t.w < 16 || t.h < 16 || t.w > 16384 || t.h > 16384:
		return nil, fmt.Errorf("size %dx%d out of range (16..16384)", t.w, t.h)
	case t.show < -1:
		return nil, fmt.Errorf("property \"show-source\" must be -1 or a stream, got %d", t.show)
	case t.poolSize < 1:
		return nil, fmt.Errorf("property \"buffer-pool-size\" must be at least 1")
	}
	return t, nil
}

// Grid returns the rows and columns for n streams when rows or cols is 0:
// columns = ceil(sqrt(n)), rows = enough for n.
func Grid(rows, cols, n int) (int, int) {
	n = max(n, 1)
	switch {
	case rows > 0 && cols > 0:
	case cols > 0:
		rows = (n + cols - 1) / cols
	case rows > 0:
		cols = (n + rows - 1) / rows
	default:
		cols = int(math.Ceil(math.Sqrt(float64(n))))
		rows = (n + cols - 1) / cols
	}
	return rows, cols
}

// run is one run's state.
type run struct {
	*tiler
	p       element.Ports
	pool    *media.Pool
	conv    imgproc.Converter
	streams int // highest SourceID seen + 1
	count   int64
	drawn   []bool
	gt      *gpuTiles // batches in GPU memory, composed there (gpu.go)
	noGPU   bool      // the GPU path failed once: host copies from then on
}

func (t *tiler) Run(ctx context.Context, p element.Ports) error {
	r := &run{tiler: t, p: p}
	defer func() { r.gt.close() }()
	for {
		it, err := p.Recv()
		if err != nil {
			return err
		}
		if it.Buf != nil {
			start := time.Now()
			out, err := r.compose(ctx, it.Buf)
			it.Buf.Release()
			if err != nil {
				return err
			}
			p.Observe(time.Since(start))
			it.Buf = out
		}
		if err := p.Emit(it); err != nil {
			return err
		}
		if it.Event == element.EventEOS {
			return nil
		}
	}
}

// tile is where a stream goes: the rectangle [x, x+w)×[y, y+h).
type tile struct{ x, y, w, h int }

func (r *run) layout(n int) (rows, cols int) {
	if r.show >= 0 {
		return 1, 1
	}
	return Grid(r.rows, r.cols, n)
}

// slot is the tile index of a stream; ok is false for streams not shown.
func (r *run) slot(source, rows, cols int) (int, bool) {
	if r.show >= 0 {
		return 0, source == r.show
	}
	return source, source >= 0 && source < rows*cols
}

// tileAt is the rectangle of tile k.
func (r *run) tileAt(k, rows, cols int) tile {
	row, col := k/cols, k%cols
	x0, x1 := col*r.w/cols, (col+1)*r.w/cols
	y0, y1 := row*r.h/rows, (row+1)*r.h/rows
	return tile{x0, y0, x1 - x0, y1 - y0}
}

func (r *run) compose(ctx context.Context, b *media.Buffer) (*media.Buffer, error) {
	meta := b.Meta()
	if b.BatchSize() == 0 {
		return nil, fmt.Errorf("empty batch")
	}
	format := b.Frame(0).Format
	if format.Raw() && format.Channels() == 0 {
		format = media.RGB // NV12 or I420 frames: tiled in RGB
	}
	if format.Channels() == 0 {
		return nil, fmt.Errorf("cannot tile %v frames: batch them as RGB, RGBA or GRAY8", format)
	}
	if r.pool == nil || !r.pool.Matches(format, r.w, r.h) {
		r.pool = media.NewPool(r.p.Name(), format, r.w, r.h, r.poolSize)
		r.p.AddPool(r.pool)
	}
	out, err := r.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	r.streams = max(r.streams, b.BatchSize())
	for _, fm := range meta.Frames {
		r.streams = max(r.streams, fm.SourceID+1)
	}
	rows, cols := r.layout(r.streams)
	if cap(r.drawn) < rows*cols {
		r.drawn = make([]bool, rows*cols)
	}
	drawn := r.drawn[:rows*cols]
	clear(drawn)
	om := &media.FrameMeta{FrameNumber: r.count, PTS: b.Timestamp(), Width: r.w, Height: r.h, SourceWidth: r.w, SourceHeight: r.h}
	r.count++
	onGPU := r.useGPU(b, format)
	for i, fm := range meta.Frames {
		if i >= b.BatchSize() {
			break
		}
		k, ok := r.slot(fm.SourceID, rows, cols)
		if !ok {
			continue
		}
		tl := r.tileAt(k, rows, cols)
		f := b.Frame(i)
		if f.Format != format && !(f.Format.Raw() && f.Format.Channels() == 0) {
			out.Unref()
			return nil, fmt.Errorf("frames of one batch in different formats (%v and %v)", format, f.Format)
		}
		dst := out.Surface
		dst.Width, dst.Height = tl.w, tl.h
		dst.Offsets[0] = tl.y*dst.Strides[0] + tl.x*format.Channels()
		var err error
		if onGPU {
			err = r.gt.draw(f, tl)
		} else {
			var src *media.Surface
			if src, err = f.HostSurface(); err == nil { // a frame in GPU memory: one download
				err = r.conv.Convert(&dst, src)
			}
		}
		if err != nil {
			out.Unref()
			return nil, err
		}
		drawn[k] = true
		if om.NTPTimestamp.IsZero() || (!fm.NTPTimestamp.IsZero() && fm.NTPTimestamp.Before(om.NTPTimestamp)) {
			om.NTPTimestamp = fm.NTPTimestamp
		}
		sx, sy := float32(tl.w)/float32(f.Width), float32(tl.h)/float32(f.Height)
		move(fm, om, float32(tl.x), float32(tl.y), sx, sy)
	}
	if onGPU {
		if err := r.gt.finish(out); err != nil {
			out.Unref()
			return nil, err
		}
	}
	// Tiles without a frame in this batch are black.
	for k, d := range drawn {
		if !d {
			clearTile(&out.Surface, r.tileAt(k, rows, cols))
		}
	}
	nb := media.NewBatch([]*media.Frame{out}, &media.BatchMeta{Frames: []*media.FrameMeta{om}, User: meta.User})
	nb.SetTimestamp(b.Timestamp())
	return nb, nil
}

// move scales a frame's objects and display elements by (sx, sy), shifts
// them by (ox, oy), and appends them to the tiled frame's metadata.
func move(fm, om *media.FrameMeta, ox, oy, sx, sy float32) {
	for _, o := range fm.Objects {
		if o == nil {
			continue
		}
		o.Rect = media.Rect{Left: ox + o.Rect.Left*sx, Top: oy + o.Rect.Top*sy, Width: o.Rect.Width * sx, Height: o.Rect.Height * sy}
		om.Objects = append(om.Objects, o)
	}
	ix := func(x int) int { return int(math.Round(float64(ox) + float64(x)*float64(sx))) }
	iy := func(y int) int { return int(math.Round(float64(oy) + float64(y)*float64(sy))) }
	for _, d := range fm.Display {
		if d == nil {
			continue
		}
		for i := range d.Texts {
			t := &d.Texts[i]
			t.X, t.Y = ix(t.X), iy(t.Y)
		}
		for i := range d.Rects {
			rc := &d.Rects[i]
			rc.Left, rc.Top, rc.Width, rc.Height = ox+rc.Left*sx, oy+rc.Top*sy, rc.Width*sx, rc.Height*sy
		}
		for i := range d.Lines {
			l := &d.Lines[i]
			l.X1, l.Y1, l.X2, l.Y2 = ix(l.X1), iy(l.Y1), ix(l.X2), iy(l.Y2)
		}
		for i := range d.Arrows {
			a := &d.Arrows[i]
			a.X1, a.Y1, a.X2, a.Y2 = ix(a.X1), iy(a.Y1), ix(a.X2), iy(a.Y2)
		}
		for i := range d.Circles {
			c := &d.Circles[i]
			c.XC, c.YC = ix(c.XC), iy(c.YC)
			c.Radius = int(math.Round(float64(c.Radius) * float64(min(sx, sy))))
		}
		om.Display = append(om.Display, d)
	}
}

func clearTile(s *media.Surface, t tile) {
	ch := s.Format.Channels()
	for y := t.y; y < t.y+t.h && y < s.Height; y++ {
		row := s.Data[s.Offsets[0]+y*s.Strides[0]+t.x*ch : s.Offsets[0]+y*s.Strides[0]+(t.x+t.w)*ch]
		clear(row)
		if ch == 4 {
			for i := 3; i < len(row); i += 4 {
				row[i] = 255
			}
		}
	}
}

// useGPU reports whether batch b is composed on the GPU: every frame is in
// GPU memory and the kernel runs there. A GPU that cannot is said once,
// and the frames are then tiled from host copies.
func (r *run) useGPU(b *media.Buffer, format media.ColorFormat) bool {
	if r.noGPU || !b.Frame(0).OnDevice() || !onDevice(b, b.Frame(0).CUDA.Device) {
		return false
	}
	if r.gt.fits(b, format, r.w, r.h) {
		return true
	}
	r.gt.close()
	gt, err := newGPUTiles(b.Frame(0).CUDA.Device, format, r.w, r.h)
	if err != nil {
		r.gt, r.noGPU = nil, true
		r.p.Warn("tiling frames in GPU memory from host copies of each (the GPU tiler cannot run: %v)", err)
		return false
	}
	r.gt = gt
	return true
}
