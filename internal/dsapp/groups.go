package dsapp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vidflow/vidflow/internal/config"
)

// resolveURI makes a file:// URI (or a bare path) absolute against the
// config's folder, as deepstream-app does for "file://../streams/x.mp4".
func resolveURI(v config.Value) (string, error) {
	uri := v.String()
	rest, isFile := strings.CutPrefix(uri, "file://")
	if !strings.Contains(uri, "://") {
		rest, isFile = uri, true
	}
	if !isFile {
		return uri, nil
	}
	p, err := config.ExpandPath(rest, filepath.Dir(v.File))
	if err == nil {
		p, err = filepath.Abs(p)
	}
	if err != nil {
		return "", v.Errorf("%v", err)
	}
	if err := exists(v, p); err != nil {
		return "", err
	}
	return "file://" + p, nil
}

// path reads a file path key, resolved against the config's folder, and
// checks the file is there, so that the error names the file and line.
func path(v config.Value) (string, error) {
	p, err := v.Path()
	if err != nil {
		return "", err
	}
	if p, err = filepath.Abs(p); err != nil {
		return "", v.Errorf("%v", err)
	}
	return p, exists(v, p)
}

func exists(v config.Value, p string) error {
	if _, err := os.Stat(p); err != nil {
		// Marked ErrMissingFile: the corpus tests tell a file absent from
		// a checkout from a refusal.
		return v.Errorf("%w", config.Reason(config.ErrMissingFile, "%s does not exist (relative paths are taken from the config file's folder; -set %s.%s=... replaces it)", p, v.Section, v.Key))
	}
	return nil
}

func readSources(a *App, f *config.File) error {
	for _, s := range groups(f, "source") {
		k := &keys{a: a, f: f, s: s, ignored: set("gpu-id", "cudadec-memtype", "nvbuf-memory-type", "intra-decode-enable",
			"low-latency-mode", "smart-rec-video-cache", "camera-id", "num-extra-surfaces", "source-id",
			"select-rtp-protocol", "udp-buffer-size", "video-format", "camera-csi-sensor-id", "nvvideoconvert-copy-hw")}
		on, err := k.enabled(false)
		if err != nil {
			return err
		}
		if !on {
			continue
		}
		typ, err := k.int("type", 0)
		if err != nil {
			return err
		}
		tv, _ := k.get("type")
		props := map[string]any{}
		if d, err := k.int("drop-frame-interval", 0); err != nil {
			return err
		} else if d > 0 {
			props["drop-frame-interval"] = d
		}
		if v, ok := k.get("rtsp-reconnect-interval-sec"); ok {
			n, err := v.Int()
			if err != nil {
				return err
			}
			props["rtsp-reconnect-interval"] = n
		}
		if v, ok := k.get("latency"); ok {
			n, err := v.Int()
			if err != nil {
				return err
			}
			props["latency"] = n
		}
		events, err := readSmartRecord(k, props)
		if err != nil {
			return err
		}
		known := []string{"enable", "type", "uri", "num-sources", "drop-frame-interval", "camera-width", "camera-height",
			"camera-fps-n", "camera-fps-d", "camera-v4l2-dev-node", "rtsp-reconnect-interval-sec", "latency",
			"smart-record", "smart-rec-dir-path", "smart-rec-file-prefix", "smart-rec-cache", "smart-rec-container", "smart-rec-default-duration",
			"smart-rec-mode", "smart-rec-interval", "smart-rec-start-time", "smart-rec-duration"}
		switch typ {
		case 1:
			w, _ := k.int("camera-width", 640)
			h, _ := k.int("camera-height", 480)
			fn, _ := k.int("camera-fps-n", 30)
			fd, _ := k.int("camera-fps-d", 1)
			dev, err := k.int("camera-v4l2-dev-node", 0)
			if err != nil {
				return err
			}
			a.Sources = append(a.Sources, Source{Group: s.Name, Line: s.Line, Props: props, SmartRecord: events,
				Gst: fmt.Sprintf("v4l2src device=/dev/video%d ! video/x-raw,width=%d,height=%d,framerate=%d/%d", dev, w, h, fn, fd)})
		case 2, 3, 4:
			v, ok := k.get("uri")
			if !ok {
				return s.Errorf(sectionFile(f, s), "type=%d needs a uri", typ)
			}
			uri, err := resolveURI(v)
			if err != nil {
				return err
			}
			if typ == 4 && !strings.HasPrefix(uri, "rtsp://") {
				return v.Errorf("type=4 (RTSP) needs an rtsp:// uri")
			}
			n := 1
			if typ == 3 {
				if n, err = k.int("num-sources", 1); err != nil {
					return err
				}
			}
			for range n {
				a.Sources = append(a.Sources, Source{Group: s.Name, Line: s.Line, URI: uri, Props: props, SmartRecord: events})
			}
		case 5:
			return tv.Errorf("type=5 (CSI camera, nvarguscamerasrc) is Jetson's and not in vidflow: use type=1 (V4L2 camera) or a gstsrc element with your camera's GStreamer source")
		default:
			return tv.Errorf("source type %d is not one of deepstream-app's 1 (V4L2 camera), 2 (URI), 3 (multiple URI), 4 (RTSP), 5 (CSI camera)", typ)
		}
		if err := k.check(known...); err != nil {
			return err
		}
	}
	return nil
}

