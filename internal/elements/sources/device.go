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
// uses all but cudadownload where they are.
var cudaElements = []string{"cudaupload", "cudaconvert", "cudascale", "cudadownload"}

// convertChoice reads the convert property: cuda converts on the GPU and
// downloads, device keeps frames in the GPU's memory. cuda needs
// GStreamer's CUDA elements; device needs NVDEC, and shares the GPU's
// primary CUDA context with GStreamer so that vidflow's kernels and ONNX
// Runtime can read the frames (see deviceDescription for the rest).
func convertChoice(v string, f media.ColorFormat) (cuda, device bool, err error) {
	switch v {
	case "", convertCPU:
		return false, false, nil
	case convertCUDA:
		if missing := missingFactories(cudaElements); len(missing) > 0 {
			return false, false, fmt.Errorf(`property "convert": cuda needs GStreamer's %s (gst-plugins-bad's nvcodec plugin, an NVIDIA GPU, and NVRTC for the converters); missing: %s`,
				strings.Join(cudaElements, ", "), strings.Join(missing, ", "))
		}
		if f == media.GRAY8 {
			return false, false, errors.New(`property "convert": cuda does not make GRAY8 frames (RGB, RGBA, I420 or NV12)`)
		}
		return true, false, nil
	case convertDevice:
	default:
		return false, false, fmt.Errorf(`property "convert": %q is not cpu, cuda or device`, v)
	}
	if len(gst.PluginFactories("nvcodec", "Decoder")) == 0 {
		return false, false, errors.New(`property "convert": device needs GStreamer's NVDEC decoders (gst-plugins-bad's nvcodec plugin registers them where it finds an NVIDIA GPU, libcuda and libnvcuvid); none here`)
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

// gpuConverters reports whether GStreamer's CUDA converters are there
// (nvcodec registers cudaconvert and cudascale only where its NVRTC
// kernels compile: GStreamer 1.22 with CUDA 13 does not).
func gpuConverters() bool { return len(missingFactories(cudaElements)) == 0 }

func missingFactories(names []string) []string {
	var missing []string
	for _, e := range names {
		if !gst.HasFactory(e) {
			missing = append(missing, e)
		}
	}
	return missing
}

// checkDevice checks what a convert=device source asks for against
// GStreamer's CUDA converters: without them frames are NVDEC's own NV12
// at the stream's size, and only NVDEC decodes.
func (s *source) checkDevice() error {
	if !s.device || gpuConverters() {
		return nil
	}
	switch {
	case s.format != media.NV12:
		return fmt.Errorf(`property "convert": device makes %v frames with GStreamer's cudaconvert, which is missing here (its kernels need an NVRTC it can use); leave format unset for NVDEC's NV12`, s.format)
	case s.w > 0:
		return fmt.Errorf(`property "convert": device scales to %dx%d with GStreamer's cudascale, which is missing here; leave width and height unset (infer scales each frame on the GPU)`, s.w, s.h)
	case s.decoder == gst.SoftwareDecoder:
		return errors.New(`property "convert": device with decoder=cpu needs GStreamer's cudaupload and cudaconvert, which are missing here; use decoder=auto or nvdec`)
	}
	s.decoder = gst.NVIDIADecoders // a software decoder's frames are not in GPU memory
	return nil
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

// deviceDescription is the pipeline of a convert=device source. With
// GStreamer's CUDA converters, cudaupload passes NVDEC's CUDA memory
// through (and uploads a software decoder's frames) and cudaconvert and
// cudascale pass through when there is nothing to do; without them,
// NVDEC's frames go straight to the appsink. The appsink takes CUDA
// memory, mapped as device pointers.
func (s *source) deviceDescription(caps string) string {
	via := ""
	if gpuConverters() {
		via = "cudaupload ! cudaconvert ! cudascale ! "
	}
	return fmt.Sprintf("%s ! %svideo/x-raw(memory:CUDAMemory),%s ! appsink name=vfsink sync=false max-buffers=4", s.desc, via, caps)
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

// An NVDEC stream's GPU memory: the decoder's surfaces and GStreamer's
// output pool, measured on the H200 at 17.5 GB for 150 streams of 1080p
// (117 MiB each; more for 4K, whose pools grow with it). A convert=device
// source starts only with that much free beyond what the models' sessions
// need to keep growing their arenas, so that decoders never take the
// memory a running model needs: the stream that does not fit fails,
// saying so, and the others keep running.
const (
	decoderMiB  = 160  // one 1080p NVDEC stream, with room
	reservedMiB = 2048 // left for ONNX Runtime's arenas and vidflow's kernels
)

// checkDeviceMemory refuses to start one more NVDEC stream on GPU dev
// when it would not fit.
func (s *source) checkDeviceMemory(dev int) error {
	if !s.device {
		return nil
	}
	info, err := gpu.Info(dev)
	if err != nil {
		return err
	}
	return deviceMemoryError(dev, info.FreeMB)
}

// deviceMemoryError is checkDeviceMemory's rule for freeMiB free on GPU dev.
func deviceMemoryError(dev, freeMiB int) error {
	if freeMiB >= decoderMiB+reservedMiB {
		return nil
	}
	return fmt.Errorf("GPU %d has %d MiB free: a convert=device stream needs about %d MiB for NVDEC's surfaces at 1080p, "+
		"and %d MiB stay free for the models; stream not started (run fewer streams on this GPU, or convert=cpu for some)",
		dev, freeMiB, decoderMiB, reservedMiB)
}
