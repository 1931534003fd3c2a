package track

import (
	"fmt"
	"strings"
	"sync"

	"github.com/vidflow/vidflow/element"
)

// reload is a tracker config waiting for the next batch: DeepStream's
// nvtracker/config-path (the ll-config-file property changed while the
// pipeline runs) re-initialises the tracker with the new file.
type reload struct {
	mu   sync.Mutex
	next *Config // loaded and checked, not yet in force
	file string  // the file in force (or next's)
	alg  string  // its algorithm
}

// SetProperty changes ll-config-file while the tracker runs: the file is
// read and checked at once (an error leaves the tracker as it is), and the
// next batch is tracked with it. The tracks of every stream start over, as
// DeepStream's re-initialised tracker does; ids go on from where they were,
// so that no id is given twice.
func (e *trackerElement) SetProperty(name string, value any) error {
	if element.NormalizeName(name) != "ll-config-file" {
		return fmt.Errorf("property %q cannot change while running (ll-config-file can)", name)
	}
	file, ok := value.(string)
	if !ok || file == "" {
		return fmt.Errorf("ll-config-file: want a file path, got %T %v", value, value)
	}
	if strings.Contains(file, ";") {
		return fmt.Errorf("ll-config-file: sub-batch config lists (%q) are not supported: give one file", file)
	}
	cfg, err := loadFor(file, e.algorithm, e.strict)
	if err != nil {
		return err
	}
	cfg.PredictOnEmpty = e.cfg.PredictOnEmpty
	if _, err := New(cfg); err != nil {
		return fmt.Errorf("ll-config-file %s: %w", file, err)
	}
	e.reload.mu.Lock()
	defer e.reload.mu.Unlock()
	e.reload.next, e.reload.file, e.reload.alg = &cfg, file, cfg.Algorithm
	return nil
}

// Property reads back ll-config-file (the file set last) and tracker
// (the algorithm in force or about to be).
func (e *trackerElement) Property(name string) (any, error) {
	e.reload.mu.Lock()
	defer e.reload.mu.Unlock()
	switch element.NormalizeName(name) {
	case "ll-config-file":
		if e.reload.file != "" {
			return e.reload.file, nil
		}
		return e.file, nil
	case "tracker":
		if e.reload.alg != "" {
			return e.reload.alg, nil
		}
		return e.cfg.Algorithm, nil
	}
	return nil, fmt.Errorf("property %q cannot be read while running (ll-config-file and tracker can)", name)
}

// take returns the tracker for the next batch: t, or a new one made from
// a config set since, which keeps t's next ids.
func (r *reload) take(p element.Ports, t *Tracker) *Tracker {
	r.mu.Lock()
	cfg := r.next
	r.next = nil
	r.mu.Unlock()
	if cfg == nil {
		return t
	}
	n, err := New(*cfg)
	if err != nil { // checked by SetProperty: not expected
		p.Warn("tracker config %s: %v; the tracker goes on with the old one", r.file, err)
		return t
	}
	for src, id := range t.nextID {
		n.nextID[src] = id
	}
	for _, u := range cfg.Unknown {
		p.Warn("%s (DeepStream ignores it too; strict-config makes it an error)", u)
	}
	p.Info("tracker config %s in force (%s): tracks start over", r.file, cfg.Algorithm)
	return n
}
