// Package modules re-does Service Maker's probe modules (the plugins a
// pipeline graph attaches by type, "sample_video_probe.sample_video_probe")
// as Go batch-metadata probes: sample_video_probe, measure_fps_probe,
// measure_latency_probe, kitti_dump_probe and add_message_meta_probe.
package modules

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// Module is a probe made by a module.
type Module func(*media.BatchMeta)

// spec lists a module's properties with their defaults.
type spec struct {
	props map[string]any
	make  func(c *conf) Module
}

var specs = map[string]spec{
	"sample_video_probe":     {props: map[string]any{"font-size": 12}, make: countMarker},
	"measure_fps_probe":      {props: map[string]any{"interval": 5}, make: measureFPS},
	"measure_latency_probe":  {props: map[string]any{}, make: measureLatency},
	"kitti_dump_probe":       {props: map[string]any{"kitti-dir": "/tmp/kitti", "tracker-kitti-output": false}, make: kittiDump},
	"add_message_meta_probe": {props: map[string]any{"frame-interval": 30}, make: addMessageMeta},
}

// Names lists the modules.
func Names() []string {
	var n []string
	for k := range specs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

type conf struct {
	name  string
	props map[string]any
	out   io.Writer
}

func (c *conf) int(k string) int {
	v, _ := element.ToInt(c.props[k])
	return v
}

func (c *conf) str(k string) string { return fmt.Sprint(c.props[k]) }

// New makes the module's probe with its properties (Service Maker's
// names; unknown ones are errors listing the known). out receives what it
// prints (os.Stdout when nil).
func New(module, name string, props map[string]any, out io.Writer) (Module, error) {
	s, ok := specs[module]
	if !ok {
		return nil, fmt.Errorf("unknown module %q (known: %s)", module, strings.Join(Names(), ", "))
	}
	c := &conf{name: name, props: map[string]any{}, out: out}
	if out == nil {
		c.out = os.Stdout
	}
	for k, v := range s.props {
		c.props[k] = v
	}
	for k, v := range props {
		k = element.NormalizeName(k)
		def, ok := s.props[k]
		if !ok {
			var known []string
			for kk := range s.props {
				known = append(known, kk)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("module %s: unknown property %q (known: %s)", module, k, strings.Join(known, ", "))
		}
		if _, isInt := def.(int); isInt {
			if _, err := element.ToInt(v); err != nil {
				return nil, fmt.Errorf("module %s: property %q: %v", module, k, err)
			}
		}
		c.props[k] = v
	}
	return s.make(c), nil
}

// isVehicle and isPerson count by label when the model has one (the
// default detector is COCO's: person 0, car 2), else by Service Maker's
// class ids (TrafficCamNet: vehicle 0, person 2).
func isVehicle(o *media.ObjectMeta) bool {
	switch o.Label {
	case "car", "truck", "bus", "motorcycle", "vehicle", "Vehicle":
		return true
	case "":
		return o.ClassID == 0
	}
	return false
}

func isPerson(o *media.ObjectMeta) bool {
	switch o.Label {
	case "person", "Person":
		return true
	case "":
		return o.ClassID == 2
	}
	return false
}

// countMarker is sample_video_probe's CountMarker: "Person=N,Vehicle=M"
// drawn at (10, 12) in white on black, per frame.
func countMarker(c *conf) Module {
	size := c.int("font-size")
	return func(b *media.BatchMeta) {
		for _, f := range b.Frames {
			var persons, vehicles int
			for _, o := range f.Objects {
				switch {
				case isVehicle(o):
					vehicles++
				case isPerson(o):
					persons++
				}
			}
			f.Display = append(f.Display, &media.DisplayMeta{Texts: []media.DisplayText{{
				Text: fmt.Sprintf("Person=%d,Vehicle=%d", persons, vehicles), X: 10, Y: 12,
				Font: media.Font{Name: "Serif", Size: size, Color: media.White}, HasBg: true, BgColor: media.Black}}})
		}
	}
}

// measureFPS prints each stream's frame rate every interval seconds, as
// measure_fps_probe does.
func measureFPS(c *conf) Module {
	interval := time.Duration(max(c.int("interval"), 1)) * time.Second
	var mu sync.Mutex
	counts := map[int]int{}
	total := map[int]int{}
	var start, last time.Time
	return func(b *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if start.IsZero() {
			start, last = now, now
		}
		for _, f := range b.Frames {
			counts[f.SourceID]++
			total[f.SourceID]++
		}
		if now.Sub(last) < interval {
			return
		}
		ids := make([]int, 0, len(counts))
		for id := range total {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		var parts []string
		for _, id := range ids {
			parts = append(parts, fmt.Sprintf("stream %d: %.2f fps (avg %.2f)", id,
				float64(counts[id])/now.Sub(last).Seconds(), float64(total[id])/now.Sub(start).Seconds()))
			counts[id] = 0
		}
		fmt.Fprintf(c.out, "%s: %s\n", c.name, strings.Join(parts, ", "))
		last = now
	}
}

// measureLatency prints each frame's latency from capture to the probe.
func measureLatency(c *conf) Module {
	return func(b *media.BatchMeta) {
		for _, f := range b.Frames {
			if f.NTPTimestamp.IsZero() {
				continue
			}
			fmt.Fprintf(c.out, "%s: source %d frame %d latency %.3f ms\n", c.name, f.SourceID, f.FrameNumber,
				float64(time.Since(f.NTPTimestamp).Microseconds())/1000)
		}
	}
}

// kittiDump writes one KITTI file per frame, <dir>/<source>_<frame>.txt
// ("%03u_%06lu.txt" as kitti_dump_probe names them).
func kittiDump(c *conf) Module {
	dir := c.str("kitti-dir")
	var once sync.Once
	var mkErr error
	return func(b *media.BatchMeta) {
		once.Do(func() { mkErr = os.MkdirAll(dir, 0o755) })
		if mkErr != nil {
			return
		}
		for _, f := range b.Frames {
			var sb strings.Builder
			for _, o := range f.Objects {
				label := o.Label
				if label == "" {
					label = fmt.Sprint(o.ClassID)
				}
				r := o.Rect
				fmt.Fprintf(&sb, "%s 0.0 0 0.0 %f %f %f %f 0.0 0.0 0.0 0.0 0.0 0.0 0.0 %f\n",
					label, r.Left, r.Top, r.Left+r.Width, r.Top+r.Height, o.Confidence)
			}
			name := filepath.Join(dir, fmt.Sprintf("%03d_%06d.txt", f.SourceID, f.FrameNumber))
			_ = os.WriteFile(name, []byte(sb.String()), 0o644) // a dump: a full disk must not stop the video
		}
	}
}

// addMessageMeta puts an event on each object every frame-interval frames,
// for nvmsgbrokersinkbin, as add_message_meta_probe makes NvDsEventMsgMeta.
func addMessageMeta(c *conf) Module {
	every := int64(max(c.int("frame-interval"), 1))
	return func(b *media.BatchMeta) {
		for _, f := range b.Frames {
			if f.FrameNumber%every != 0 {
				continue
			}
			for _, o := range f.Objects {
				media.AddEvent(f, media.Event{Type: "entry", Object: o})
			}
		}
	}
}
