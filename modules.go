package vidflow

import (
	"io"

	"github.com/vidflow/vidflow/internal/modules"
	"github.com/vidflow/vidflow/media"
)

// Module makes one of Service Maker's probe modules by its name, what
// flow.attach(what="measure_fps_probe", name="fps") attaches:
// sample_video_probe (font-size), measure_fps_probe (interval),
// measure_latency_probe, kitti_dump_probe (kitti-dir,
// tracker-kitti-output) and add_message_meta_probe (frame-interval).
// What it prints goes to out (os.Stdout when nil). Unknown modules and
// properties are errors listing the known ones.
func Module(module, name string, props Props, out io.Writer) (*Probe, error) {
	m, err := modules.New(module, name, props, out)
	if err != nil {
		return nil, err
	}
	return NewProbe(name, func(b *media.BatchMeta) { m(b) }), nil
}

// Modules lists the probe modules Module makes.
func Modules() []string { return modules.Names() }
