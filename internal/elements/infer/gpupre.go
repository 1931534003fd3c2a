package infer

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/vidflow/vidflow/internal/gpu"
	"github.com/vidflow/vidflow/media"
)

// gpuPreprocessor scales a run's images into the session's device input
// with the kernel, on the session's stream, so that the model's run is
// ordered after it without the host waiting. Frames in device memory are
// read in place; host frames are copied into pinned staging memory (in
// parallel), uploaded in one copy and scaled on the GPU: the CPU only
// copies bytes. Primary mode only (secondary crops stay on the CPU).
type gpuPreprocessor struct {
	p      *preprocessor // the geometry and normalisation of the CPU's
	fn     *gpu.Function
	target string
	device int
	stream *gpu.Stream
	dst    unsafe.Pointer // the session's input
	per    int            // bytes an image of the input
	out8   bool
	host   *gpu.HostMemory   // staging of host frames, pinned
	dev    *gpu.DeviceMemory // and on the device
	jobs   []gpuJob
	// Images read from device frames and uploaded from host frames.
	direct, uploaded int64
}

// gpuJob is one image of a run: where its source is and its geometry.
type gpuJob struct {
	s      *media.Surface
	off    int // in the staging memory, for a host frame
	size   int
	pitch  [2]int
	device bool
}

// newGPUPreprocessor compiles the kernel for the session's device (once a
// process) and prepares to write into its input.
func newGPUPreprocessor(cfg *Config, pl *plan, sess *gpu.Session) (*gpuPreprocessor, error) {
	m, err := gpu.ImageKernels(cfg.GPUID) // vf_preprocess: the CPU preprocessor's arithmetic
	if err != nil {
		return nil, err
	}
	fn, err := m.Function("vf_preprocess")
	if err != nil {
		return nil, err
	}
	g := &gpuPreprocessor{p: newPreprocessor(cfg, pl.w, pl.h, pl.c, pl.nhwc), fn: fn, target: m.Target,
		device: cfg.GPUID, stream: sess.Stream(), dst: sess.InputDevice().Ptr, per: len(sess.Input(1)), out8: pl.uint8In}
	return g, nil
}

// stageSize is the bytes of a host surface packed for upload, and its
// plane pitches.
func stageSize(s *media.Surface) (int, [2]int) {
	switch s.Format {
	case media.NV12:
		cw := 2 * ((s.Width + 1) / 2)
		return s.Width*s.Height + cw*((s.Height+1)/2), [2]int{s.Width, cw}
	}
	row := s.Width * s.Format.Channels()
	return row * s.Height, [2]int{row, 0}
}

// fill preprocesses the images of a run (slots, in order) into the input:
// copies on up to workers goroutines, then one upload and a kernel launch
// an image, all queued on the session's stream.
func (g *gpuPreprocessor) fill(b *media.Buffer, slots []slot, workers int) error {
	g.jobs = g.jobs[:0]
	total := 0
	for k := range slots {
		s := &slots[k]
		surf, err := b.Surface(s.fm.BatchID)
		if err == nil {
			err = g.check(surf, s)
		}
		if err != nil {
			return fmt.Errorf("frame %d of stream %d: %v", s.fm.FrameNumber, s.fm.SourceID, err)
		}
		j := gpuJob{s: surf, device: surf.OnDevice()}
		if !j.device {
			j.off = total
			j.size, j.pitch = stageSize(surf)
			total += (j.size + 255) &^ 255 // each source 256-byte aligned
		}
		g.jobs = append(g.jobs, j)
	}
	if total > 0 {
		if err := g.stage(total, workers); err != nil {
			return err
		}
	}
	for k := range slots {
		t, err := g.launch(k, &g.jobs[k], slots[k].roi)
		if err != nil {
			return fmt.Errorf("frame %d of stream %d: %v", slots[k].fm.FrameNumber, slots[k].fm.SourceID, err)
		}
		slots[k].t = t
	}
	return nil
}

// check refuses what the kernel does not take.
func (g *gpuPreprocessor) check(s *media.Surface, sl *slot) error {
	switch s.Format {
	case media.RGB, media.RGBA, media.GRAY8, media.NV12:
	default:
		return fmt.Errorf("GPU preprocessing takes RGB, RGBA, GRAY8 or NV12 frames, got %v (scaling-compute-hw: 0 and a CPU provider scale others on the CPU)", s.Format)
	}
	if s.Width != sl.fm.Width || s.Height != sl.fm.Height {
		return fmt.Errorf("frame is %dx%d, its metadata says %dx%d", s.Width, s.Height, sl.fm.Width, sl.fm.Height)
	}
	r := sl.roi
	if r.w <= 0 || r.h <= 0 || r.x < 0 || r.y < 0 || r.x+r.w > s.Width || r.y+r.h > s.Height {
		return fmt.Errorf("region %+v outside the %dx%d frame", r, s.Width, s.Height)
	}
	if s.OnDevice() {
		if s.CUDA.Device != g.device {
			return fmt.Errorf("frame in the memory of GPU %d, the model runs on GPU %d (gpu-id)", s.CUDA.Device, g.device)
		}
		return nil
	}
	return s.Check()
}

// stage copies the host frames into pinned memory, rows packed, and
// queues their upload. The previous run's upload is complete: every run
// ends waiting for its stream.
func (g *gpuPreprocessor) stage(total, workers int) error {
	if g.host == nil || len(g.host.Bytes) < total {
		g.freeStaging()
		size := total + total/4 // room for frames that grow a little
		var err error
		if g.host, err = gpu.AllocHost(size); err != nil {
			return err
		}
		if g.dev, err = gpu.Alloc(g.device, size); err != nil {
			return fmt.Errorf("GPU preprocessing staging: %v", err)
		}
	}
	var host []*gpuJob
	for k := range g.jobs {
		if !g.jobs[k].device {
			host = append(host, &g.jobs[k])
		}
	}
	workers = max(1, min(workers, len(host)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(host); i += workers {
				packPlanes(g.host.Bytes[host[i].off:host[i].off+host[i].size], host[i].s, host[i].pitch)
			}
		}()
	}
	wg.Wait()
	g.uploaded += int64(len(host))
	return g.stream.Upload(g.dev, 0, g.host.Bytes[:total])
}