func readGIEs(a *App, f *config.File) error {
	// deepstream-app takes any group whose name starts with secondary-gie,
	// a bare [secondary-gie] too (NVIDIA's peoplenet_reidentification.txt).
	secs := []*config.Section{f.Section("primary-gie"), f.Section("secondary-gie")}
	secs = append(secs, groups(f, "secondary-gie")...)
	for i, s := range secs {
		if s == nil {
			continue
		}
		k := &keys{a: a, f: f, s: s, ignored: set("model-engine-file", "labelfile-path", "input-tensor-meta", "audio-transform",
			"audio-framesize", "audio-hopsize", "infer-raw-output-dir")}
		on, err := k.enabled(false)
		if err != nil || !on {
			if err != nil {
				return err
			}
			continue
		}
		if v, ok := k.get("plugin-type"); ok && v.String() == "1" {
			return v.Errorf("plugin-type=1 (nvinferserver, Triton) is not in vidflow: use 0 (nvinfer), which runs ONNX models on ONNX Runtime")
		}
		v, ok := k.get("config-file")
		if !ok {
			return s.Errorf(f.Path, "needs config-file (an nvinfer config)")
		}
		cfg, err := path(v)
		if err != nil {
			return err
		}
		g := GIE{Group: s.Name, Config: cfg, Props: map[string]any{}}
		for _, key := range []struct{ from, to string }{{"batch-size", "batch-size"}, {"interval", "interval"},
			{"gie-unique-id", "unique-id"}, {"operate-on-gie-id", "infer-on-gie-id"}} {
			if v, ok := k.get(key.from); ok {
				n, err := v.Int()
				if err != nil {
					return err
				}
				g.Props[key.to] = n
			}
		}
		if v, ok := k.get("operate-on-class-ids"); ok {
			g.Props["operate-on-class-ids"] = v.String()
		}
		if err := k.check("enable", "plugin-type", "config-file", "batch-size", "interval", "gie-unique-id",
			"operate-on-gie-id", "operate-on-class-ids"); err != nil {
			return err
		}
		if i == 0 {
			a.PGIE = &g
		} else {
			a.SGIEs = append(a.SGIEs, g)
		}
	}
	return nil
}

func readTracker(a *App, f *config.File) error {
	k := &keys{a: a, f: f, s: f.Section("tracker"), ignored: set("ll-lib-file", "tracker-width", "tracker-height",
		"enable-batch-process", "enable-past-frame", "display-tracking-id", "compute-hw", "tracking-surface-type",
		"user-meta-pool-size", "sub-batches", "sub-batch-err-recovery-trial-cnt", "input-tensor-meta", "tensor-meta-gie-id")}
	if k.s == nil {
		return nil
	}
	on, err := k.enabled(false)
	if err != nil || !on {
		return err
	}
	a.Tracker = map[string]any{}
	if v, ok := k.get("ll-config-file"); ok && v.String() != "" {
		p, err := path(v)
		if err != nil {
			return err
		}
		a.Tracker["ll-config-file"] = p
	}
	if v, ok := k.get("tracking-id-reset-mode"); ok {
		n, err := v.Int()
		if err != nil {
			return err
		}
		a.Tracker["tracking-id-reset-mode"] = n
	}
	return k.check("enable", "ll-config-file", "tracking-id-reset-mode")
}

