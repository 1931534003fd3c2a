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
// stream count). Start-up (tens of decoders take seconds to open) is not
// in the rate: a run of the first startFrames frames is timed too and its
// frames and time are taken off the whole run's; it is reported apart.
func (b *bench) decodeFloor(clip string, n int) (float64, error) {
	key := fmt.Sprintf("decode %s %d", clip, n)
	if f, ok := b.floors[key]; ok {
		return f, nil
	}
	row, err := b.repeat(func() (*benchRow, error) { return b.measureDecodeFloor(clip, n) })
	if err != nil {
		return 0, err
	}
	b.add(row)
	b.floors[key] = row.FPS
	return row.FPS, nil
}

// measureDecodeFloor times the floor once: a start-up run of startFrames
// frames a stream, then the whole run, the first's frames and time taken
// off the second's.
func (b *bench) measureDecodeFloor(clip string, n int) (*benchRow, error) {
	frames, err := b.floorFrames(clip)
	if err != nil {
		return nil, err
	}
	limit := int64(b.o.frames)
	if b.o.loop {
		limit = frames
	}
	start, err := b.floorRun(clip, int64(n), min(startFrames, frames/4))
	if err != nil {
		return nil, err
	}
	row, err := b.floorRun(clip, int64(n), limit)
	if err != nil {
		return nil, err
	}
	row.Clip, row.Streams, row.Frames = filepath.Base(clip), n, frames*int64(n)
	row.FPS = float64(row.Frames) / row.Seconds
	if d := row.Seconds - start.Seconds; d > 0 && start.Frames < row.Frames {
		row.StartupS = start.Seconds
		row.FPS = float64(row.Frames-start.Frames) / d
		row.Note = fmt.Sprintf("start-up: a %d-frame run's %.1f s and frames taken off", start.Frames/int64(n), start.Seconds)
	}
	row.StreamFPS = slices.Repeat([]float64{row.FPS / float64(n)}, n)
	return row, nil
}

// startFrames is the length of the floor's start-up run, per stream.
const startFrames = 30

// floorFrames is the floor's length per stream: -frames, or the whole
// clip when it is shorter (gst-launch cannot loop: a -loop run's clip was
// remuxed long enough beforehand, runClip) or -frames is 0.
func (b *bench) floorFrames(clip string) (int64, error) {
	frames := int64(b.o.frames)
	if frames > 0 && !b.o.loop {
		return frames, nil
	}
	mi, err := vidflow.Discover(clip)
	if err != nil {
		return 0, fmt.Errorf("decode floor: %w", err)
	}
	n := mi.Frames()
	if n == 0 && frames == 0 {
		return 0, fmt.Errorf("decode floor: %s: frame count unknown; give -frames", clip)
	}
	if frames == 0 || (n > 0 && n < frames) {
		frames = n
	}
	return frames, nil
}

// floorRun times one gst-launch-1.0 run of n copies of clip, each ended
// after limit frames (0: the whole clip); Frames is limit*n when limited.
func (b *bench) floorRun(clip string, n, limit int64) (*benchRow, error) {
	desc := []string{"-q"}
	for i := 0; i < int(n); i++ {
		desc = append(desc, "filesrc", `location="`+clip+`"`, "!", "decodebin", "!")
		if limit > 0 {
			// identity passes eos-after+1 buffers (GStreamer 1.22).
			desc = append(desc, "identity", fmt.Sprintf("eos-after=%d", max(limit-1, 1)), "!")
		}
		desc = append(desc, b.floorTail()...)
	}
	// The decoders vidflow's decoder=auto prefers: NVDEC where GStreamer
	// has it (no effect elsewhere), so that the floor decodes alike.
	row, err := b.childEnv([]string{nvdecFirst}, "decode", "gst-launch-1.0 (floor)", "gst-launch-1.0", desc...)
	if err != nil {
		return nil, err
	}
	row.Frames = limit * n
	return row, nil
}

// floorTail is what follows the decoder in the floor: what vidflow's
// capture does with -convert.
func (b *bench) floorTail() []string {
	switch b.o.convert {
	case "device": // NVDEC into CUDA memory, nothing after it (as the sources then)
		var via []string
		if gst.HasFactory("cudaconvert") && gst.HasFactory("cudascale") {
			via = []string{"cudaupload", "!", "cudaconvert", "!", "cudascale", "!"}
		}
		return append(via, "video/x-raw(memory:CUDAMemory),format=NV12", "!", "fakesink", "sync=false")
	case "cuda":
		return []string{"cudaupload", "!", "cudaconvert", "!", "cudascale", "!", "video/x-raw(memory:CUDAMemory),format=RGB", "!",
			"cudadownload", "!", "video/x-raw,format=RGB", "!", "fakesink", "sync=false"}
	}
	return []string{"videoconvert", "!", "videoscale", "!", "video/x-raw,format=RGB", "!", "fakesink", "sync=false"}
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
