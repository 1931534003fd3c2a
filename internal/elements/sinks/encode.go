package sinks

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gst"
)

func registerEncode(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind: "encodesink",
		Doc: "Encodes the video (Flow.Encode) to a file (.mp4, .mov, .mkv; .jpg for an image sequence) or as " +
			"RTP/H.264 or H.265 to udp://127.0.0.1:port; NVENC when GStreamer has it, else x264/x265. " +
			"Odd frame sizes lose their last column or row (the encoders need even ones).",
		Role: element.RoleSink,
		Props: []element.PropSpec{
			{Name: "output", Type: element.String, Doc: "the destination: a file or udp://127.0.0.1:port"},
			{Name: "codec", Type: element.String, Default: "h264", Doc: "h264 or h265"},
			{Name: "bitrate", Type: element.Int, Default: 2000000, Doc: "bits/s"},
			{Name: "iframeinterval", Type: element.Int, Default: 10},
			{Name: "preset", Type: element.String, Default: "ultrafast", Doc: "x264/x265 speed preset"},
			{Name: "profile", Type: element.Int, Default: 0, Ignored: true},
			{Name: "framerate", Type: element.Float, Default: 30.0, Doc: "frame rate announced in the caps"},
			{Name: "overwrite", Type: element.Bool, Default: false,
				Doc: "replace an existing output file; without it an existing file is an error naming it"},
			{Name: "fragment-duration", Type: element.Int, Default: 1000,
				Doc: "MP4/MOV: ms of video per fragment flushed to the file, so that a crash loses at most that; " +
					"a normal end still gives a plain MP4. 0: one index at the end (nothing playable after a crash)"},
		},
		New: newEncodeSink,
	})
	r.MustRegister(element.KindSpec{
		Kind:    "nveglglessink",
		Aliases: []string{"displaysink"},
		Doc:     "Shows the video in a window (Render(RenderDisplay)): ximagesink on X11, waylandsink on Wayland.",
		Role:    element.RoleSink,
		Props: []element.PropSpec{
			{Name: "sync", Type: element.Bool, Default: false, Doc: "play at the timestamps' pace"},
			{Name: "framerate", Type: element.Float, Default: 30.0, Doc: "frame rate announced in the caps"},
			{Name: "qos", Type: element.Bool, Default: false, Ignored: true},
		},
		New: func(c *element.Config) (element.Element, error) {
			// ximagesink on X11 (autovideosink may pick DirectFB, which
			// crashes next to an X server), waylandsink on Wayland.
			sink := "ximagesink"
			if os.Getenv("DISPLAY") == "" {
				sink = "waylandsink"
			}
			return newSink(fmt.Sprintf("videoconvert ! %s sync=%t", sink, c.Bool("sync")), c.Float("framerate"))
		},
	})
}

func newSink(desc string, framerate float64) (*Sink, error) {
	if framerate <= 0 {
		return nil, errors.New(`property "framerate" must be positive`)
	}
	return &Sink{Desc: desc, Framerate: framerate}, gst.Init()
}

func newEncodeSink(c *element.Config) (element.Element, error) {
	d, err := ParseDestination(c.String("output"))
	if err != nil {
		return nil, err
	}
	if d.RTSP {
		return nil, fmt.Errorf("destination %q: an RTSP server is nvrtspoutsinkbin", d.Raw)
	}
	if c.Int("fragment-duration") < 0 {
		return nil, errors.New(`property "fragment-duration" must not be negative`)
	}
	codec := c.String("codec")
	// The sink makes a key frame every iframeinterval frames itself, so
	// that the interval can change while it runs (encctl.go).
	iframe, gop := c.Int("iframeinterval"), c.Int("iframeinterval")
	if iframe > 0 {
		gop = gopCeiling
	}
	enc, err := Encoder(codec, c.Int("bitrate"), gop, c.String("preset"))
	if err != nil {
		return nil, err
	}
	// Last: a wrong option is reported whether or not the file exists.
	if err := d.checkNew(c.Bool("overwrite")); err != nil {
		return nil, err
	}
	s, err := newSink(d.description(codec, enc, c.Int("fragment-duration")), c.Float("framerate"))
	if err != nil {
		return nil, err
	}
	s.Even = !d.isImages() // JPEG takes any size
	if !d.isImages() {
		s.enc = newEncoderControl(enc, c.Int("bitrate"), iframe)
	}
	return s, nil
}

