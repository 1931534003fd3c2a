package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/gst"
)

// decodeFloor runs gst-launch-1.0 decoding n copies of the clip to
// fakesink with the conversion vidflow's capture does (once per clip and
// stream count).
func (b *bench) decodeFloor(clip string, n int) (float64, error) {
	key := fmt.Sprintf("decode %s %d", clip, n)
	if f, ok := b.floors[key]; ok {
		return f, nil
	}
	frames := int64(b.o.frames)
	if frames == 0 {
		mi, err := vidflow.Discover(clip)
		if err != nil {
			return 0, fmt.Errorf("decode floor: %w", err)
		}
		if frames = mi.Frames(); frames == 0 {
			return 0, fmt.Errorf("decode floor: %s: frame count unknown; give -frames", clip)
		}
	}
	desc := []string{"-q"}
	for i := 0; i < n; i++ {
		desc = append(desc, "filesrc", `location="`+clip+`"`, "!", "decodebin", "!")
		if b.o.frames > 0 {
			// identity passes eos-after+1 buffers (GStreamer 1.22).
			desc = append(desc, "identity", fmt.Sprintf("eos-after=%d", max(b.o.frames-1, 1)), "!")
		}
		if b.o.convert == "device" { // NVDEC into CUDA memory, nothing after it (as the sources then)
			if gst.HasFactory("cudaconvert") && gst.HasFactory("cudascale") {
				desc = append(desc, "cudaupload", "!", "cudaconvert", "!", "cudascale", "!")
			}
			desc = append(desc, "video/x-raw(memory:CUDAMemory),format=NV12", "!", "fakesink", "sync=false")
			continue
		}
		if b.o.convert == "cuda" { // as the sources then convert
			desc = append(desc, "cudaupload", "!", "cudaconvert", "!", "cudascale", "!", "video/x-raw(memory:CUDAMemory),format=RGB", "!",
				"cudadownload", "!", "video/x-raw,format=RGB", "!", "fakesink", "sync=false")
			continue
		}
		desc = append(desc, "videoconvert", "!", "videoscale", "!", "video/x-raw,format=RGB", "!", "fakesink", "sync=false")
	}
	row, err := b.repeat(func() (*benchRow, error) {
		// The decoders vidflow's decoder=auto prefers: NVDEC where GStreamer
		// has it (no effect elsewhere), so that the floor decodes alike.
		row, err := b.childEnv([]string{nvdecFirst}, "decode", "gst-launch-1.0 (floor)", "gst-launch-1.0", desc...)
		if err != nil {
			return nil, err
		}
		row.Clip, row.Streams, row.Frames = filepath.Base(clip), n, frames*int64(n)
		row.FPS = float64(row.Frames) / row.Seconds
		row.StreamFPS = slices.Repeat([]float64{row.FPS / float64(n)}, n)
		return row, nil
	})
	if err != nil {
		return 0, err
	}
	b.add(row)
	b.floors[key] = row.FPS
	return row.FPS, nil
}

// nvdecFirst ranks GStreamer's NVIDIA decoders first, as vidflow's capture
// does with decoder=auto.
const nvdecFirst = "GST_PLUGIN_FEATURE_RANK=nvh264dec:MAX,nvh265dec:MAX,nvvp9dec:MAX,nvvp8dec:MAX,nvav1dec:MAX," +
	"nvmpegvideodec:MAX,nvmpeg2videodec:MAX,nvmpeg4videodec:MAX,nvjpegdec:MAX"

// child runs a command, measuring its wall time, CPU and peak memory. The
// peak is the child's VmHWM, polled while it runs: the rusage maxrss of a
// child started by Go counts the parent's memory (vfork shares it until exec).
func (b *bench) child(scenario, name, cmd string, args ...string) (*benchRow, error) {
	return b.childEnv(nil, scenario, name, cmd, args...)
}

// childEnv is child with variables added to the environment.
func (b *bench) childEnv(env []string, scenario, name, cmd string, args ...string) (*benchRow, error) {
	c := exec.Command(cmd, args...)
	if env != nil {
		c.Env = append(os.Environ(), env...)
	}
	var stderr strings.Builder
	c.Stderr = &stderr
	var stdout strings.Builder
	c.Stdout = &stdout
	t0 := time.Now()
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", cmd, err)
	}
	var killed atomic.Bool
	if b.o.stall > 0 {
		limit := 5 * b.o.stall
		kill := time.AfterFunc(limit, func() { killed.Store(true); _ = c.Process.Kill() })
		defer kill.Stop()
		defer func() {
			if killed.Load() {
				fmt.Fprintf(b.out, "bench: %s did not finish in %s and was killed\n", cmd, limit)
			}
		}()
	}
	status := fmt.Sprintf("/proc/%d/status", c.Process.Pid)
	done := make(chan struct{})
	peak := make(chan float64, 1)
	go func() {
		hwm := 0.0
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := statusMB(status, "VmHWM"); v > hwm {
				hwm = v
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-t.C:
			}
		}
	}()
	err := c.Wait()
	wall := time.Since(t0).Seconds()
	close(done)
	hwm := <-peak
	if err != nil {
		return nil, fmt.Errorf("%s: %v\n%s%s", cmd, err, stdout.String(), stderr.String())
	}
	row := &benchRow{Scenario: scenario, Name: name, Seconds: wall, Note: stdout.String(), PeakMB: hwm}
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		row.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
		row.CPUCores = row.CPUSeconds / wall
	}
	return row, nil
}
