// Package source holds the elements that start streams: Inject's app source
// fed by a user's BufferProvider, and the synthetic test source.
package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // JPEG input
	_ "image/png"  // PNG input
	"io"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

func registerInject(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind: "appsrc",
		Doc:  "A stream whose frames a BufferProvider generates (Flow.Inject).",
		Role: element.RoleSource,
		Props: []element.PropSpec{
			{Name: "is-live", Type: element.Bool, Default: false, Doc: "pace frames at the provider's framerate"},
			{Name: "do-timestamp", Type: element.Bool, Default: true, Ignored: true, Doc: "frames are always stamped"},
			{Name: "format", Type: element.String, Default: "", Ignored: true, Doc: "the format comes from the provider's StreamInfo"},
		},
		New: func(c *element.Config) (element.Element, error) {
			return &inject{cfg: c, live: c.Bool("is-live")}, nil
		},
	})
}

type inject struct {
	cfg      *element.Config
	provider media.BufferProvider
	live     bool
}

func (s *inject) Attach(what any, tip string) error {
	p, ok := what.(media.BufferProvider)
	if !ok {
		return element.ErrNotAttachable
	}
	if p == nil {
		return errors.New("nil BufferProvider")
	}
	if s.provider != nil {
		return errors.New("a BufferProvider is already attached")
	}
	s.provider = p
	return nil
}

func (s *inject) Check() error {
	if s.provider == nil {
		return errors.New("no BufferProvider attached")
	}
	info := s.provider.Info()
	switch {
	case info.Format == media.FormatUnknown || info.Format > media.PNG:
		return fmt.Errorf("provider %T: StreamInfo has no valid format (%v)", s.provider, info.Format)
	case info.Format.Raw() && (info.Width <= 0 || info.Height <= 0):
		return fmt.Errorf("provider %T: StreamInfo size %dx%d is invalid for %v", s.provider, info.Width, info.Height, info.Format)
	case info.Framerate < 0:
		return fmt.Errorf("provider %T: negative framerate %v", s.provider, info.Framerate)
	case info.Device != "" && info.Device != "cpu":
		return fmt.Errorf("provider %T: device %q is not supported (want \"cpu\")", s.provider, info.Device)
	}
	return nil
}

func (s *inject) Run(ctx context.Context, p element.Ports) error {
	info := s.provider.Info()
	fps := info.Framerate
	if fps == 0 {
		fps = 30
	}
	period := time.Duration(float64(time.Second) / fps)
	start := time.Now()
	for n := int64(0); ; n++ {
		t0 := time.Now()
		b, err := s.generate(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("provider %T: %w", s.provider, err)
		}
		if err := s.prepare(b, info, n, period); err != nil {
			b.Release()
			return fmt.Errorf("provider %T, frame %d: %w", s.provider, n, err)
		}
		p.Observe(time.Since(t0))
		if s.live {
			if d := time.Until(start.Add(time.Duration(n) * period)); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					b.Release()
					return context.Cause(ctx)
				}
			}
		}
		if err := p.EmitBuffer(b); err != nil {
			return err
		}
	}
}

func (s *inject) generate(ctx context.Context) (b *media.Buffer, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("Generate panicked: %v", v)
		}
	}()
	b, err = s.provider.Generate(ctx)
	if err != nil {
		if b != nil {
			b.Release()
		}
		return nil, err
	}
	if b == nil {
		return nil, errors.New("Generate returned a nil Buffer and no error (return io.EOF to end the stream)")
	}
	return b, nil
}

// prepare checks a generated buffer against the StreamInfo, decodes
// encoded images, and fills the frame's metadata.
func (s *inject) prepare(b *media.Buffer, info media.StreamInfo, n int64, period time.Duration) error {
	if b.BatchSize() != 1 {
		return fmt.Errorf("buffer holds %d frames; a provider generates one frame per buffer", b.BatchSize())
	}
	f := b.Frame(0)
	switch {
	case !info.Format.Raw():
		rgb, err := decodeImage(f.Data, info.Format)
		if err != nil {
			return err
		}
		b.SetFrame(0, rgb)
		f = rgb
	case f.Format == media.FormatUnknown:
		want := info.Format.FrameSize(info.Width, info.Height)
		if len(f.Data) != want {
			return fmt.Errorf("buffer of %d bytes does not match StreamInfo %v %dx%d (%d bytes)", len(f.Data), info.Format, info.Width, info.Height, want)
		}
		f.Surface = media.PackedSurface(info.Format, info.Width, info.Height, f.Data)
	case f.Format != info.Format || f.Width != info.Width || f.Height != info.Height:
		return fmt.Errorf("frame is %v %dx%d, StreamInfo says %v %dx%d", f.Format, f.Width, f.Height, info.Format, info.Width, info.Height)
	default:
		if err := f.Check(); err != nil {
			return err
		}
	}
	fm := b.Meta().Frames[0]
	fm.FrameNumber = n
	fm.BatchID = 0
	if b.Timestamp() == 0 && n > 0 {
		b.SetTimestamp(time.Duration(n) * period)
	}
	fm.PTS = b.Timestamp()
	fm.NTPTimestamp = time.Now()
	fm.SourceWidth, fm.SourceHeight = f.Width, f.Height
	fm.Width, fm.Height = f.Width, f.Height
	return nil
}

// decodeImage decodes a JPEG or PNG into a packed RGB frame.
func decodeImage(data []byte, format media.ColorFormat) (*media.Frame, error) {
	img, name, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decoding %v image of %d bytes: %w", format, len(data), err)
	}
	if want := map[media.ColorFormat]string{media.JPEG: "jpeg", media.PNG: "png"}[format]; name != want {
		return nil, fmt.Errorf("image is %s, StreamInfo says %v", name, format)
	}
	r := img.Bounds()
	rgba, ok := img.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.Draw(rgba, rgba.Rect, img, r.Min, draw.Src)
	}
	w, h := r.Dx(), r.Dy()
	out := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		src := rgba.Pix[y*rgba.Stride:]
		dst := out[y*w*3:]
		for x := 0; x < w; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
		}
	}
	return media.NewFrame(media.PackedSurface(media.RGB, w, h, out), nil), nil
}
