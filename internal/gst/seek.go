package gst

/*
#cgo pkg-config: gstreamer-1.0
#include "vf.h"
*/
import "C"

import "fmt"

// Rewind seeks the pipeline back to its start (a flushing seek to the
// first key frame), as DeepStream's nvurisrcbin does for file-loop: the
// elements, the decoder and its surface pool stay as they are, and the
// appsink, flushed, delivers from the start again. A file that cannot
// seek returns an error; the caller then restarts the pipeline instead.
func (p *Pipeline) Rewind() error {
	return p.use(func() error {
		flags := C.GstSeekFlags(C.GST_SEEK_FLAG_FLUSH | C.GST_SEEK_FLAG_KEY_UNIT)
		if C.gst_element_seek_simple(p.c.pipe, C.GST_FORMAT_TIME, flags, 0) == 0 {
			return fmt.Errorf("gst: %s: seek to the start refused", p.name)
		}
		return nil
	})
}
