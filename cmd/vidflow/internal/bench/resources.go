package bench

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vidflow/vidflow/internal/elements/infer"
)

// cpuMark is CPU time and the peak-RSS mark at the start of a measurement.
type cpuMark struct {
	cpu  float64
	wall time.Time
	gpu  *gpuSampler
}

// measureStart resets the process's peak RSS (VmHWM) and notes its CPU time.
func measureStart() cpuMark {
	debug.FreeOSMemory()                                      // so that the peak is this run's, as far as Go's heap goes
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM (Linux ≥ 4.0)
	return cpuMark{cpu: cpuSeconds(), wall: time.Now(), gpu: startGPUSampler()}
}

func (u cpuMark) finish(row *benchRow) { u.finishAt(row, time.Since(u.wall).Seconds()) }

func (u cpuMark) finishAt(row *benchRow, wall float64) {
	row.CPUSeconds = cpuSeconds() - u.cpu
	row.CPUCores = row.CPUSeconds / wall
	row.PeakMB = procStatusMB("VmHWM")
	row.GPU = u.gpu.stop()
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

// procStatusMB reads a kB field of /proc/self/status in MB.
func procStatusMB(field string) float64 { return statusMB("/proc/self/status", field) }

// statusMB reads a kB field of a /proc/<pid>/status file in MB.
func statusMB(path, field string) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// machine describes the machine for the report: results are compared
// across machines and loads.
func machine() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadAvg()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "MemTotal:"), "%f", &kb)
		m.MemoryGB = math.Round(kb/1024/1024*10) / 10
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if out, err := exec.Command("gst-launch-1.0", "--version").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "GStreamer") {
				m.GStreamer = strings.TrimSpace(line)
			}
		}
	}
	if lib, err := infer.InitORT(""); err == nil {
		m.ORT = lib
	}
	return m
}

// loadAvg is /proc/loadavg: other work on a shared machine shows in it.
func loadAvg() [3]float64 {
	var l [3]float64
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscanf(string(data), "%f %f %f", &l[0], &l[1], &l[2])
	}
	return l
}
