package sinks

import "github.com/vidflow/vidflow/element"

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	registerEncode(r)
	registerGstsink(r)
	registerRtsp(r)
	registerSink(r)
}
