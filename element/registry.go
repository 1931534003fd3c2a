package element

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Registry maps kind names (and aliases) to element kinds.
type Registry struct {
	mu          sync.RWMutex
	kinds       map[string]*KindSpec
	unavailable map[string]string // kinds that cannot exist here, and why
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{kinds: map[string]*KindSpec{}, unavailable: map[string]string{}}
}

// Unavailable records a kind that has no element here (a DeepStream
// element vidflow cannot have), so that asking for it says why and what
// to use instead rather than only that it is unknown.
func (r *Registry) Unavailable(kind, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unavailable[kind] = why
}

// Clone returns a registry holding the same kinds, to extend without
// changing r.
func (r *Registry) Clone() *Registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := NewRegistry()
	for n, s := range r.kinds {
		c.kinds[n] = s
	}
	for n, why := range r.unavailable {
		c.unavailable[n] = why
	}
	return c
}

// Register adds a kind; registering a name twice is an error.
func (r *Registry) Register(spec KindSpec) error {
	if spec.Kind == "" || spec.New == nil {
		return fmt.Errorf("register: kind needs a name and a New function")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	names := append([]string{spec.Kind}, spec.Aliases...)
	for _, n := range names {
		if _, dup := r.kinds[n]; dup {
			return fmt.Errorf("register: element kind %q already registered", n)
		}
	}
	s := spec
	for _, n := range names {
		r.kinds[n] = &s
	}
	return nil
}

// MustRegister is Register for kinds whose names are known not to clash
// (the built-in ones); it panics on an error.
func (r *Registry) MustRegister(spec KindSpec) {
	if err := r.Register(spec); err != nil {
		panic(err)
	}
}

// Lookup finds a kind by name or alias.
func (r *Registry) Lookup(kind string) (*KindSpec, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if s, ok := r.kinds[kind]; ok {
		return s, nil
	}
	if why, ok := r.unavailable[kind]; ok {
		return nil, fmt.Errorf("element kind %q is not available in vidflow: %s", kind, why)
	}
	return nil, fmt.Errorf("unknown element kind %q (known: %s)", kind, strings.Join(r.namesLocked(), ", "))
}

// Names lists the registered kinds (not aliases), sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	var names []string
	for n, s := range r.kinds {
		if n == s.Kind {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Specs returns the registered kinds (not aliases), sorted by name.
func (r *Registry) Specs() []*KindSpec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var specs []*KindSpec
	for _, n := range r.namesLocked() {
		specs = append(specs, r.kinds[n])
	}
	return specs
}
