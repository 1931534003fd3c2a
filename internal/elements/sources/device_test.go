package sources

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// yPlanes decodes clip with props and keeps each frame's Y plane (from
// the host copy for frames in GPU memory), checking where frames were.
func yPlanes(t *testing.T, clip string, props element.Props, wantDevice bool) [][]byte {
	t.Helper()
	var mu sync.Mutex
	var planes [][]byte
	r := element.NewRegistry()
	Register(r)
	r.MustRegister(element.KindSpec{Kind: "y-sink", Role: element.RoleSink,
		New: func(*element.Config) (element.Element, error) {
			return &element.Sink{Fn: func(_ context.Context, b *media.Buffer) error {
				f := b.Frame(0)
				if f.OnDevice() != wantDevice || f.Format != media.NV12 {
					t.Errorf("frame on device %v (want %v), %v (want NV12)", f.OnDevice(), wantDevice, f.Format)
				}
				s, err := f.HostSurface()
				if err != nil {
					return err
				}
				y := make([]byte, 0, s.Width*s.Height)
				for row := 0; row < s.Height; row++ {
					y = append(y, s.Row(row)...)
				}
				mu.Lock()
				planes = append(planes, y)
				mu.Unlock()
				return nil
			}}, nil
		}})
	g := engine.NewGraph("t", r)
	props["uri"] = clip
	if _, err := g.Add("nvurisrcbin", "src", props); err != nil {
		t.Fatal(err)
	}
	g.Add("y-sink", "sink", nil)
	if err := g.Link("src", "sink"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := engine.Start(ctx, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Wait(); err != nil {
		t.Fatal(err)
	}
	return planes
}

// convert=device keeps NVDEC's frames in GPU memory, in the CUDA context
// vidflow's kernels use: the host copy of each frame (one download, counted)
// is the frame the CPU decoder makes, and every frame, sample and download
// is accounted for after the run. Without GStreamer's CUDA elements the
// property is refused, naming what is missing.
func TestConvertDeviceCUDA(t *testing.T) {
	// 4:2:0 (x264enc would make 4:4:4 of videotestsrc's default, which
	// NVDEC does not decode).
	clip := encode(t, "clip420.mp4", "videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=ultrafast tune=zerolatency ! mp4mux", 30)
	if len(gst.PluginFactories("nvcodec", "Decoder")) == 0 || gpu.Devices() == 0 {
		_, _, err := runCollecting(t, element.Props{"uri": clip, "convert": "device"}, time.Minute, func(element.Message) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), `property "convert": device needs GStreamer's NVDEC decoders`) {
			t.Fatalf("convert=device without nvcodec or a GPU: %v", err)
		}
		s := &source{desc: "filesrc location=a.mp4 ! decodebin", format: media.NV12, device: true}
		want := "filesrc location=a.mp4 ! decodebin ! video/x-raw(memory:CUDAMemory),format=NV12 ! appsink"
		if gpuConverters() {
			want = "filesrc location=a.mp4 ! decodebin ! cudaupload ! cudaconvert ! cudascale ! video/x-raw(memory:CUDAMemory),format=NV12 ! appsink"
		}
		if d := s.description(); !strings.HasPrefix(d, want) {
			t.Errorf("description %q, want %q...", d, want)
		}
		t.Skip("no GPU: convert=device refused as it should be")
	}
	if !gpuConverters() {
		_, _, err := runCollecting(t, element.Props{"uri": clip, "convert": "device", "width": 160, "height": 120}, time.Minute, func(element.Message) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), "cudascale, which is missing here") {
			t.Errorf("convert=device with a size and no cudascale: %v", err)
		}
	}
	checkLeaks(t)
	d0 := media.DeviceDownloads()
	dev := yPlanes(t, clip, element.Props{"convert": "device", "decoder": "nvdec"}, true)
	host := yPlanes(t, clip, element.Props{"format": "NV12", "decoder": "cpu"}, false)
	if len(dev) != 30 || len(host) != 30 {
		t.Fatalf("%d frames from GPU memory, %d from the CPU decoder, want 30 each", len(dev), len(host))
	}
	if n := media.DeviceDownloads() - d0; n != 30 {
		t.Errorf("%d host copies counted, want 30 (one per frame)", n)
	}
	for i := range dev {
		var diff int
		for j := range dev[i] {
			d := int(dev[i][j]) - int(host[i][j])
			diff += max(d, -d)
		}
		if mean := float64(diff) / float64(len(dev[i])); mean > 1 {
			t.Errorf("frame %d: Y differs from the CPU decoder's by %.2f on average", i, mean)
		}
	}
	if n := gst.LiveSamples(); n != 0 {
		t.Errorf("%d GStreamer samples still held", n)
	}
}
