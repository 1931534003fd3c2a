package sources

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

// Values of the convert property.
const (
	convertCPU    = "cpu"    // videoconvert and videoscale
	convertCUDA   = "cuda"   // cudaconvert and cudascale, then one download
	convertDevice = "device" // frames stay in CUDA memory (no download)
)

// cudaElements are the GStreamer elements convert=cuda uses; convert=device
// uses all but cudadownload.
var cudaElements = []string{"cudaupload", "cudaconvert", "cudascale", "cudadownload"}

// convertChoice reads the convert property: cuda converts on the GPU and
// downloads, device keeps frames in the GPU's memory. Both need GStreamer's
// CUDA elements; device also shares the GPU's primary CUDA context with
// them, so that vidflow's kernels and ONNX Runtime can read the frames.
func convertChoice(v string, f media.ColorFormat) (cuda, device bool, err error) {
	switch v {
	case "", convertCPU:
		return false, false, nil
	case convertCUDA, convertDevice:
	default:
		return false, false, fmt.Errorf(`property "convert": %q is not cpu, cuda or device`, v)
	}
	var missing []string
	for _, e := range cudaElements {
		if !gst.HasFactory(e) {
			missing = append(missing, e)
		}
	}
	if len(missing) > 0 {
		return false, false, fmt.Errorf(`property "convert": %s needs GStreamer's %s (gst-plugins-bad's nvcodec plugin, an NVIDIA GPU, and NVRTC for the converters); missing: %s`,
			v, strings.Join(cudaElements, ", "), strings.Join(missing, ", "))
	}
	if v == convertCUDA {
		if f == media.GRAY8 {
			return false, false, errors.New(`property "convert": cuda does not make GRAY8 frames (RGB, RGBA, I420 or NV12)`)
		}
		return true, false, nil
	}
	switch f {
	case media.NV12, media.RGB, media.RGBA:
	default:
		return false, false, fmt.Errorf(`property "convert": device keeps NV12, RGB or RGBA frames in GPU memory, not %v (NV12, the decoder's own, is the cheapest)`, f)
	}
	if err := shareCUDA(0); err != nil {
		return false, false, fmt.Errorf(`property "convert": device: %w`, err)
	}
	return false, true, nil
}

// shareCUDA gives GStreamer's CUDA elements the primary context of GPU
// dev, once per process.
func shareCUDA(dev int) error {
	if gst.SharedCUDADevice() == dev {
		return nil
	}
	ctx, cuDev, err := gpu.PrimaryContext(dev)
	if err != nil {
		return err
	}
	return gst.ShareCUDAContext(ctx, cuDev, dev)
}

// deviceDescription is the pipeline of a convert=device source: cudaupload
// passes NVDEC's CUDA memory through (and uploads a software decoder's
// frames), cudaconvert and cudascale pass through when nothing is to be
// done, and the appsink takes CUDA memory, mapped as device pointers.
func (s *source) deviceDescription(caps string) string {
	return fmt.Sprintf("%s ! cudaupload ! cudaconvert ! cudascale ! video/x-raw(memory:CUDAMemory),%s ! "+
		"appsink name=vfsink sync=false max-buffers=4", s.desc, caps)
}

// frameOf wraps a sample's pixels as a frame without copying: host memory
// mapped for reading, or, for CUDA memory, a device frame on the shared
// GPU. The frame gives the sample back when released.
func frameOf(smp *gst.Sample, f media.ColorFormat) (*media.Frame, error) {
	if !smp.Device {
		s := media.Surface{Format: f, Width: smp.Width, Height: smp.Height, Data: smp.Data}
		for i := 0; i < 3; i++ {
			s.Strides[i], s.Offsets[i] = smp.Strides[i], smp.Offsets[i]
		}
		fr := media.NewFrame(s, sampleOwner{smp})
		fr.SetReadOnly() // mapped for reading
		return fr, nil
	}
	planes := media.DevicePlanes{Device: gst.SharedCUDADevice()}
	if planes.Device < 0 {
		return nil, errors.New("the decoder gave CUDA memory, but no CUDA context is shared with GStreamer (convert=device sets it up)")
	}
	for i := 0; i < smp.Planes && i < 3; i++ {
		planes.Ptrs[i] = unsafe.Add(smp.DevPtr, smp.Offsets[i])
		planes.Pitches[i] = smp.Strides[i]
	}
	fr, err := media.NewDeviceFrame(f, smp.Width, smp.Height, planes, sampleOwner{smp})
	if err != nil {
		return nil, fmt.Errorf("decoder's CUDA frame: %w", err)
	}
	fr.SetReadOnly()
	return fr, nil
}

// foreignContext is the error of a convert=device source whose GStreamer
// elements made a CUDA context of their own (their memory is not usable by
// vidflow's kernels).
func (s *source) foreignContext(pl *gst.Pipeline) error {
	if !s.device || !pl.ForeignCUDAContext() {
		return nil
	}
	return &configError{fmt.Sprintf("%s: convert=device: a GStreamer element made a CUDA context of its own instead of taking GPU %d's "+
		"(its frames cannot be read by vidflow's kernels); use convert=cuda", s.name, gst.SharedCUDADevice())}
}
