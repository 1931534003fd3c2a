// Package core holds vidflow's data model: buffers of frames, their metadata
// and tensors. The root package re-exports these types; element packages and
// the engine use them directly.
package media

import (
	"fmt"
	"strings"
)

// ColorFormat is the pixel layout of a frame.
type ColorFormat int

// Color formats. RGB, RGBA and GRAY8 are packed; I420 and NV12 are planar
// 4:2:0; JPEG and PNG are encoded images accepted by Inject.
const (
	FormatUnknown ColorFormat = iota
	RGB
	RGBA
	I420
	NV12
	GRAY8
	JPEG
	PNG
)

var formatNames = [...]string{"unknown", "RGB", "RGBA", "I420", "NV12", "GRAY8", "JPEG", "PNG"}

func (f ColorFormat) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("ColorFormat(%d)", int(f))
}

// ParseColorFormat reads a format name as GStreamer and DeepStream write it
// (case-insensitive; "GRAY" is GRAY8).
func ParseColorFormat(s string) (ColorFormat, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "GRAY" {
		return GRAY8, nil
	}
	for i, n := range formatNames {
		if i > 0 && u == n {
			return ColorFormat(i), nil
		}
	}
	return FormatUnknown, fmt.Errorf("unknown color format %q (want RGB, RGBA, I420, NV12, GRAY8, JPEG or PNG)", s)
}

// Raw reports whether frames of this format are uncompressed pixels.
func (f ColorFormat) Raw() bool { return f >= RGB && f <= GRAY8 }

// Channels is the number of interleaved channels of a packed format, 0 for
// planar and encoded formats.
func (f ColorFormat) Channels() int {
	switch f {
	case RGB:
		return 3
	case RGBA:
		return 4
	case GRAY8:
		return 1
	}
	return 0
}

// FrameSize is the number of bytes of a tightly packed frame of this format,
// or 0 for encoded formats.
func (f ColorFormat) FrameSize(width, height int) int {
	if width <= 0 || height <= 0 {
		return 0
	}
	switch f {
	case RGB, RGBA, GRAY8:
		return width * height * f.Channels()
	case I420, NV12:
		cw, ch := (width+1)/2, (height+1)/2
		return width*height + 2*cw*ch
	}
	return 0
}
