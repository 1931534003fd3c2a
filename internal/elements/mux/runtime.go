package mux

import (
	"fmt"
	"time"

	"github.com/vidflow/vidflow/element"
)

// SetProperty changes batched-push-timeout (a time.Duration, or µs as a
// number) or max-latency (a time.Duration, or ms) while the batcher runs,
// as DeepStream's mux/batched-push-timeout and mux/max-latency do. The new
// timeout applies to the batch being filled (its deadline is its first
// frame's time plus the new timeout); the new bound to the next buffer the
// engine checks.
func (m *mux) SetProperty(name string, value any) error {
	switch element.NormalizeName(name) {
	case "batched-push-timeout":
		d, err := element.ToDuration(value, time.Microsecond)
		if err != nil {
			return fmt.Errorf("batched-push-timeout: %w", err)
		}
		if d < 0 {
			d = -1 // any negative value waits for every stream
		}
		m.timeout.Store(int64(d))
	case "max-latency":
		d, err := element.ToDuration(value, time.Millisecond)
		if err != nil {
			return fmt.Errorf("max-latency: %w", err)
		}
		if d < 0 {
			return fmt.Errorf("max-latency must not be negative, got %v", d)
		}
		m.latency.Store(int64(d))
	default:
		return fmt.Errorf("property %q cannot change while running (batched-push-timeout and max-latency can)", name)
	}
	select {
	case m.changed <- struct{}{}:
	default: // a wake-up is pending already
	}
	return nil
}

// Property reads back batched-push-timeout and max-latency as they are in
// force (time.Duration).
func (m *mux) Property(name string) (any, error) {
	switch element.NormalizeName(name) {
	case "batched-push-timeout":
		return time.Duration(m.timeout.Load()), nil
	case "max-latency":
		return time.Duration(m.latency.Load()), nil
	}
	return nil, fmt.Errorf("property %q cannot be read while running (batched-push-timeout and max-latency can)", name)
}
