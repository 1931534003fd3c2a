// Package output holds the sinks that hand frames to GStreamer: a window
// (RenderDisplay), encoders to files, UDP and RTSP (Encode, RenderStream),
// and any GStreamer description fed raw frames (kind gstsink).
package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

func registerGstsink(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind: "gstsink",
		Doc: "Feeds raw frames (one-frame batches: tile batches first) to a GStreamer description " +
			"(\"videoconvert ! x264enc ! mp4mux ! filesink location=out.mp4\") through an appsrc; at end-of-stream " +
			"it waits until GStreamer has finished (files are complete).",
		Role: element.RoleSink,
		Props: []element.PropSpec{
			{Name: "description", Type: element.String, Doc: "gst-launch description after the appsrc"},
			{Name: "framerate", Type: element.Float, Default: 30.0, Doc: "frame rate announced in the caps"},
			{Name: "sync", Type: element.Bool, Default: false, Doc: "GStreamer sinks play at the timestamps' pace"},
			{Name: "async", Type: element.Bool, Default: false, Ignored: true},
			{Name: "qos", Type: element.Bool, Default: false, Ignored: true},
		},
		New: func(c *element.Config) (element.Element, error) {
			if c.String("description") == "" {
				return nil, errors.New(`property "description" is required`)
			}
			return newSink(c.String("description"), c.Float("framerate"))
		},
	})
}

// Sink pushes frames into a GStreamer pipeline "appsrc ! <Desc>".
type Sink struct {
	Desc      string
	Framerate float64
	// Ready, if set, is called once the GStreamer pipeline plays.
	Ready func()
	// Even crops odd frame sizes by their last column and row: H.264 and
	// H.265 encoders take 4:2:0 pictures of even sizes only (x264 fails
	// with "Can not initialize x264 encoder" otherwise).
	Even bool

	enc     *encoderControl // an encoder's run-time settings (encctl.go); nil for none
	pl      *gst.Pipeline
	src     *gst.AppSrc
	last    time.Duration // timestamp of the last frame pushed
	pushed  bool
	format  media.ColorFormat
	w, h    int
	scratch []byte
}

// Run implements element.Element.
func (s *Sink) Run(ctx context.Context, p element.Ports) error {
	defer func() {
		if s.enc != nil {
			s.enc.detach()
		}
		if s.pl != nil {
			s.pl.Close()
		}
	}()
	for {
		it, err := p.Recv()
		if err != nil {
			if s.pl != nil {
				s.finish(3 * time.Second) // complete the file on Stop
			}
			return err
		}
		if it.Buf == nil {
			if it.Event == element.EventEOS {
				if s.pl == nil {
					return nil
				}
				return s.finish(time.Minute)
			}
			continue
		}
		start := time.Now()
		first := s.pl == nil
		err = s.push(it.Buf)
		it.Buf.Release()
		if err != nil {
			return err
		}
		if first {
			if enc := encoderIn(s.Desc); enc != "" {
				p.Info("encoding with %s", enc)
			}
			if r, b := s.crop(); r+b > 0 {
				p.Warn("%dx%d frames are encoded as %dx%d: the encoder needs even sizes", s.w, s.h, s.w-r, s.h-b)
			}
		}
		p.Observe(time.Since(start))
	}
}

func (s *Sink) push(b *media.Buffer) error {
	if b.BatchSize() != 1 {
		return fmt.Errorf("got a batch of %d frames: tile it into one first (Render and Encode do)", b.BatchSize())
	}
	f := b.Frame(0)
	if s.pl == nil {
		if err := s.start(f); err != nil {
			return err
		}
	} else if f.Format != s.format || f.Width != s.w || f.Height != s.h {
		return fmt.Errorf("frame changed from %v %dx%d to %v %dx%d", s.format, s.w, s.h, f.Format, f.Width, f.Height)
	}
	if err := s.pl.Err(); err != nil {
		return err
	}
	src, err := f.HostSurface() // a frame in GPU memory: one download
	if err != nil {
		return err
	}
	if s.enc != nil {
		if err := s.enc.beforeFrame(); err != nil {
			return err
		}
	}
	data := gstLayout(src, &s.scratch)
	// Muxers want increasing timestamps; batches of streams that started
	// at different times may step back.
	dur := time.Duration(float64(time.Second) / s.Framerate)
	pts := b.Timestamp()
	if s.pushed && pts <= s.last {
		pts = s.last + dur
	}
	s.last, s.pushed = pts, true
	if err := s.src.Push(data, pts, dur); err != nil {
		if perr := s.pl.Err(); perr != nil {
			return perr
		}
		return err
	}
	return nil
}

