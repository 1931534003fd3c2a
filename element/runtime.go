package element

import "time"

// ToDuration converts a value as a Duration property's value is converted:
// a time.Duration, a number of unit (a PropSpec's Unit, time.Microsecond
// when 0), or a string ("250ms", or a number of unit). Elements use it in
// SetProperty, for values changed while they run.
func ToDuration(v any, unit time.Duration) (time.Duration, error) {
	x, err := convert(&PropSpec{Type: Duration, Unit: unit}, v)
	if err != nil {
		return 0, err
	}
	return x.(time.Duration), nil
}

// ToBool converts a value as a Bool property's value is converted: a bool,
// 0 or 1, or a string GStreamer takes ("true", "0", ...).
func ToBool(v any) (bool, error) {
	x, err := convert(&PropSpec{Type: Bool}, v)
	if err != nil {
		return false, err
	}
	return x.(bool), nil
}

// PropertyGetter is an element that reports the value in force of
// properties that can change while it runs (Pipeline.Property): what a
// PropertySetter set, read back from where it acts (a GStreamer element's
// own property, for one that wraps GStreamer).
type PropertyGetter interface {
	Property(name string) (any, error)
}
