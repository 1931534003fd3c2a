package vidflow_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// frameKey names one frame of one stream.
type frameKey struct {
	source int
	frame  int64
}

// detectionsOf runs two copies of clip through BatchCapture (with the
// capture's convert property) → Infer (the GPU detector) → discard, and
// returns every frame's objects.
func detectionsOf(t *testing.T, clip, convert string) map[frameKey][]*media.ObjectMeta {
	t.Helper()
	var mu sync.Mutex
	got := map[frameKey][]*media.ObjectMeta{}
	probe := vidflow.NewProbe("objects", func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, fm := range m.Frames {
			got[frameKey{fm.SourceID, fm.FrameNumber}] = append([]*media.ObjectMeta(nil), fm.Objects...)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := vidflow.NewFlow(vidflow.NewPipeline("device-"+convert)).
		BatchCapture([]string{clip, clip}, vidflow.Props{"convert": convert, "decoder": "nvdec"}).
		Infer("configs/config_infer_primary_gpu.yml").Attach(probe).Render(vidflow.RenderDiscard).Run(ctx)
	if err != nil {
		t.Fatalf("convert=%s: %v", convert, err)
	}
	return got
}

// On an NVIDIA GPU, the device path — NVDEC's frames kept in CUDA memory
// (convert=device), batched as they are, read in place as NV12 by infer's
// kernel — finds what the host path (frames converted to RGB on the CPU,
// uploaded) finds, frame by frame, without one host copy of a frame; and
// frames, GStreamer samples and device allocations are all back at zero.
func TestDevicePipelineMatchesHostGPU(t *testing.T) {
	clip := needGPUPipeline(t)
	host := detectionsOf(t, clip, "cpu")
	d0, a0 := media.DeviceDownloads(), gpuAllocs()
	dev := detectionsOf(t, clip, "device")
	if n := media.DeviceDownloads() - d0; n != 0 {
		t.Errorf("%d frames copied to the host on a pipeline that needs no host pixels", n)
	}
	if len(dev) != len(host) || len(dev) < 600 {
		t.Fatalf("%d frames on the device path, %d on the host path (want 2 x 300)", len(dev), len(host))
	}
	var matched, nDev, nHost int
	for k, hs := range host {
		ds := dev[k]
		nDev += len(ds)
		nHost += len(hs)
		matched += matches(ds, hs)
	}
	t.Logf("objects: device %d, host %d, matched %d (IoU >= 0.5, same class)", nDev, nHost, matched)
	if nHost < 1000 || float64(matched) < 0.95*float64(nHost) || float64(matched) < 0.95*float64(nDev) {
		t.Errorf("device path: %d objects, host path %d, %d matched: want >= 95%% of each", nDev, nHost, matched)
	}
	if media.LiveFrames() != 0 || media.LiveBuffers() != 0 || gst.LiveSamples() != 0 {
		t.Errorf("after the run: %d frames, %d buffers, %d GStreamer samples held", media.LiveFrames(), media.LiveBuffers(), gst.LiveSamples())
	}
	if a := gpuAllocs(); a != a0 {
		t.Errorf("device allocations %d after the run, %d before", a, a0)
	}
}

// needGPUPipeline skips without an NVIDIA GPU, GStreamer's nvcodec, the
// GPU detector or ONNX Runtime, and returns the 300-frame 720p30 clip.
func needGPUPipeline(t *testing.T) string {
	t.Helper()
	if len(gst.PluginFactories("nvcodec", "Decoder")) == 0 || gpu.Devices() == 0 {
		t.Skip("needs an NVIDIA GPU and GStreamer's nvcodec plugin")
	}
	clip := mediaFile(t, "media/vtest-720p30.mp4")
	if _, err := os.Stat(filepath.Join(config.CacheDir(), "models/centernet/centernet_gpu.onnx")); err != nil {
		t.Skip("centernet_gpu.onnx not in the cache; run scripts/setup-model.sh")
	}
	needORT(t)
	return clip
}

func gpuAllocs() int64 { d, _ := gpu.Allocations(); return d }

// matches counts objects of a matched greedily to objects of b of the
// same class with IoU >= 0.5.
func matches(a, b []*media.ObjectMeta) int {
	used := make([]bool, len(b))
	n := 0
	for _, o := range a {
		best, bi := 0.5, -1
		for j, p := range b {
			if !used[j] && p.ClassID == o.ClassID {
				if v := iou(o.Rect, p.Rect); v >= best {
					best, bi = v, j
				}
			}
		}
		if bi >= 0 {
			used[bi] = true
			n++
		}
	}
	return n
}

func iou(a, b media.Rect) float64 {
	x0, y0 := max(a.Left, b.Left), max(a.Top, b.Top)
	x1, y1 := min(a.Left+a.Width, b.Left+b.Width), min(a.Top+a.Height, b.Top+b.Height)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	in := float64((x1 - x0) * (y1 - y0))
	return in / (float64(a.Width*a.Height+b.Width*b.Height) - in)
}

// On an NVIDIA GPU, the OSD draws on NVDEC's frames kept in CUDA memory
// (convert=device, one stream: no tiler to compose them first) through a
// host RGB copy of each, as DeepStream converts to RGBA before nvdsosd:
// every frame reaches the sink in host memory with its objects' boxes in
// their class colours, one download a frame, and frames, GStreamer samples
// and device allocations are all back at zero.
func TestDeviceFramesOSDGPU(t *testing.T) {
	clip := needGPUPipeline(t)
	c := &boxCheck{}
	d0, a0 := media.DeviceDownloads(), gpuAllocs()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := vidflow.NewFlow(vidflow.NewPipeline("device-osd")).
		BatchCapture([]string{clip}, vidflow.Props{"convert": "device", "decoder": "nvdec"}).
		Infer("configs/config_infer_primary_gpu.yml").OSD().Retrieve(c).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames, %d in host memory; %d boxes, %d in their class colour", c.frames, c.host, c.boxes, c.ok)
	if c.frames != 300 || c.host != c.frames {
		t.Errorf("%d frames at the sink, %d of them drawn host RGB frames; want 300 and 300", c.frames, c.host)
	}
	if c.boxes < 300 || float64(c.ok) < 0.85*float64(c.boxes) {
		t.Errorf("%d of %d boxes in their class colour, want >= 85%% (the CPU path: 92%%)", c.ok, c.boxes)
	}
	if n := media.DeviceDownloads() - d0; n != int64(c.frames) {
		t.Errorf("%d frames downloaded for %d drawn: want one each", n, c.frames)
	}
	if media.LiveFrames() != 0 || media.LiveBuffers() != 0 || gst.LiveSamples() != 0 {
		t.Errorf("after the run: %d frames, %d buffers, %d GStreamer samples held", media.LiveFrames(), media.LiveBuffers(), gst.LiveSamples())
	}
	if a := gpuAllocs(); a != a0 {
		t.Errorf("device allocations %d after the run, %d before", a, a0)
	}
}