func (s *Sink) start(f *media.Frame) error {
	if !f.Format.Raw() {
		return fmt.Errorf("frames of format %v cannot be sent to GStreamer", f.Format)
	}
	s.format, s.w, s.h = f.Format, f.Width, f.Height
	fps := fmt.Sprintf("%d/1000", int(s.Framerate*1000+0.5))
	caps := fmt.Sprintf("video/x-raw,format=%v,width=%d,height=%d,framerate=%s", f.Format, f.Width, f.Height, fps)
	desc := s.Desc
	if r, b := s.crop(); r+b > 0 {
		desc = fmt.Sprintf("videocrop right=%d bottom=%d ! %s", r, b, desc)
	}
	pl, err := gst.Launch(fmt.Sprintf("appsrc name=vfsrc format=time caps=%q ! queue max-size-buffers=4 ! %s", caps, desc))
	if err != nil {
		return err
	}
	s.pl = pl
	if s.src, err = pl.AppSrc("vfsrc"); err != nil {
		return err
	}
	if s.enc != nil {
		if err := s.enc.attach(pl, s.src); err != nil {
			return err
		}
	}
	if err := pl.Play(); err != nil {
		return err
	}
	if s.Ready != nil {
		s.Ready()
	}
	return nil
}

// crop is the columns and rows Even takes off the frames.
func (s *Sink) crop() (right, bottom int) {
	if !s.Even {
		return 0, 0
	}
	return s.w & 1, s.h & 1
}

// finish sends end-of-stream and waits (up to limit) for GStreamer to
// drain it, so that files are complete.
func (s *Sink) finish(limit time.Duration) error {
	if err := s.src.EndOfStream(); err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		m, ok := s.pl.PopMessage(100 * time.Millisecond)
		if !ok {
			continue
		}
		switch m.Type {
		case gst.MessageEOS:
			return nil
		case gst.MessageError:
			return m.Err()
		}
	}
	return fmt.Errorf("GStreamer did not finish within %v after end-of-stream", limit)
}

// gstLayout returns the frame's pixels in GStreamer's default layout
// (rows padded to 4 bytes), repacking into scratch when they differ.
func gstLayout(s *media.Surface, scratch *[]byte) []byte {
	up4 := func(n int) int { return (n + 3) &^ 3 }
	up2 := func(n int) int { return (n + 1) &^ 1 }
	w, h := s.Width, s.Height
	var strides, offsets [3]int
	var size int
	switch s.Format {
	case media.RGB, media.RGBA, media.GRAY8:
		strides[0] = up4(w * s.Format.Channels())
		size = strides[0] * h
	case media.I420:
		cw, ch := up2(w)/2, up2(h)/2
		strides = [3]int{up4(w), up4(cw), up4(cw)}
		offsets = [3]int{0, strides[0] * up2(h), strides[0]*up2(h) + strides[1]*ch}
		size = offsets[2] + strides[2]*ch
	case media.NV12:
		strides = [3]int{up4(w), up4(w), 0}
		offsets = [3]int{0, strides[0] * up2(h), 0}
		size = offsets[1] + strides[1]*up2(h)/2
	}
	if s.Strides == strides && s.Offsets == offsets && len(s.Data) == size {
		return s.Data
	}
	if cap(*scratch) < size {
		*scratch = make([]byte, size)
	}
	out := (*scratch)[:size]
	dst := media.Surface{Format: s.Format, Width: w, Height: h, Data: out, Strides: strides, Offsets: offsets}
	for pl := 0; pl < s.Planes(); pl++ {
		rows, rowLen := h, w*max(1, s.Format.Channels())
		if pl > 0 {
			rows, rowLen = (h+1)/2, (w+1)/2
			if s.Format == media.NV12 {
				rowLen = 2 * ((w + 1) / 2)
			}
		}
		for y := 0; y < rows; y++ {
			copy(out[dst.Offsets[pl]+y*dst.Strides[pl]:][:rowLen], s.Data[s.Offsets[pl]+y*s.Strides[pl]:][:rowLen])
		}
	}
	return out
}