func readAnalytics(a *App, f *config.File) error {
	k := &keys{a: a, f: f, s: f.Section("nvds-analytics")}
	if k.s == nil {
		return nil
	}
	on, err := k.enabled(false)
	if err != nil || !on {
		return err
	}
	v, ok := k.get("config-file")
	if !ok {
		return k.s.Errorf(f.Path, "needs config-file (an nvdsanalytics config)")
	}
	if a.Analytics, err = path(v); err != nil {
		return err
	}
	return k.check("enable", "config-file")
}

func readOSD(a *App, f *config.File) error {
	k := &keys{a: a, f: f, s: f.Section("osd"), ignored: set("text-color", "text-bg-color", "clock-color", "display-mask",
		"process-mode", "hw-blend-color-attr", "display-bbox", "display-text")}
	if k.s == nil {
		return nil
	}
	on, err := k.enabled(false)
	if err != nil || !on {
		return err
	}
	a.OSD = map[string]any{}
	for _, key := range []struct{ from, to string }{{"border-width", "border-width"}, {"text-size", "font-size"},
		{"show-clock", "display-clock"}, {"clock-x-offset", "x-clock-offset"}, {"clock-y-offset", "y-clock-offset"},
		{"clock-text-size", "clock-font-size"}} {
		if v, ok := k.get(key.from); ok {
			n, err := v.Int()
			if err != nil {
				return err
			}
			if key.to == "display-clock" {
				a.OSD[key.to] = n != 0
				continue
			}
			a.OSD[key.to] = n
		}
	}
	if v, ok := k.get("font"); ok {
		a.OSD["font"] = v.String()
	}
	return k.check("enable", "border-width", "text-size", "show-clock", "clock-x-offset", "clock-y-offset", "clock-text-size", "font")
}

// readSmartRecord maps a source's smart-record keys to nvurisrcbin's
// properties (the recordings' folder relative to the config file, as
// deepstream-app takes it), and for smart-record=2 reads the local events'
// timing. Cloud messages ([message-consumer%d], consumer.go) start and stop
// recordings of sources with smart-record 1 or 2.
func readSmartRecord(k *keys, props map[string]any) (*SmartRecordEvents, error) {
	on, err := k.int("smart-record", 0)
	if err != nil || on == 0 {
		return nil, err
	}
	props["smart-record"] = on
	if v, ok := k.get("smart-rec-dir-path"); ok {
		p, err := path(v)
		if err != nil {
			return nil, err
		}
		props["smart-rec-dir-path"] = p
	}
	if v, ok := k.get("smart-rec-file-prefix"); ok {
		props["smart-rec-file-prefix"] = v.String()
	}
	for _, key := range []string{"smart-rec-cache", "smart-rec-container", "smart-rec-default-duration", "smart-rec-mode"} {
		if _, ok := k.get(key); ok {
			n, err := k.int(key, 0)
			if err != nil {
				return nil, err
			}
			props[key] = n
		}
	}
	if on != 2 {
		return nil, nil
	}
	ev := &SmartRecordEvents{}
	for _, d := range []struct {
		key string
		def int
		dst *time.Duration
	}{{"smart-rec-interval", 10, &ev.Interval}, {"smart-rec-start-time", 7, &ev.StartTime}, {"smart-rec-duration", 8, &ev.Duration}} {
		n, err := k.int(d.key, d.def)
		if err != nil {
			return nil, err
		}
		if n < 0 || (d.key == "smart-rec-interval" && n == 0) {
			n = d.def // deepstream-app: 0 interval is its default, negative times too
		}
		*d.dst = time.Duration(n) * time.Second
	}
	return ev, nil
}
