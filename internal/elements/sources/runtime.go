package sources

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/internal/imgproc"
	"github.com/vidflow/vidflow/media"
)

// controls are a stream's settings that change while it runs, as
// DeepStream's REST API changes nvurisrcbin's decoder and nvvideoconvert:
// drop-frame-interval (read by the pull loop at each frame), and the
// conversion's src-crop, flip-method and interpolation-method, set on the
// GStreamer elements vfcrop, vfflip and vfscale of the running attempt and
// again on each new attempt (reconnection, file-loop). GStreamer applies
// them from its next buffer on.
type controls struct {
	drop atomic.Int32 // drop-frame-interval: keep one frame in N

	mu     sync.Mutex
	pl     *gst.Pipeline // the attempt's pipeline, nil between attempts
	conv   bool          // it has vfcrop, vfflip and vfscale (convert=cpu)
	framed bool          // its first frame came: the caps are known
	crop   *rect         // src-crop; nil: the whole frame
	dest   *rect         // dest-crop; nil: the whole frame (compose.go)
	w, h   int           // the size of the frames the stream gives, once known
	pool   *media.Pool   // dest-crop's frames
	scaler imgproc.Converter
	hasDst atomic.Bool // dest != nil, read at each frame without the lock
	skip   int         // dec-skip-frames: 0 every frame, 2 key frames only
	flip   int         // flip-method, DeepStream's numbering
	interp int         // interpolation-method, DeepStream's numbering
	set    map[string]bool
}

type rect struct{ left, top, width, height int }

func (r rect) String() string { return fmt.Sprintf("%d:%d:%d:%d", r.left, r.top, r.width, r.height) }

// flipToGst maps nvvideoconvert's flip-method (0 none, 1 counterclockwise,
// 2 rotate-180, 3 clockwise, 4 horizontal-flip, 5 upper-right-diagonal,
// 6 vertical-flip, 7 upper-left-diagonal) to videoflip's method.
var flipToGst = [8]int{0, 3, 2, 1, 4, 7, 5, 6}

// interpToGst maps nvvideoconvert's interpolation-method (0 nearest,
// 1 bilinear, 2 cubic, 3 super, 4 lanczos, 5 nicest, 6 default) to
// videoscale's method (0 nearest, 1 bilinear, 2 4-tap sinc, 5 sinc,
// 3 lanczos, 9 mitchell, 0 nearest as DeepStream's GPU default is).
var interpToGst = [7]int{0, 1, 2, 5, 3, 9, 0}

