package sinks

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gst"
)

// encoderName is the GStreamer name of the encoder in Encoder's
// descriptions, for changing it while it runs.
const encoderName = "vfenc"

// gopCeiling is the encoder's own key-frame interval when the sink
// decides the key frames (encoderControl): longer than any interval the
// sink is asked for, so that the interval can grow while it runs (x264,
// x265 and NVENC take a new key-int-max / gop-size only when stopped).
const gopCeiling = 1 << 30

// maxKbps is the largest bitrate each encoder takes, in kbit/s.
var maxKbps = map[string]int{"x264enc": 2048000, "x265enc": 102400, "nvh264enc": 2048000, "nvh265enc": 2048000}

// encoderControl is an encoding sink's encoder as DeepStream's REST API
// changes it (enc/bitrate, enc/force-idr, enc/force-intra,
// enc/iframe-interval): the bitrate is set on the GStreamer encoder at
// once (x264enc, x265enc and NVENC take it while playing); key frames are
// the sink's to decide: one every iframeinterval frames and one when asked
// for, by GStreamer's force-key-unit event sent before the frame is
// pushed.
type encoderControl struct {
	factory string // x264enc, x265enc, nvh264enc, nvh265enc

	mu      sync.Mutex
	pl      *gst.Pipeline // nil before the first frame and after the end
	src     *gst.AppSrc   // its appsrc, where key frames are asked for
	bitrate int           // bits/s
	every   int           // a key frame every N frames; 0: the encoder's own
	since   int           // frames since the last key frame the sink asked for
	force   bool          // a key frame asked for, on the next frame
	started bool          // the first frame was pushed (a key frame anyway)
	dirty   bool          // bitrate set before the pipeline was there
}

func newEncoderControl(desc string, bitrate, every int) *encoderControl {
	c := &encoderControl{bitrate: bitrate, every: every}
	for _, f := range strings.Fields(desc) {
		if _, ok := maxKbps[f]; ok {
			c.factory = f
			break
		}
	}
	return c
}

// SetProperty changes the encoder while it runs: bitrate (bits/s),
// iframeinterval (frames), force-idr and force-intra (true: the next frame
// is a key frame; H.264's and H.265's key frames are IDR frames, which are
// intra frames as well).
func (s *Sink) SetProperty(name string, value any) error { return s.enc.set(name, value) }

// Property reads back bitrate (bits/s, from the GStreamer encoder once it
// runs) and iframeinterval.
func (s *Sink) Property(name string) (any, error) { return s.enc.get(name) }

// SetProperty changes the RTSP output's encoder as Sink.SetProperty does.
func (s *rtspSink) SetProperty(name string, value any) error { return s.ctl.set(name, value) }

// Property reads back the RTSP output's encoder as Sink.Property does.
func (s *rtspSink) Property(name string) (any, error) { return s.ctl.get(name) }

func (c *encoderControl) set(name string, value any) error {
	if c == nil || c.factory == "" {
		return fmt.Errorf("property %q cannot change: this sink has no H.264/H.265 encoder", name)
	}
	name = element.NormalizeName(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch name {
	case "bitrate":
		n, err := element.ToInt(value)
		kbps := n / 1000
		if err != nil || kbps < 1 || kbps > maxKbps[c.factory] {
			return fmt.Errorf("bitrate %v: %s takes 1000 to %d bits/s", value, c.factory, maxKbps[c.factory]*1000)
		}
		if c.pl != nil {
			if err := c.pl.SetProperty(encoderName, "bitrate", kbps); err != nil {
				return err
			}
		}
		c.bitrate, c.dirty = n, c.pl == nil
	case "iframeinterval", "iframe-interval":
		n, err := element.ToInt(value)
		if err != nil || n < 1 || n >= gopCeiling {
			return fmt.Errorf("iframeinterval %v: want 1 to %d frames", value, gopCeiling-1)
		}
		if c.every == 0 {
			return fmt.Errorf("property %q cannot change: this sink started with iframeinterval 0 (the encoder's own key frames); give it one at start", name)
		}
		c.every = n // from the last key frame on
	case "force-idr", "force-intra":
		on, err := element.ToBool(value)
		if err != nil {
			return fmt.Errorf("%s %v: want true or 1", name, value)
		}
		c.force = c.force || on
	default:
		return fmt.Errorf("property %q cannot change while running (bitrate, iframeinterval, force-idr and force-intra can)", name)
	}
	return nil
}

func (c *encoderControl) get(name string) (any, error) {
	if c == nil || c.factory == "" {
		return nil, fmt.Errorf("property %q: this sink has no H.264/H.265 encoder", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch element.NormalizeName(name) {
	case "bitrate":
		if c.pl == nil {
			return c.bitrate, nil
		}
		v, err := c.pl.GetProperty(encoderName, "bitrate")
		if err != nil {
			return nil, err
		}
		kbps, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("bitrate: GStreamer's %s says %q", c.factory, v)
		}
		return kbps * 1000, nil
	case "iframeinterval", "iframe-interval":
		return c.every, nil
	}
	return nil, fmt.Errorf("property %q cannot be read while running (bitrate and iframeinterval can)", name)
}

// attach is called with the GStreamer pipeline before it plays: a bitrate
// set before the first frame goes to the encoder.
func (c *encoderControl) attach(pl *gst.Pipeline, src *gst.AppSrc) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pl, c.src = pl, src
	if c.factory == "" || !c.dirty {
		return nil
	}
	return pl.SetProperty(encoderName, "bitrate", max(c.bitrate/1000, 1))
}

func (c *encoderControl) detach() {
	c.mu.Lock()
	c.pl, c.src = nil, nil
	c.mu.Unlock()
}

// beforeFrame is called before each frame is pushed: it asks the encoder
// for a key frame when one is due: the event goes in order with the
// frames, so the key frame is this frame.
func (c *encoderControl) beforeFrame() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pl == nil || c.factory == "" {
		return nil
	}
	if !c.started { // the first frame is a key frame without being asked
		c.started, c.force, c.since = true, false, 1
		return nil
	}
	if !c.force && (c.every == 0 || c.since < c.every) {
		c.since++
		return nil
	}
	c.force, c.since = false, 1
	return c.src.ForceKeyUnit()
}
