package vidflow

import (
	"fmt"
	"net/url"
	"strconv"
)

// renderStream ends the flow in an RTSP server (Render(RenderStream)):
// rtsp-port (default 8554) and rtsp-mount-point (default "/ds-test").
func (f *Flow) renderStream(o *options) *Flow {
	port, mount := 8554, "/ds-test"
	if v, ok := o.props["rtsp-port"]; ok {
		n, err := asInt(v)
		if err != nil {
			return f.fail("Render(RenderStream): rtsp-port: %v", err)
		}
		port = n
	}
	if v, ok := o.props["rtsp-mount-point"]; ok {
		mount = fmt.Sprint(v)
	}
	delete(o.props, "rtsp-port")
	delete(o.props, "rtsp-mount-point")
	return f.streamOut("render", port, mount, o)
}

// renderStreamTo serves Encode("rtsp://localhost:port/mount").
func (f *Flow) renderStreamTo(dest string, o *options) *Flow {
	u, _ := url.Parse(dest)
	port, _ := strconv.Atoi(u.Port())
	mount := u.Path
	if mount == "" {
		mount = "/ds-test"
	}
	return f.streamOut("encode", port, mount, o)
}

func (f *Flow) streamOut(step string, port int, mount string, o *options) *Flow {
	out := f.outputs(step, o)
	props := Props{"rtsp-port": port, "rtsp-mount-point": mount}
	for _, k := range []string{"codec", "bitrate", "iframeinterval", "preset", "framerate"} {
		if v, ok := o.props[k]; ok {
			props[k] = v
		}
	}
	so := &options{props: props, name: o.name, queueSize: o.queueSize, leaky: o.leaky}
	if _, ok := out.step(step, "nvrtspoutsinkbin", "sink", so); !ok {
		return f.next(nil, false)
	}
	return &Flow{p: f.p, terminal: "Render"}
}
