package sinks

import (
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/gst"
)

func TestEncoderChoice(t *testing.T) {
	for _, codec := range []string{"h264", "h265"} {
		desc, err := Encoder(codec, 2000000, 10, "ultrafast")
		if err != nil {
			t.Fatal(err)
		}
		want := "x" + codec[1:] + "enc bitrate=2000 key-int-max=10 speed-preset=ultrafast"
		if gst.HasFactory("nv" + codec + "enc") {
			want = "nv" + codec + "enc bitrate=2000 gop-size=10 "
		}
		if !strings.HasPrefix(desc, want) || !strings.HasSuffix(desc, "! "+codec+"parse") {
			t.Errorf("%s: %q, want %q...", codec, desc, want)
		}
		t.Logf("%s: %s (logged as %s)", codec, desc, encoderIn(desc))
	}
	if _, err := Encoder("vp8", 1, 1, ""); err == nil {
		t.Error("no error for vp8")
	}
	for desc, want := range map[string]string{
		"videoconvert ! nvh264enc bitrate=2 ! h264parse ! mp4mux": "nvh264enc (NVENC)",
		"videoconvert ! x264enc ! mp4mux":                         "x264enc (CPU)",
		"videoconvert ! jpegenc ! multifilesink":                  "",
	} {
		if got := encoderIn(desc); got != want {
			t.Errorf("encoderIn(%q) = %q, want %q", desc, got, want)
		}
	}
}
