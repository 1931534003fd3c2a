package vidflow_test

import (
	"strings"
	"testing"

	"github.com/vidflow/vidflow/internal/elements/analytics"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/elements/track"
	"github.com/vidflow/vidflow/internal/msgconv"
)

// Every element family's config loader reads through the bounded reader:
// a device (or a FIFO, or a folder) is refused at once, naming it, instead
// of being read until memory runs out.
func TestConfigLoadersRefuseDevices(t *testing.T) {
	for name, load := range map[string]func(string) error{
		"infer":     func(p string) error { _, err := infer.LoadConfig(p); return err },
		"track":     func(p string) error { _, err := track.LoadConfig(p); return err },
		"analytics": func(p string) error { _, err := analytics.LoadConfig(p); return err },
		"msgconv":   func(p string) error { _, err := msgconv.LoadConfig(p); return err },
	} {
		for _, path := range []string{"/dev/zero", t.TempDir()} {
			err := load(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s.LoadConfig(%s): %v, want a refusal naming it", name, path, err)
			}
		}
	}
}
