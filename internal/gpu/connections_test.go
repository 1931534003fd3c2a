package gpu

import (
	"os"
	"strings"
	"testing"
)

// CUDA_DEVICE_MAX_CONNECTIONS is 32 in a vidflow process unless the user
// set it: set before main (this test binary's own environment shows it),
// and a value already there is kept. The start-up report names it.
func TestConnectionsEnv(t *testing.T) {
	old, had := os.LookupEnv(ConnectionsEnv)
	t.Cleanup(func() {
		if had {
			os.Setenv(ConnectionsEnv, old)
		} else {
			os.Unsetenv(ConnectionsEnv)
		}
	})
	if !had {
		t.Fatalf("%s is unset in a process that imports internal/gpu; want %s", ConnectionsEnv, DefaultConnections)
	}
	os.Unsetenv(ConnectionsEnv)
	if !setConnections() || os.Getenv(ConnectionsEnv) != DefaultConnections {
		t.Errorf("unset: setConnections left %s=%q, want %s", ConnectionsEnv, os.Getenv(ConnectionsEnv), DefaultConnections)
	}
	os.Setenv(ConnectionsEnv, "8")
	if setConnections() || os.Getenv(ConnectionsEnv) != "8" {
		t.Errorf("set to 8: setConnections changed it to %q", os.Getenv(ConnectionsEnv))
	}
	if note := connectionsNote(); !strings.Contains(note, "8 hardware queues") || !strings.Contains(note, ConnectionsEnv) {
		t.Errorf("start-up note %q", note)
	}
}
