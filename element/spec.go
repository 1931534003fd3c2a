package element

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Props are element properties by name, as DeepStream and GStreamer write
// them; '_' and '-' are the same.
type Props map[string]any

// PropType is the type of a property's value.
type PropType int

// Property types.
const (
	Int PropType = iota
	Float
	Bool
	String
	Duration // a time.Duration, or a number of the unit the spec names
)

func (t PropType) String() string {
	return [...]string{"integer", "number", "boolean", "string", "duration"}[t]
}

// PropSpec describes one property of an element kind.
type PropSpec struct {
	Name    string
	Type    PropType
	Default any
	Doc     string
	// Unit is the unit of a Duration given as a plain number (default
	// time.Microsecond, as DeepStream's timeouts are).
	Unit time.Duration
	// Ignored marks a DeepStream property accepted for compatibility that
	// has no effect here; setting it posts a warning once.
	Ignored bool
}

// Role is how an element kind connects.
type Role int

// Roles.
const (
	RoleSource    Role = iota // no inputs, one output
	RoleTransform             // one input, one or more outputs
	RoleMux                   // several unbatched inputs, one batched output
	RoleSink                  // one input, no outputs
)

func (r Role) String() string { return [...]string{"source", "transform", "mux", "sink"}[r] }

// KindSpec describes an element kind: its properties and how to make one.
type KindSpec struct {
	Kind    string
	Aliases []string
	Doc     string
	Role    Role
	Props   []PropSpec
	New     func(c *Config) (Element, error)
}

// NormalizeName turns a property name into its canonical hyphenated form.
func NormalizeName(name string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "_", "-"))
}

// Config is an element's resolved properties: defaults overridden by what
// was given, converted to the spec's types.
type Config struct {
	Element string
	Kind    string
	values  map[string]any
	set     map[string]bool
	ignored []string
}

// NewConfig checks props against spec and resolves them. Errors name the
// element and the property.
func NewConfig(spec *KindSpec, element string, props Props) (*Config, error) {
	c := &Config{Element: element, Kind: spec.Kind, values: map[string]any{}, set: map[string]bool{}}
	byName := map[string]*PropSpec{}
	for i := range spec.Props {
		p := &spec.Props[i]
		byName[p.Name] = p
		if p.Default != nil {
			c.values[p.Name] = p.Default
		}
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := NormalizeName(k)
		p, ok := byName[name]
		if !ok {
			return nil, &ElementError{Element: element, Kind: spec.Kind, Err: fmt.Errorf("unknown property %q (known: %s)", k, propNames(spec))}
		}
		v, err := convert(p, props[k])
		if err != nil {
			return nil, &ElementError{Element: element, Kind: spec.Kind, Err: fmt.Errorf("property %q: %w", name, err)}
		}
		c.values[name] = v
		c.set[name] = true
		if p.Ignored {
			c.ignored = append(c.ignored, name)
		}
	}
	return c, nil
}

func propNames(spec *KindSpec) string {
	names := make([]string, len(spec.Props))
	for i, p := range spec.Props {
		names[i] = p.Name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// ToInt converts a value as an Int property's value is converted: an
// integer, a whole float, a bool or a decimal string (YAML, JSON and
// command lines give all of these).
func ToInt(v any) (int, error) {
	x, err := convert(&PropSpec{Type: Int}, v)
	if err != nil {
		return 0, err
	}
	return x.(int), nil
}

func convert(p *PropSpec, v any) (any, error) {
	bad := func() error { return fmt.Errorf("want %s, got %T %v", p.Type, v, v) }
	switch p.Type {
	case Int:
		switch x := v.(type) {
		case int:
			return x, nil
		case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			i, _ := strconv.Atoi(fmt.Sprint(x))
			return i, nil
		case float64:
			if x != math.Trunc(x) {
				return nil, bad()
			}
			return int(x), nil
		case float32:
			if float64(x) != math.Trunc(float64(x)) {
				return nil, bad()
			}
			return int(x), nil
		case bool:
			if x {
				return 1, nil
			}
			return 0, nil
		case string:
			i, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil {
				return nil, bad()
			}
			return i, nil
		}
	case Float:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, bad()
			}
			return f, nil
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, bad()
			}
			return b, nil
		}
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case fmt.Stringer:
			return x.String(), nil
		case int, int64, float64, bool:
			return fmt.Sprint(x), nil
		}
	case Duration:
		unit := p.Unit
		if unit == 0 {
			unit = time.Microsecond
		}
		switch x := v.(type) {
		case time.Duration:
			return x, nil
		case int:
			return time.Duration(x) * unit, nil
		case int64:
			return time.Duration(x) * unit, nil
		case float64:
			return time.Duration(x * float64(unit)), nil
		case string:
			if d, err := time.ParseDuration(x); err == nil {
				return d, nil
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return time.Duration(f * float64(unit)), nil
			}
		}
	}
	return nil, bad()
}

// Int returns an integer property.
func (c *Config) Int(name string) int { v, _ := c.values[name].(int); return v }

// Float returns a number property.
func (c *Config) Float(name string) float64 { v, _ := c.values[name].(float64); return v }

// Bool returns a boolean property.
func (c *Config) Bool(name string) bool { v, _ := c.values[name].(bool); return v }

// String returns a string property.
func (c *Config) String(name string) string { v, _ := c.values[name].(string); return v }

// Duration returns a duration property.
func (c *Config) Duration(name string) time.Duration {
	v, _ := c.values[name].(time.Duration)
	return v
}

// IsSet reports whether the property was given (not defaulted).
func (c *Config) IsSet(name string) bool { return c.set[name] }

// Ignored lists the given properties that have no effect here.
func (c *Config) Ignored() []string { return c.ignored }

// Errorf makes an error naming the element.
func (c *Config) Errorf(format string, args ...any) error {
	return &ElementError{Element: c.Element, Kind: c.Kind, Err: fmt.Errorf(format, args...)}
}
