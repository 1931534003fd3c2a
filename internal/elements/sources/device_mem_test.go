package sources

import (
	"strings"
	"testing"
)

// A convert=device stream that would leave the models less than their
// reserve is refused with the numbers, before its decoder takes memory.
func TestDeviceMemoryBound(t *testing.T) {
	if err := deviceMemoryError(0, 100_000); err != nil {
		t.Errorf("100 GB free: %v", err)
	}
	err := deviceMemoryError(1, 2100)
	if err == nil {
		t.Fatal("2100 MiB free: no error")
	}
	for _, want := range []string{"GPU 1", "2100 MiB free", "160 MiB", "2048 MiB", "fewer streams"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
