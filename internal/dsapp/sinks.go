package dsapp

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
)

func readSinks(a *App, f *config.File) error {
	for _, s := range groups(f, "sink") {
		k := &keys{a: a, f: f, s: s, ignored: set("source-id", "enc-type", "profile", "qos", "udp-port", "udp-buffer-size",
			"link-to-demux", "iframeinterval", "width", "height", "overlay-id", "display-id", "offset-x", "offset-y",
			"msg-broker-comp-id", "msg-conv-comp-id", "msg-conv-msg2p-lib", "msg-broker-config", "new-api", "disable-msgconv",
			"msg-conv-msg2p-new-api", "msg-conv-frame-interval", "multiple-payloads", "msg-conv-dummy-payload",
			"conv-config", "max-size-buffers")}
		on, err := k.enabled(false)
		if err != nil {
			return err
		}
		if !on {
			continue
		}
		tv, _ := k.get("type")
		typ, err := tv.Int()
		if err != nil {
			return err
		}
		sk := Sink{Group: s.Name, Line: s.Line, Type: typ, Props: map[string]any{}}
		if v, ok := k.get("sync"); ok {
			b, err := v.Bool()
			if err != nil {
				return err
			}
			sk.Props["sync"] = b
		}
		known := []string{"enable", "type", "sync"}
		switch typ {
		case 1, 2:
		case 3, 4:
			if err := readEncoder(k, &sk); err != nil {
				return err
			}
			known = append(known, "codec", "bitrate", "container", "output-file", "rtsp-port")
		case 5:
			return tv.Errorf("type=5 (overlay sink) is Jetson's and not in vidflow: use type=2 (a window)")
		case 6:
			if err := readBroker(k, &sk); err != nil {
				return err
			}
			known = append(known, "msg-conv-config", "msg-conv-payload-type", "msg-broker-proto-lib", "msg-broker-conn-str", "topic")
		default:
			return tv.Errorf("sink type %d is not one of deepstream-app's 1 (fakesink), 2 (window), 3 (file), 4 (RTSP), 5 (overlay), 6 (message broker)", typ)
		}
		if typ != 3 && typ != 4 {
			delete(sk.Props, "codec")
		}
		if err := k.check(known...); err != nil {
			return err
		}
		a.Sinks = append(a.Sinks, sk)
	}
	return nil
}

// readEncoder reads a file (type 3) or RTSP (type 4) sink's encoder keys.
func readEncoder(k *keys, sk *Sink) error {
	if v, ok := k.get("codec"); ok {
		c, err := v.Int()
		if err != nil {
			return err
		}
		switch c {
		case 1:
			sk.Props["codec"] = "h264"
		case 2:
			sk.Props["codec"] = "h265"
		default:
			return v.Errorf("codec %d is not 1 (H.264) or 2 (H.265): vidflow's encoders make those two", c)
		}
	}
	if v, ok := k.get("bitrate"); ok {
		n, err := v.Int()
		if err != nil {
			return err
		}
		sk.Props["bitrate"] = n
	}
	if sk.Type == 4 {
		port, err := k.int("rtsp-port", 8554)
		if err != nil {
			return err
		}
		sk.Dest = fmt.Sprintf("rtsp://localhost:%d/ds-test", port) // deepstream-app's mount point
		return nil
	}
	v, ok := k.get("output-file")
	if !ok {
		return k.s.Errorf(k.f.Path, "type=3 (file) needs output-file")
	}
	out, err := v.Path()
	if err == nil {
		out, err = filepath.Abs(out)
	}
	if err != nil {
		return v.Errorf("%v", err)
	}
	container, err := k.int("container", 1)
	if err != nil {
		return err
	}
	ext := map[int]string{1: ".mp4", 2: ".mkv"}[container]
	if ext == "" {
		cv, _ := k.get("container")
		return cv.Errorf("container %d is not 1 (MP4) or 2 (MKV)", container)
	}
	if !strings.HasSuffix(strings.ToLower(out), ext) {
		// deepstream-app writes the container it is told whatever the name;
		// vidflow picks the muxer by extension, so the name must agree.
		return v.Errorf("output-file %q does not end in %s, the container=%d it asks for", v.String(), ext, container)
	}
	sk.Dest = out
	return nil
}

func readBroker(k *keys, sk *Sink) error {
	for _, key := range []string{"msg-conv-config", "msg-broker-proto-lib", "msg-broker-conn-str", "topic"} {
		v, ok := k.get(key)
		if !ok {
			continue
		}
		sk.Props[key] = v.String()
		if key == "msg-conv-config" {
			p, err := path(v)
			if err != nil {
				return err
			}
			sk.Props[key] = p
		}
	}
	if v, ok := k.get("msg-conv-payload-type"); ok {
		n, err := v.Int()
		if err != nil {
			return err
		}
		sk.Props["msg-conv-payload-type"] = n
	}
	delete(sk.Props, "sync")
	return nil
}

// readUnsupported rejects groups vidflow has no counterpart of, saying
// what to use.
func readUnsupported(a *App, f *config.File) error {
	for _, s := range f.Sections {
		k := &keys{a: a, f: f, s: s}
		on, err := k.enabled(false)
		if err != nil {
			return err
		}
		if !on {
			continue
		}
		switch {
		case s.Name == "pre-process":
			return s.Errorf(f.Path, "[pre-process] (nvdspreprocess) is not in vidflow: nvinfer preprocesses its input itself")
		case s.Name == "img-save":
			return s.Errorf(f.Path, "[img-save] is not in vidflow: use a file sink of type 3, or a BufferRetriever")
		case s.Name == "ds-example":
			return s.Errorf(f.Path, "[ds-example] is not in vidflow: write your own element (examples/custom-element)")
		}
	}
	return nil
}

// override applies "group.key=value" settings to the parsed file.
func override(f *config.File, overrides []string) error {
	for _, o := range overrides {
		lhs, val, ok := strings.Cut(o, "=")
		group, key, ok2 := strings.Cut(lhs, ".")
		if !ok || !ok2 || group == "" || key == "" {
			return fmt.Errorf("-set %q: want group.key=value (primary-gie.config-file=my.yml)", o)
		}
		s := f.Section(group)
		if s == nil {
			s = &config.Section{Name: group}
			f.Sections = append(f.Sections, s)
		}
		// Relative paths of an override are the working directory's.
		v := config.Value{File: "./-set", Section: group, Key: key, Text: val}
		replaced := false
		for i := range s.Values {
			if s.Values[i].Key == key {
				s.Values[i], replaced = v, true
			}
		}
		if !replaced {
			s.Values = append(s.Values, v)
		}
	}
	return nil
}
