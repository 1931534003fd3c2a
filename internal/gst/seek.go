package gst

/*
#cgo pkg-config: gstreamer-1.0
#include "vf.h"
*/
import "C"

import (
	"fmt"
	"time"
)

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

// Duration is the length the pipeline's source announces (an MP4's index,
// a file's header), or 0 when it does not know one (live sources, raw
// streams, before preroll). Asked of the running pipeline, it costs no
// second open of the file (Discover does: with NVDEC ranked first, it
// would create a decoder for it).
func (p *Pipeline) Duration() time.Duration {
	var d C.gint64
	err := p.use(func() error {
		if C.gst_element_query_duration(p.c.pipe, C.GST_FORMAT_TIME, &d) == 0 {
			d = 0
		}
		return nil
	})
	if err != nil || d < 0 {
		return 0
	}
	return time.Duration(d)
}
