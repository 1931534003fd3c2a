package gpu

import (
	"fmt"
	"os"
)

// ConnectionsEnv is CUDA's own variable for the number of hardware work
// queues a context's streams are spread over: 8 unless set, 32 at most.
// Streams beyond that share a queue, and work in one waits behind the
// other's (false dependencies). A vidflow process has a stream per
// decoder (150 on the H200) and one per model session, so with 8 queues
// each model session shared its queue with some 20 decoders, and its
// kernels waited behind their per-frame copies. On the H200, 150 × 1080p
// streams at interval 1 with the model in batches of about 70: 111 ms a
// run with 8 queues, 57 ms with 32 (docs/gpu.md).
const ConnectionsEnv = "CUDA_DEVICE_MAX_CONNECTIONS"

// DefaultConnections is the value vidflow gives ConnectionsEnv when the
// user has not set it: CUDA's maximum.
const DefaultConnections = "32"

// The driver reads ConnectionsEnv when it creates a context, and
// GStreamer's nvcodec or ONNX Runtime may create one before any vidflow
// GPU code runs, so it is set as the program starts, before main. A value
// the user set, in the environment or before this package's init, is
// kept.
func init() { setConnections() }

// setConnections sets ConnectionsEnv to DefaultConnections unless it is
// set already, and reports whether it did.
func setConnections() bool {
	if _, ok := os.LookupEnv(ConnectionsEnv); ok {
		return false
	}
	os.Setenv(ConnectionsEnv, DefaultConnections)
	return true
}

// connectionsNote is the start-up report's words for ConnectionsEnv.
func connectionsNote() string {
	return fmt.Sprintf(", %s hardware queues (%s)", os.Getenv(ConnectionsEnv), ConnectionsEnv)
}