// checkNew refuses to write over an existing file (the first of an image
// sequence) unless overwrite: a service restarted after a crash must not
// replace the recording it was making.
func (d Destination) checkNew(overwrite bool) error {
	if d.UDP || d.RTSP || overwrite {
		return nil
	}
	path := d.Path
	if d.isImages() {
		path = fmt.Sprintf(path, 0) // multifilesink's first index
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("output %q exists: remove it, choose another name or set the option overwrite", path)
	}
	return nil
}

func (d Destination) isImages() bool {
	switch strings.ToLower(filepath.Ext(d.Path)) {
	case ".jpg", ".jpeg", ".mjpg":
		return true
	}
	return false
}

// Destination is where Flow.Encode sends the video: a file, RTP over UDP
// to a local port, or an RTSP server (nvrtspoutsinkbin) on a local port.
type Destination struct {
	Raw   string
	RTSP  bool   // rtsp://localhost:port/mount
	UDP   bool   // udp://127.0.0.1:port
	Port  int    // of UDP and RTSP
	Mount string // of RTSP ("/ds-test" when the URL has no path)
	Path  string // of a file: a .jpg sequence has its %05d
}

// ParseDestination checks an Encode destination: a file with a known
// extension, or a UDP or RTSP URL on this host with a port.
func ParseDestination(dest string) (Destination, error) {
	d := Destination{Raw: dest}
	u, err := url.Parse(dest)
	if err != nil {
		return d, fmt.Errorf("destination %q: %w", dest, err)
	}
	switch u.Scheme {
	case "udp", "rtsp":
		if h := u.Hostname(); h != "" && h != "localhost" && h != "127.0.0.1" {
			return d, fmt.Errorf("destination %q: host %q is not local (want localhost or 127.0.0.1)", dest, h)
		}
		if d.Port, err = strconv.Atoi(u.Port()); err != nil {
			return d, fmt.Errorf("destination %q: no port", dest)
		}
		d.UDP, d.RTSP = u.Scheme == "udp", u.Scheme == "rtsp"
		if d.Mount = u.Path; d.Mount == "" {
			d.Mount = "/ds-test"
		}
		return d, nil
	case "", "file":
	default:
		return d, fmt.Errorf("destination %q: unsupported scheme %q (want a file, udp:// or rtsp://)", dest, u.Scheme)
	}
	d.Path = dest
	if u.Scheme == "file" {
		d.Path = u.Path
	}
	switch ext := strings.ToLower(filepath.Ext(d.Path)); ext {
	case ".mp4", ".mov", ".mkv":
	case ".jpg", ".jpeg", ".mjpg":
		if !strings.Contains(d.Path, "%") {
			d.Path = strings.TrimSuffix(d.Path, filepath.Ext(d.Path)) + "%05d" + filepath.Ext(d.Path)
		}
	default:
		return d, fmt.Errorf("destination %q: unknown extension %q (want .mp4, .mov, .mkv or .jpg)", dest, ext)
	}
	return d, nil
}

// description is the GStreamer description that sends raw frames to a
// file or UDP destination through the encoder enc (of codec). An MP4 is
// fragmented every fragMs while it is written (mp4mux writes each
// fragment's index with it) and rewritten as a plain MP4 with one index
// at the end (first-moov-then-finalise); the file sink writes each buffer
// at once, so that a killed process leaves every fragment it muxed.
func (d Destination) description(codec, enc string, fragMs int) string {
	const i420 = "videoconvert ! video/x-raw,format=I420 ! "
	if d.UDP {
		pay := map[string]string{"h264": "rtph264pay", "h265": "rtph265pay"}[codec]
		return fmt.Sprintf(i420+"%s config-interval=-1 ! %s config-interval=-1 ! udpsink host=127.0.0.1 port=%d sync=false async=false",
			enc, pay, d.Port)
	}
	file := fmt.Sprintf("filesink location=%q buffer-mode=unbuffered", d.Path)
	switch strings.ToLower(filepath.Ext(d.Path)) {
	case ".mp4", ".mov":
		mux := "mp4mux"
		if fragMs > 0 {
			mux += fmt.Sprintf(" fragment-duration=%d fragment-mode=first-moov-then-finalise", fragMs)
		}
		return fmt.Sprintf(i420+"%s ! %s ! %s", enc, mux, file)
	case ".mkv":
		// Matroska needs no index to play: a killed file plays as it is.
		return fmt.Sprintf(i420+"%s ! matroskamux ! %s", enc, file)
	}
	return fmt.Sprintf("videoconvert ! jpegenc ! multifilesink location=%q", d.Path)
}
