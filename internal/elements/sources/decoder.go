package sources

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/vidflow/vidflow/internal/gst"
)

// Values of the decoder property of nvurisrcbin.
const (
	decoderAuto  = "auto"  // NVDEC when GStreamer has it (nvcodec found a GPU), else software
	decoderNVDEC = "nvdec" // NVDEC only: an error when the stream's codec has none
	decoderCPU   = "cpu"   // software decoders only
)

// nvDecoders are the NVDEC decoders of gst-plugins-bad 1.22's nvcodec
// plugin, by codec (see codecOf).
var nvDecoders = map[string]string{
	"h264": "nvh264dec", "h265": "nvh265dec", "vp8": "nvvp8dec", "vp9": "nvvp9dec", "av1": "nvav1dec",
	"mpeg1": "nvmpegvideodec", "mpeg2": "nvmpeg2videodec", "mpeg4": "nvmpeg4videodec", "jpeg": "nvjpegdec",
}

// decoderChoice checks the decoder property. For auto it makes decodebin
// prefer NVDEC (once per process).
func decoderChoice(v string) (gst.DecoderChoice, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case decoderAuto, "":
		preferNVDEC()
		return gst.AnyDecoder, nil
	case decoderNVDEC:
		return gst.NVIDIADecoders, nil
	case decoderCPU:
		return gst.SoftwareDecoder, nil
	}
	return 0, fmt.Errorf(`property "decoder": %q is not auto, nvdec or cpu`, v)
}

var preferOnce sync.Once

// preferNVDEC ranks the nvcodec plugin's decoders of the first GPU above
// every software decoder (libav's are primary), so that decodebin tries
// them first (GStreamer 1.22 does so for H.264 and H.265 only). The plugin
// registers them only when it found a GPU, libcuda and libnvcuvid; those
// of further GPUs are named nvh264device1dec... Sources with decoder=cpu
// still leave them out.
func preferNVDEC() {
	preferOnce.Do(func() {
		for _, f := range gst.PluginFactories("nvcodec", "Decoder") {
			if strings.Contains(f, "device") {
				continue
			}
			if r, ok := gst.FactoryRank(f); ok && r <= gst.RankPrimary {
				gst.SetFactoryRank(f, gst.RankPrimary+1)
			}
		}
	})
}

var mpegVersion = regexp.MustCompile(`mpegversion=\(int\)(\d)`)

// codecOf names the codec of encoded video caps: h264, h265, vp9, mpeg2,
// jpeg... (the media type itself when unknown).
func codecOf(caps string) string {
	name, rest, _ := strings.Cut(caps, ",")
	name = strings.TrimSpace(name)
	switch name {
	case "video/mpeg":
		if m := mpegVersion.FindStringSubmatch(rest); m != nil {
			return "mpeg" + m[1]
		}
		return "mpeg"
	case "image/jpeg", "image/png":
		return strings.TrimPrefix(name, "image/")
	}
	if c, ok := strings.CutPrefix(name, "video/x-"); ok {
		return c
	}
	return name
}

// decoderKind says where a decoder runs, for the log.
func decoderKind(d gst.DecoderInfo) string {
	if d.Plugin == "nvcodec" {
		return "NVDEC"
	}
	return "CPU"
}

// describeDecoder is the line that reports the decoder picked.
func describeDecoder(d gst.DecoderInfo) string {
	return fmt.Sprintf("decoding %s with %s (%s)", codecOf(d.Caps), d.Factory, decoderKind(d))
}

// errConfig marks errors that reconnecting cannot fix.
var errConfig = errors.New("configuration")

type configError struct{ text string }

func (e *configError) Error() string        { return e.text }
func (e *configError) Is(target error) bool { return target == errConfig }

// decoderError explains a failure caused by the decoder choice: with
// decoder=nvdec, the stream's codec got no NVIDIA decoder. nil otherwise.
func (s *source) decoderError(d gst.DecoderInfo) error {
	if s.decoder != gst.NVIDIADecoders || !d.Refused || d.Plugin == "nvcodec" {
		return nil
	}
	codec := codecOf(d.Caps)
	nv, ok := nvDecoders[codec]
	switch {
	case !ok:
		return &configError{fmt.Sprintf("%s: decoder nvdec asked for, but the stream's codec %s has no NVIDIA decoder "+
			"(NVDEC decodes h264, h265, vp8, vp9, av1, mpeg1/2/4 and jpeg; use decoder=auto or cpu)", s.name, codec)}
	case !gst.HasFactory(nv):
		return &configError{fmt.Sprintf("%s: decoder nvdec asked for, but GStreamer has no %s "+
			"(needs an NVIDIA GPU, its driver's libnvcuvid, and gst-plugins-bad's nvcodec plugin)", s.name, nv)}
	}
	return &configError{fmt.Sprintf("%s: decoder nvdec asked for, but %s does not take this %s stream (%s)", s.name, nv, codec, shortCaps(d.Caps))}
}

// shortCaps cuts serialized caps for messages (codec_data is long).
func shortCaps(caps string) string {
	if len(caps) > 160 {
		return caps[:160] + "..."
	}
	return caps
}
