package sinks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/gst"
)

func registerRtsp(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvrtspoutsinkbin",
		Aliases: []string{"rtspsink"},
		Doc: "Serves the video as RTSP (Render(RenderStream)): encodes it, sends RTP to a local UDP port, and " +
			"an RTSP server (gst-rtsp-server) on 127.0.0.1:rtsp-port serves it at rtsp-mount-point while the pipeline runs.",
		Role: element.RoleSink,
		Props: []element.PropSpec{
			{Name: "rtsp-port", Type: element.Int, Default: 8554},
			{Name: "rtsp-mount-point", Type: element.String, Default: "/ds-test"},
			{Name: "udp-port", Type: element.Int, Default: 0, Doc: "local RTP port between encoder and server; 0 = a free one"},
			{Name: "codec", Type: element.String, Default: "h264", Doc: "h264 or h265"},
			{Name: "bitrate", Type: element.Int, Default: 2000000, Doc: "bits/s"},
			{Name: "iframeinterval", Type: element.Int, Default: 10},
			{Name: "preset", Type: element.String, Default: "ultrafast"},
			{Name: "profile", Type: element.Int, Default: 0, Ignored: true},
			{Name: "framerate", Type: element.Float, Default: 30.0},
			{Name: "sync", Type: element.Bool, Default: false, Ignored: true},
			{Name: "async", Type: element.Bool, Default: false, Ignored: true},
		},
		New: newRTSPSink,
	})
}

// Encoder returns the GStreamer description of an H.264 or H.265 encoder
// and parser: bitrate in bits/s, a key frame every iframe frames, the
// x264/x265 speed preset. NVIDIA's NVENC (nvh264enc, nvh265enc of the
// nvcodec plugin, which registers them only on a GPU with NVENC) is
// preferred when GStreamer has it; preset then does not apply.
func Encoder(codec string, bitrate, iframe int, preset string) (string, error) {
	if (codec == "h264" || codec == "h265") && gst.HasFactory("nv"+codec+"enc") {
		return fmt.Sprintf("nv%senc bitrate=%d gop-size=%d preset=low-latency-hp zerolatency=true name=%s ! %sparse",
			codec, max(bitrate/1000, 1), iframe, encoderName, codec), nil
	}
	switch codec {
	case "h264":
		return fmt.Sprintf("x264enc bitrate=%d key-int-max=%d speed-preset=%s tune=zerolatency name=%s ! h264parse", max(bitrate/1000, 1), iframe, preset, encoderName), nil
	case "h265":
		return fmt.Sprintf("x265enc bitrate=%d key-int-max=%d speed-preset=%s tune=zerolatency name=%s ! h265parse", max(bitrate/1000, 1), iframe, preset, encoderName), nil
	}
	return "", fmt.Errorf("codec %q: want h264 or h265", codec)
}

type rtspSink struct {
	port, udp int
	mount     string
	codec     string
	enc       string
	ctl       *encoderControl // its run-time settings (encctl.go)
	framerate float64
}

func newRTSPSink(c *element.Config) (element.Element, error) {
	s := &rtspSink{port: c.Int("rtsp-port"), udp: c.Int("udp-port"), mount: c.String("rtsp-mount-point"),
		codec: c.String("codec"), framerate: c.Float("framerate")}
	// The sink makes the key frames, as encodesink's (encctl.go).
	iframe, gop := c.Int("iframeinterval"), c.Int("iframeinterval")
	if iframe > 0 {
		gop = gopCeiling
	}
	enc, err := Encoder(s.codec, c.Int("bitrate"), gop, c.String("preset"))
	if err != nil {
		return nil, err
	}
	s.enc, s.ctl = enc, newEncoderControl(enc, c.Int("bitrate"), iframe)
	switch {
	case s.port < 0 || s.port > 65535:
		return nil, fmt.Errorf(`property "rtsp-port": %d is not a port`, s.port)
	case len(s.mount) < 2 || s.mount[0] != '/':
		return nil, fmt.Errorf(`property "rtsp-mount-point": %q must start with "/" and name something`, s.mount)
	case s.framerate <= 0:
		return nil, errors.New(`property "framerate" must be positive`)
	}
	return s, gst.Init()
}

func (s *rtspSink) Run(ctx context.Context, p element.Ports) error {
	udp := s.udp
	if udp == 0 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		udp = c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
	}
	srv, err := gst.NewRTSPServer("127.0.0.1", s.port)
	if err != nil {
		return fmt.Errorf("RTSP server on port %d: %w", s.port, err)
	}
	defer srv.Close()
	name := map[string]string{"h264": "H264", "h265": "H265"}[s.codec]
	src := fmt.Sprintf(`udpsrc name=pay0 port=%d buffer-size=524288 caps="application/x-rtp, media=video, clock-rate=90000, encoding-name=(string)%s, payload=96"`, udp, name)
	if err := srv.Mount(s.mount, src, true); err != nil {
		return err
	}
	pay := map[string]string{"h264": "rtph264pay", "h265": "rtph265pay"}[s.codec]
	sink := &Sink{Framerate: s.framerate, Even: true, enc: s.ctl, Desc: fmt.Sprintf(
		"videoconvert ! video/x-raw,format=I420 ! %s config-interval=-1 ! %s config-interval=-1 pt=96 ! udpsink host=127.0.0.1 port=%d sync=false async=false",
		s.enc, pay, udp)}
	p.Warn("serving rtsp://127.0.0.1:%d%s", srv.Port(), s.mount)
	return sink.Run(ctx, p)
}

// encoderIn names the encoder of a description and where it runs, for the
// log: "nvh264enc (NVENC)", "x264enc (CPU)"; "" when it has none of them.
func encoderIn(desc string) string {
	for _, f := range strings.Fields(desc) {
		switch f {
		case "nvh264enc", "nvh265enc":
			return f + " (NVENC)"
		case "x264enc", "x265enc":
			return f + " (CPU)"
		}
	}
	return ""
}
