package infer

import (
	"fmt"
	"strings"

	"github.com/vidflow/vidflow/internal/gpu"
)

// Where a model runs: execution-provider cpu, cuda (required: an error
// when no GPU can be used) or auto (CUDA when it can be used, else the
// CPU, with a warning saying why).

// resolveProvider returns the provider the model runs on ("cpu" or
// "cuda") and, for auto falling back to the CPU, the reason.
func resolveProvider(cfg *Config) (ep, fallback string, err error) {
	if cfg.ExecutionProvider != "cuda" && cfg.ExecutionProvider != "auto" {
		return "cpu", "", nil
	}
	err = gpuReady(cfg.GPUID)
	switch {
	case err == nil:
		return "cuda", "", nil
	case cfg.ExecutionProvider == "auto":
		return "cpu", fmt.Sprintf("execution-provider auto: running model %s on the CPU: %v", cfg.ONNXFile, err), nil
	}
	return "", "", cfg.keyError("execution-provider", "cuda: %v (execution-provider auto falls back to the CPU)", err)
}

// gpuReady checks that device id can run ONNX Runtime's CUDA provider.
func gpuReady(id int) error {
	if err := gpu.CheckDevice(id); err != nil {
		return err
	}
	ortState.mu.Lock()
	lib := ortState.lib
	ortState.mu.Unlock()
	if lib == "" {
		return fmt.Errorf("ONNX Runtime was loaded by the application, not vidflow: its C API cannot be reached for I/O binding")
	}
	if err := gpu.LoadORT(lib); err != nil {
		return err
	}
	if !gpu.HasCUDAProvider() {
		return fmt.Errorf("ONNX Runtime %s (%s) is built without the CUDA execution provider (see docs/gpu.md for a CUDA build)", gpu.ORTVersion(), lib)
	}
	return nil
}

// ParseCUDAOptions reads "key=value;key=value" CUDA provider options.
func ParseCUDAOptions(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
