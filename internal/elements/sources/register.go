package sources

import "github.com/vidflow/vidflow/element"

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	registerCapture(r)
	registerInject(r)
	registerTestsrc(r)
}
