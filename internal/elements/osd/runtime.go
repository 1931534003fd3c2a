package osd

import (
	"fmt"

	"github.com/vidflow/vidflow/element"
)

// processModeCPU is nvdsosd's process-mode 0 (MODE_CPU); 1 is its GPU
// (CUDA) drawing and 2 Jetson's VIC.
const processModeCPU = 0

// SetProperty takes process-mode while the OSD runs, as DeepStream's
// osd/process-mode does: 0 (CPU) is what vidflow's OSD does, so it is in
// force already; the GPU and VIC modes do not exist here.
func (e *osdElement) SetProperty(name string, value any) error {
	if element.NormalizeName(name) != "process-mode" {
		return fmt.Errorf("property %q cannot change while running (process-mode can, to 0)", name)
	}
	n, err := element.ToInt(value)
	if err != nil || n < 0 || n > 2 {
		return fmt.Errorf("process-mode %v: want 0 (CPU), 1 (GPU) or 2 (VIC)", value)
	}
	if n != processModeCPU {
		return fmt.Errorf("process-mode %d cannot change: vidflow's OSD draws in Go on the CPU (frames in GPU memory are drawn on a host copy); "+
			"it has no CUDA (1) or VIC (2) drawing, so 0 (CPU) is its only mode", n)
	}
	return nil
}

// Property reads back process-mode: always 0 (CPU).
func (e *osdElement) Property(name string) (any, error) {
	if element.NormalizeName(name) != "process-mode" {
		return nil, fmt.Errorf("property %q cannot be read while running (process-mode can)", name)
	}
	return processModeCPU, nil
}
