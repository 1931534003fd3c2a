package bench

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// gpuUse is an NVIDIA GPU's load during a run, sampled by nvidia-smi
// every 200 ms: utilisation (the share of time a kernel ran) and memory.
type gpuUse struct {
	Name       string  `json:"name"`
	UtilMean   float64 `json:"util_mean_pct"`
	UtilMax    float64 `json:"util_max_pct"`
	DecMean    float64 `json:"decoder_mean_pct"` // NVDEC
	EncMean    float64 `json:"encoder_mean_pct"` // NVENC
	MemMaxMB   float64 `json:"mem_max_mb"`
	Samples    int     `json:"samples"`
	sumU, sumD float64
	sumE       float64
}

// gpuSampler runs nvidia-smi in the background; nil where there is none.
type gpuSampler struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	use  gpuUse
	done chan struct{}
}

func startGPUSampler() *gpuSampler {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil
	}
	cmd := exec.Command(path, "--query-gpu=name,utilization.gpu,utilization.decoder,utilization.encoder,memory.used",
		"--format=csv,noheader,nounits", "-i", "0", "-lms", "200")
	out, err := cmd.StdoutPipe()
	if err != nil || cmd.Start() != nil {
		return nil
	}
	s := &gpuSampler{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Split(sc.Text(), ",")
			if len(f) < 5 {
				continue
			}
			num := func(i int) float64 { v, _ := strconv.ParseFloat(strings.TrimSpace(f[i]), 64); return v }
			s.mu.Lock()
			u := &s.use
			u.Name = strings.TrimSpace(f[0])
			u.Samples++
			u.sumU += num(1)
			u.sumD += num(2)
			u.sumE += num(3)
			u.UtilMax = max(u.UtilMax, num(1))
			u.MemMaxMB = max(u.MemMaxMB, num(4))
			s.mu.Unlock()
		}
	}()
	return s
}

// stop ends the sampling and returns the load (nil without samples).
func (s *gpuSampler) stop() *gpuUse {
	if s == nil {
		return nil
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	_ = s.cmd.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.use
	if u.Samples == 0 {
		return nil
	}
	n := float64(u.Samples)
	u.UtilMean, u.DecMean, u.EncMean = u.sumU/n, u.sumD/n, u.sumE/n
	return &u
}
