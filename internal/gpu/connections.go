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
// each model session shares its queue with some 20 decoders. On the H200,
// 150 × 1080p streams at interval 1 in batches of about 70: with 8 queues
// the infer element's queue was full and its sessions at work 3.7 of 4
// (the model the limit); with 32, at the same rate, its queue was a third
// full and 1.8 of 4 at work (docs/gpu.md).
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