// SetProperty changes drop-frame-interval, src-crop ("left:top:width:height"
// in the decoded frame's pixels; "" or "0:0:0:0" for the whole frame),
// flip-method or interpolation-method while the stream runs.
func (s *source) SetProperty(name string, value any) error {
	c := &s.ctl
	name = element.NormalizeName(name)
	switch name {
	case "drop-frame-interval":
		n, err := element.ToInt(value)
		if err != nil || n < 0 || n > 30 {
			return fmt.Errorf("drop-frame-interval: %v is not 0..30", value)
		}
		c.drop.Store(int32(n))
		return nil
	case "dec-skip-frames", "skip-frames":
		return s.setSkip(value)
	case "src-crop", "flip-method", "interpolation-method":
	case "dest-crop":
		return s.setDest(value)
	default:
		return fmt.Errorf("property %q cannot change while running (drop-frame-interval, src-crop, flip-method and interpolation-method can)", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.cuda || s.device {
		return fmt.Errorf("property %q cannot change: this stream converts and scales on the GPU (convert=%s), where vidflow has no crop, flip or interpolation choice; use convert=cpu", name, s.cfg.String("convert"))
	}
	if !convElements() {
		return fmt.Errorf("property %q cannot change: GStreamer's videocrop and videoflip (gst-plugins-good) are missing here", name)
	}
	oldCrop, oldFlip, oldInterp := c.crop, c.flip, c.interp
	switch name {
	case "src-crop":
		r, err := parseCrop(fmt.Sprint(value))
		if err != nil {
			return err
		}
		c.crop = r
	case "flip-method":
		n, err := element.ToInt(value)
		if err != nil || n < 0 || n > 7 {
			return fmt.Errorf("flip-method: %v is not 0..7", value)
		}
		c.flip = n
	case "interpolation-method":
		n, err := element.ToInt(value)
		if err != nil || n < 0 || n > 6 {
			return fmt.Errorf("interpolation-method: %v is not 0..6", value)
		}
		c.interp = n
	}
	if err := c.apply(name); err != nil {
		c.crop, c.flip, c.interp = oldCrop, oldFlip, oldInterp
		return err
	}
	if c.set == nil {
		c.set = map[string]bool{}
	}
	c.set[name] = true
	return nil
}

// Property reads back drop-frame-interval, and src-crop, flip-method and
// interpolation-method from the GStreamer elements when the stream runs.
func (s *source) Property(name string) (any, error) {
	c := &s.ctl
	name = element.NormalizeName(name)
	if name == "drop-frame-interval" {
		return int(c.drop.Load()), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if name == "dec-skip-frames" || name == "skip-frames" {
		return c.skip, nil
	}
	live := c.pl != nil && c.conv
	switch name {
	case "dest-crop":
		if c.dest == nil {
			return "0:0:0:0", nil
		}
		return c.dest.String(), nil
	case "src-crop":
		if !live || !c.framed {
			if c.crop == nil {
				return "0:0:0:0", nil
			}
			return c.crop.String(), nil
		}
		w, h, err := c.inputSize()
		if err != nil {
			return nil, err
		}
		var m [4]int
		for i, side := range []string{"left", "top", "right", "bottom"} {
			v, err := c.pl.GetProperty("vfcrop", side)
			if err != nil {
				return nil, err
			}
			m[i], _ = strconv.Atoi(v)
		}
		if m == [4]int{} {
			return "0:0:0:0", nil
		}
		return rect{m[0], m[1], w - m[0] - m[2], h - m[1] - m[3]}.String(), nil
	case "flip-method", "interpolation-method":
		if !live {
			if name == "flip-method" {
				return c.flip, nil
			}
			return c.interp, nil
		}
		elem, table := "vfflip", flipToGst[:]
		if name == "interpolation-method" {
			elem, table = "vfscale", interpToGst[:]
		}
		v, err := c.pl.GetProperty(elem, "method")
		if err != nil {
			return nil, err
		}
		n, _ := strconv.Atoi(v)
		// The number DeepStream names it by: the one set when two map to
		// the same GStreamer method.
		want := c.flip
		if name == "interpolation-method" {
			want = c.interp
		}
		if table[want] == n {
			return want, nil
		}
		for ds, g := range table {
			if g == n {
				return ds, nil
			}
		}
		return nil, fmt.Errorf("%s: GStreamer's %s has method %d, which DeepStream has no number for", name, elem, n)
	}
	return nil, fmt.Errorf("property %q cannot be read while running", name)
}

func parseCrop(v string) (*rect, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ":")
	if len(parts) != 4 {
		return nil, fmt.Errorf("crop %q is not left:top:width:height", v)
	}
	var n [4]int
	for i, p := range parts {
		x, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || x < 0 {
			return nil, fmt.Errorf("crop %q: left, top, width and height are whole numbers, not negative", v)
		}
		n[i] = x
	}
	if n == [4]int{} {
		return nil, nil // DeepStream's "0:0:0:0": no crop
	}
	if n[2] == 0 || n[3] == 0 {
		return nil, fmt.Errorf("crop %q: width and height must be positive", v)
	}
	return &rect{n[0], n[1], n[2], n[3]}, nil
}

// attach is called with an attempt's pipeline before it plays: the
// settings made so far go to its elements.
func (c *controls) attach(pl *gst.Pipeline, conv bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pl, c.conv, c.framed = pl, conv, false
	if !conv {
		return nil
	}
	for _, name := range []string{"flip-method", "interpolation-method"} {
		if c.set[name] {
			if err := c.apply(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// detach forgets the attempt's pipeline before it closes.
func (c *controls) detach() {
	c.mu.Lock()
	c.pl = nil
	c.mu.Unlock()
}

// firstFrame is called at each frame of the pull loop; at an attempt's
// first, the caps are known and a src-crop can be turned into margins.
func (c *controls) firstFrame() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.framed || c.pl == nil {
		return
	}
	c.framed = true
	if c.skip != 0 {
		_ = c.applySkip() // a stream of raw video has no decoder to skip frames of
	}
	if c.conv && c.crop != nil {
		_ = c.apply("src-crop") // checked when set: a new attempt of the same stream has the same size
	}
}

// apply sets one setting on the running elements (c.mu held); before the
// pipeline plays, or before its first frame for src-crop, it waits for
// attach and firstFrame.
func (c *controls) apply(name string) error {
	if c.pl == nil || !c.conv {
		return nil
	}
	switch name {
	case "flip-method":
		return c.pl.SetProperty("vfflip", "method", flipToGst[c.flip])
	case "interpolation-method":
		return c.pl.SetProperty("vfscale", "method", interpToGst[c.interp])
	}
	if !c.framed {
		return nil
	}
	w, h, err := c.inputSize()
	if err != nil {
		return err
	}
	m := [4]int{} // left, top, right, bottom
	if r := c.crop; r != nil {
		if r.left+r.width > w || r.top+r.height > h {
			return fmt.Errorf("src-crop %s is outside the stream's %dx%d frame", r, w, h)
		}
		m = [4]int{r.left, r.top, w - r.left - r.width, h - r.top - r.height}
	}
	for i, side := range []string{"left", "top", "right", "bottom"} {
		if err := c.pl.SetProperty("vfcrop", side, m[i]); err != nil {
			return err
		}
	}
	return nil
}

var capsSize = regexp.MustCompile(`width=\(int\)(\d+), height=\(int\)(\d+)`)

// inputSize is the decoded frame's size, as vfcrop takes it.
func (c *controls) inputSize() (w, h int, err error) {
	caps, err := c.pl.PadCaps("vfcrop", "sink")
	if err != nil {
		return 0, 0, err
	}
	m := capsSize.FindStringSubmatch(caps)
	if m == nil {
		return 0, 0, fmt.Errorf("the stream's frame size is not known yet (caps %q)", caps)
	}
	w, _ = strconv.Atoi(m[1])
	h, _ = strconv.Atoi(m[2])
	return w, h, nil
}

// setSkip changes dec-skip-frames: 2 drops the compressed frames that are
// not key frames before the stream's decoder, 0 decodes every frame again
// from the next key frame.
func (s *source) setSkip(value any) error {
	n, err := element.ToInt(value)
	if err != nil || n < 0 || n > 2 {
		return fmt.Errorf("dec-skip-frames: %v is not 0..2", value)
	}
	if n == 1 {
		return fmt.Errorf("dec-skip-frames 1 (skip non-reference frames) cannot change: GStreamer's parsers do not mark non-reference frames, " +
			"so vidflow cannot tell them; 2 (key frames only) and 0 (all) can")
	}
	c := &s.ctl
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.skip
	c.skip = n
	if err := c.applySkip(); err != nil {
		c.skip = old
		return err
	}
	return nil
}

// applySkip sets dec-skip-frames on the attempt's decoders, once they
// exist (c.mu held).
func (c *controls) applySkip() error {
	if c.pl == nil || !c.framed {
		return nil // at the attempt's first frame
	}
	n, err := c.pl.DecodeKeyFramesOnly(c.skip == 2)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("dec-skip-frames cannot change: this stream has no video decoder (it gives raw video)")
	}
	return nil
}

// convElements reports whether GStreamer has the elements of a CPU
// capture's run-time conversion (vfcrop, vfflip): without them streams
// are captured as before, and only the conv/* settings are refused.
func convElements() bool { return gst.HasFactory("videocrop") && gst.HasFactory("videoflip") }