// packPlanes copies the planes of s into dst, rows pitch[i] bytes long.
func packPlanes(dst []byte, s *media.Surface, pitch [2]int) {
	rows := [2]int{s.Height, (s.Height + 1) / 2}
	o := 0
	for i := range s.Planes() {
		src := s.Data[s.Offsets[i]:]
		if s.Strides[i] == pitch[i] {
			n := copy(dst[o:o+pitch[i]*rows[i]], src)
			o += n
			continue
		}
		for y := 0; y < rows[i]; y++ {
			copy(dst[o:o+pitch[i]], src[y*s.Strides[i]:])
			o += pitch[i]
		}
	}
}

// launch queues the kernel for image k of the run from job j's source.
func (g *gpuPreprocessor) launch(k int, j *gpuJob, roi region) (xform, error) {
	p, s := g.p, j.s
	dw, dh, padX, padY, t := p.geometry(roi)
	var src0, src1 unsafe.Pointer
	var pitch0, pitch1 int
	if j.device {
		src0, src1 = s.CUDA.Ptrs[0], s.CUDA.Ptrs[1]
		pitch0, pitch1 = s.CUDA.Pitches[0], s.CUDA.Pitches[1]
	} else {
		src0, pitch0, pitch1 = unsafe.Add(g.dev.Ptr, j.off), j.pitch[0], j.pitch[1]
		src1 = unsafe.Add(src0, pitch0*s.Height)
	}
	nv12, sc := int32(0), s.Format.Channels()
	if s.Format == media.NV12 {
		nv12, sc, src1 = 1, 3, orNil(src1, true)
	} else {
		src1 = orNil(src1, false)
	}
	// The source byte of each model channel, as the CPU preprocessor's
	// src table; luma (a one-channel model, a colour source) reads R, G, B.
	ks := p.src
	luma := p.gray && sc >= 3
	switch {
	case sc == 1:
		ks = [3]int{0, 0, 0}
	case luma:
		ks = [3]int{0, 1, 2}
	}
	matrix := map[media.ColorMatrix]int32{media.BT601: 0, media.BT709: 1, media.BT2020: 2}[s.Matrix.Resolve(s.Height)]
	var bias float32
	if g.out8 {
		bias = 0.5
	}
	b := func(v bool) int32 {
		if v {
			return 1
		}
		return 0
	}
	err := g.fn.Launch(gpu.Dim3{X: uint32((p.w + 31) / 32), Y: uint32((p.h + 7) / 8)}, gpu.Dim3{X: 32, Y: 8}, 0, g.stream,
		src0, int32(pitch0), src1, int32(pitch1), nv12, int32(sc), matrix,
		int32(ks[0]), int32(ks[1]), int32(ks[2]), int32(roi.x), int32(roi.y), int32(roi.w), int32(roi.h),
		int32(dw), int32(dh), int32(padX), int32(padY), int32(p.w), int32(p.h), int32(p.c), b(p.nhwc), b(luma),
		b(p.bilinear), p.scale, p.offsets[0], p.offsets[1], p.offsets[2], bias, b(g.out8),
		unsafe.Add(g.dst, k*g.per))
	if j.device {
		g.direct++
	}
	return t, err
}

// orNil keeps the second plane's pointer only for formats that have one.
func orNil(p unsafe.Pointer, keep bool) unsafe.Pointer {
	if keep {
		return p
	}
	return nil
}

func (g *gpuPreprocessor) freeStaging() {
	g.host.Free()
	g.dev.Free()
	g.host, g.dev = nil, nil
}

func (g *gpuPreprocessor) close() { g.freeStaging() }

// describe says where images are scaled, for the start-up report.
func (g *gpuPreprocessor) describe() string {
	return fmt.Sprintf("preprocessing on GPU %d (kernel vf_preprocess, %s, %s)", g.device, g.target, gpu.NVRTCVersion())
}

// errGPUScaling explains why scaling-compute-hw 1 cannot be honoured.
var errGPUScaling = errors.New("scaling-compute-hw 1 needs the GPU")

// gpuScaling decides where a runner scales its images (scaling-compute-hw)
// and makes the GPU preprocessor when it is the GPU. note says why the CPU
// scales when the GPU was wanted but cannot; err is set only when the GPU
// was required (1).
func (e *nvinfer) gpuScaling(be backend) (g *gpuPreprocessor, note string, err error) {
	cfg := e.cfg
	cb, ok := be.(*cudaBackend)
	switch {
	case !ok:
		return nil, "", nil // the CPU provider scales on the CPU, as DeepStream's CPU paths
	case cfg.ProcessMode != 1:
		return nil, "", nil // secondary mode: crops are scaled on the CPU in this version (preprocessing says so)
	}
	g, err = newGPUPreprocessor(cfg, e.plan, cb.sess)
	if err == nil {
		cb.bound = true
		return g, "", nil
	}
	if cfg.ScalingComputeHW == 1 {
		return nil, "", cfg.keyError("scaling-compute-hw", "1: %v: %v", errGPUScaling, err)
	}
	return nil, fmt.Sprintf("images are scaled on the CPU: the GPU preprocessing kernel is not available (%v); scaling-compute-hw: 1 makes this an error", err), nil
}
