package sources

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// frames counts what reaches the test sink.
var frames atomic.Int64

// testKinds are this package's kinds and a sink counting frames.
func testKinds() *element.Registry {
	r := element.NewRegistry()
	Register(r)
	r.MustRegister(element.KindSpec{Kind: "capture-test-sink", Role: element.RoleSink,
		New: func(*element.Config) (element.Element, error) {
			return &element.Sink{Fn: func(context.Context, *media.Buffer) error { frames.Add(1); return nil }}, nil
		}})
	return r
}

// encode writes a small file with GStreamer (videotestsrc ! <enc>), or
// skips the test when the elements are missing.
func encode(t *testing.T, name, enc string, n int) string {
	t.Helper()
	if err := gst.Init(); err != nil {
		t.Skip(err)
	}
	for _, f := range strings.Fields(enc) {
		if f != "!" && !strings.Contains(f, "=") && !gst.HasFactory(f) {
			t.Skipf("GStreamer has no %s", f)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	pl, err := gst.Launch(fmt.Sprintf("videotestsrc num-buffers=%d pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! %s ! filesink location=%q", n, enc, path))
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	if err := pl.Play(); err != nil {
		t.Fatal(err)
	}
	for {
		m, ok := pl.PopMessage(30 * time.Second)
		if !ok {
			t.Fatal("no end of stream while writing the clip")
		}
		if m.Type == gst.MessageError {
			t.Fatal(m.Err())
		}
		if m.Type == gst.MessageEOS {
			return path
		}
	}
}

func h264Clip(t *testing.T) string {
	return encode(t, "clip.mp4", "x264enc speed-preset=ultrafast tune=zerolatency ! mp4mux", 30)
}

// runSource runs nvurisrcbin with props into the test sink and returns
// the run's error (or the element's, when props are refused) and its info
// messages (the decoder report).
func runSource(t *testing.T, props element.Props) (error, []string) {
	t.Helper()
	err, infos, addErr := runCollecting(t, props, time.Minute, func(m element.Message) (string, bool) {
		i, ok := m.(*element.InfoMessage)
		if !ok {
			return "", false
		}
		return i.Text, true
	})
	if addErr != nil {
		return addErr, nil
	}
	return err, infos
}

// runCollecting runs nvurisrcbin with props into the test sink, at most
// limit (a longer run fails the test), and returns the run's error and the
// texts that pick takes from its messages; addErr is the element's error
// when props are refused (nothing ran then).
func runCollecting(t *testing.T, props element.Props, limit time.Duration, pick func(element.Message) (string, bool)) (err error, texts []string, addErr error) {
	t.Helper()
	g := engine.NewGraph("t", testKinds())
	if _, err := g.Add("nvurisrcbin", "src", props); err != nil {
		return nil, nil, err
	}
	g.Add("capture-test-sink", "sink", nil)
	if err := g.Link("src", "sink"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	r, err := engine.Start(ctx, g, func(m element.Message) {
		if s, ok := pick(m); ok {
			mu.Lock()
			texts = append(texts, s)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Wait()
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after %v", props["uri"], limit)
	}
	mu.Lock()
	defer mu.Unlock()
	return err, append([]string(nil), texts...), nil
}

func TestDecoderAutoReportsSoftware(t *testing.T) {
	clip := h264Clip(t)
	if gst.HasFactory("nvh264dec") {
		t.Skip("this machine has NVDEC (nvh264dec): see TestDecoderAutoPicksNVDEC")
	}
	for _, dec := range []string{"", "auto", "cpu"} {
		props := element.Props{"uri": clip}
		if dec != "" {
			props["decoder"] = dec
		}
		frames.Store(0)
		err, warnings := runSource(t, props)
		if err != nil {
			t.Fatalf("decoder=%q: %v", dec, err)
		}
		if n := frames.Load(); n != 30 {
			t.Errorf("decoder=%q: %d frames, want 30", dec, n)
		}
		want := clip + ": decoding h264 with avdec_h264 (CPU)"
		if !gst.HasFactory("avdec_h264") {
			want = clip + ": decoding h264 with "
		}
		t.Logf("decoder=%q: %q", dec, warnings)
		if len(warnings) != 1 || !strings.HasPrefix(warnings[0], want) {
			t.Errorf("decoder=%q: warnings %q, want one %q", dec, warnings, want)
		}
	}
}

// TestDecoderAutoPicksNVDEC runs only on a machine with NVDEC.
func TestDecoderAutoPicksNVDEC(t *testing.T) {
	clip := h264Clip(t)
	if !gst.HasFactory("nvh264dec") {
		t.Skip("no nvh264dec (no NVIDIA GPU, libnvcuvid or nvcodec plugin)")
	}
	for dec, want := range map[string]string{"auto": "with nvh264dec (NVDEC)", "nvdec": "with nvh264dec (NVDEC)", "cpu": "(CPU)"} {
		err, warnings := runSource(t, element.Props{"uri": clip, "decoder": dec})
		if err != nil {
			t.Fatalf("decoder=%s: %v", dec, err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], want) {
			t.Errorf("decoder=%s: warnings %q, want one with %q", dec, warnings, want)
		}
	}
}

func TestDecoderNVDECMissing(t *testing.T) {
	clip := h264Clip(t)
	if gst.HasFactory("nvh264dec") {
		t.Skip("this machine has nvh264dec")
	}
	start := time.Now()
	err, _ := runSource(t, element.Props{"uri": clip, "decoder": "nvdec"})
	want := clip + ": decoder nvdec asked for, but GStreamer has no nvh264dec (needs an NVIDIA GPU, its driver's libnvcuvid, " +
		"and gst-plugins-bad's nvcodec plugin)"
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error with %q", err, want)
	}
	if !strings.Contains(err.Error(), `element "src" (nvurisrcbin)`) {
		t.Errorf("error %q does not name the element", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to fail", d)
	}
}

func TestDecoderNVDECUnknownCodec(t *testing.T) {
	img := encode(t, "still.png", "pngenc", 1)
	err, _ := runSource(t, element.Props{"uri": img, "decoder": "nvdec"})
	want := img + ": decoder nvdec asked for, but the stream's codec png has no NVIDIA decoder"
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error with %q", err, want)
	}
	// The same image decodes with the other choices.
	for _, dec := range []string{"auto", "cpu"} {
		if err, warnings := runSource(t, element.Props{"uri": img, "decoder": dec}); err != nil {
			t.Errorf("decoder=%s: %v", dec, err)
		} else if len(warnings) != 1 || !strings.Contains(warnings[0], "decoding png with pngdec (CPU)") {
			t.Errorf("decoder=%s: warnings %q", dec, warnings)
		}
	}
}

func TestDecoderBadValue(t *testing.T) {
	clip := h264Clip(t)
	err, _ := runSource(t, element.Props{"uri": clip, "decoder": "foo"})
	if err == nil || !strings.Contains(err.Error(), `property "decoder": "foo" is not auto, nvdec or cpu`) {
		t.Fatalf("got %v", err)
	}
}

func TestCodecOf(t *testing.T) {
	for caps, want := range map[string]string{
		"video/x-h264, stream-format=(string)avc, alignment=(string)au": "h264",
		"video/x-h265": "h265",
		"video/mpeg, mpegversion=(int)2, systemstream=(boolean)false": "mpeg2",
		"video/mpeg, mpegversion=(int)4":                              "mpeg4",
		"image/jpeg, parsed=(boolean)true":                            "jpeg",
		"video/x-vp9":                                                 "vp9",
		"video/x-theora":                                              "theora",
		"application/x-foo":                                           "application/x-foo",
	} {
		if got := codecOf(caps); got != want {
			t.Errorf("codecOf(%q) = %q, want %q", caps, got, want)
		}
	}
}

// convert=cuda asks for GStreamer's CUDA converters: without them (no
// GPU here) the error names the property and what is missing; with them
// the pipeline converts and scales on the GPU and downloads once.
func TestConvertCUDA(t *testing.T) {
	clip := h264Clip(t)
	if gst.HasFactory("cudaconvert") {
		err, _ := runSource(t, element.Props{"uri": clip, "convert": "cuda", "width": 320, "height": 240})
		if err != nil {
			t.Fatalf("convert=cuda: %v", err)
		}
		return
	}
	err, _ := runSource(t, element.Props{"uri": clip, "convert": "cuda"})
	if err == nil || !strings.Contains(err.Error(), `property "convert": cuda needs GStreamer's`) || !strings.Contains(err.Error(), "missing: ") || !strings.Contains(err.Error(), "cudaconvert") {
		t.Fatalf("convert=cuda without nvcodec: %v", err)
	}
	if err, _ := runSource(t, element.Props{"uri": clip, "convert": "gpu"}); err == nil || !strings.Contains(err.Error(), `property "convert": "gpu" is not cpu, cuda or device`) {
		t.Fatalf("convert=gpu: %v", err)
	}
	s := &source{desc: "filesrc location=a.mp4 ! decodebin", format: media.RGB, w: 640, h: 360, cuda: true}
	want := "filesrc location=a.mp4 ! decodebin ! cudaupload ! cudaconvert ! cudascale ! video/x-raw(memory:CUDAMemory),format=RGB,width=640,height=360 ! cudadownload ! video/x-raw,format=RGB ! appsink"
	if d := s.description(); !strings.HasPrefix(d, want) {
		t.Errorf("description %q, want %q...", d, want)
	}
}
