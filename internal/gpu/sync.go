package gpu

/*
#include "gpu.h"
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
)

// SyncEnv names the experiment that sets how threads wait for the GPU in
// the primary context, which vidflow, ONNX Runtime and GStreamer's
// decoders share: by default (auto, on a machine with more cores than
// contexts) every wait spins on its core. On the H200, 4 sessions' waits
// for 240 ms runs and 150 decoders' per-frame waits all spun; "blocking"
// puts them to sleep on an interrupt instead. docs/gpu.md says what it is
// for.
const SyncEnv = "VIDFLOW_CUDA_SYNC"

// The CU_CTX_SCHED_* flags.
var syncFlags = map[string]uint{"auto": 0, "spin": 1, "yield": 2, "blocking": 4}

// cudaSync is SyncEnv's value checked: its flags, and whether it is set.
func cudaSync() (flags uint, set bool, err error) {
	v := os.Getenv(SyncEnv)
	if v == "" {
		return 0, false, nil
	}
	f, ok := syncFlags[strings.ToLower(v)]
	if !ok {
		return 0, false, fmt.Errorf("%s=%q: want auto, spin, yield or blocking", SyncEnv, v)
	}
	return f, true, nil
}

// applyCUDASync hands SyncEnv's flags to the driver layer, which sets them
// on each device's primary context when it first retains it.
func applyCUDASync() error {
	f, set, err := cudaSync()
	if err != nil || !set {
		return err
	}
	C.vf_cu_set_sched(C.uint(f))
	return nil
}

// syncNote is the start-up report's words for SyncEnv, or "".
func syncNote() string {
	if v := os.Getenv(SyncEnv); v != "" {
		return fmt.Sprintf(", waits for the GPU: %s (%s)", strings.ToLower(v), SyncEnv)
	}
	return ""
}
