package dsgraph

import (
	"maps"
	"strings"

	"github.com/vidflow/vidflow/element"
)

// translation says what a GStreamer/DeepStream element type becomes.
type translation struct {
	kind        string // vidflow kind; "" = absorbed
	why         string // for absorbed types, the note
	unsupported string // not in vidflow: what to use instead
	rename      map[string]string
	props       func(g *Graph, n *pnode) map[string]any // extra properties
}

const (
	whyDecode  = "decoding is inside vidflow's source (nvurisrcbin: decodebin)"
	whyConvert = "vidflow's elements convert and scale frames themselves"
	whyEncode  = "encoding and muxing are inside vidflow's encodesink"
)

// translations maps the GStreamer and DeepStream element types the sample
// graphs use to vidflow. Types not here must be vidflow kinds (or their
// aliases: nvurisrcbin, uridecodebin, nvstreammux, nvinfer, nvtracker,
// nvdsanalytics, nvdsosd, nvmultistreamtiler, tee, queue, fakesink,
// nveglglessink, appsrc, appsink, ...).
var translations = map[string]*translation{
	"filesrc":        {kind: "nvurisrcbin", rename: map[string]string{"location": "uri"}},
	"h264parse":      {why: whyDecode},
	"h265parse":      {why: whyDecode},
	"jpegparse":      {why: whyDecode},
	"qtdemux":        {why: whyDecode},
	"matroskademux":  {why: whyDecode},
	"decodebin":      {why: whyDecode},
	"parsebin":       {why: whyDecode},
	"nvv4l2decoder":  {why: whyDecode},
	"nvjpegdec":      {why: whyDecode},
	"jpegdec":        {why: whyDecode},
	"avdec_h264":     {why: whyDecode},
	"nvvideoconvert": {why: whyConvert},
	"videoconvert":   {why: whyConvert},
	"videoscale":     {why: whyConvert},
	"capsfilter":     {why: whyConvert},
	"nvdslogger":     {why: "per-element frame rates are in vidflow's statistics (Pipeline.Stats, vidflow run's table)"},
	"nvmsgconv":      {why: "message conversion is inside vidflow's nvmsgbrokersinkbin (its config becomes msg-conv-config)"},
	"nvv4l2h264enc":  {why: whyEncode},
	"nvv4l2h265enc":  {why: whyEncode},
	"x264enc":        {why: whyEncode},
	"x265enc":        {why: whyEncode},
	"qtmux":          {why: whyEncode},
	"mp4mux":         {why: whyEncode},
	"matroskamux":    {why: whyEncode},
	"nv3dsink":       {kind: "nveglglessink"},
	"filesink":       {kind: "encodesink", rename: map[string]string{"location": "output"}, props: encodeProps},
	"nvmsgbroker": {kind: "nvmsgbrokersinkbin", props: brokerProps, rename: map[string]string{
		"proto-lib": "msg-broker-proto-lib", "conn-str": "msg-broker-conn-str", "config": "msg-broker-config", "comp-id": "msg-broker-comp-id"}},
	"nvinferserver":     {unsupported: "Triton is not used; nvinfer runs ONNX models on ONNX Runtime (type: nvinfer with an nvinfer config)"},
	"nvdspreprocess":    {unsupported: "nvinfer does its own preprocessing (scaling, normalisation, ROIs of secondary inference)"},
	"nvdsvideotemplate": {unsupported: "write an element of your own (examples/custom-element) and register it"},
	"nvsegvisual":       {unsupported: "segmentation masks are drawn by nvdsosd"},
	"nvrtspoutsinkbin":  {kind: "nvrtspoutsinkbin"},
}

// dropped are GStreamer base-class properties (sinks, queues) that have no
// counterpart in vidflow's elements: they are left out with a note.
var dropped = map[string]bool{"async": true, "sync": true, "qos": true, "enable-last-sample": true, "max-lateness": true,
	"processing-deadline": true, "ts-offset": true, "render-delay": true, "throttle-time": true, "max-bitrate": true,
	"blocksize": true, "silent": true, "max-size-time": true, "max-size-bytes": true, "min-threshold-time": true,
	"min-threshold-buffers": true, "min-threshold-bytes": true, "flush-on-eos": true}

// props returns the element's vidflow properties, checked against its
// kind's spec; errors name the property's line.
func (t *translation) resolve(g *Graph, n *pnode, reg *element.Registry, plan *Plan) (map[string]any, error) {
	spec, err := reg.Lookup(n.kind)
	if err != nil {
		return nil, g.errorf(n.Line, n.Name, "%v", err)
	}
	out := map[string]any{}
	for _, k := range n.PropOrder {
		name := element.NormalizeName(k)
		if r, ok := t.rename[name]; ok {
			name = r
		}
		if dropped[name] && !hasProp(spec, name) {
			plan.Notes = append(plan.Notes, g.errorf(n.PropLines[k], n.Name, "property %q left out: vidflow's %s has none (GStreamer base-class property)", k, n.kind).Error())
			continue
		}
		out[name] = n.Props[k]
	}
	if t.props != nil {
		maps.Copy(out, t.props(g, n))
	}
	for _, k := range n.PropOrder { // one property at a time, for its line
		name := element.NormalizeName(k)
		if r, ok := t.rename[name]; ok {
			name = r
		}
		v, ok := out[name]
		if !ok {
			continue
		}
		if _, err := element.NewConfig(spec, n.Name, element.Props{name: v}); err != nil {
			return nil, &Error{File: g.File, Line: n.PropLines[k], Node: n.Name, Err: unwrapElem(err)}
		}
	}
	return out, nil
}

func hasProp(spec *element.KindSpec, name string) bool {
	for _, p := range spec.Props {
		if p.Name == name {
			return true
		}
	}
	return false
}

func unwrapElem(err error) error {
	if e, ok := err.(*element.ElementError); ok {
		return e.Err
	}
	return err
}

// upstream walks the file's edges up from n (through at most depth
// nodes) and returns the first node f accepts.
func (g *Graph) upstream(n string, depth int, f func(*Node) bool) *Node {
	for ; depth > 0; depth-- {
		var up string
		for _, e := range g.Edges {
			if e.To == n {
				up = e.From
				break
			}
		}
		node := g.Node(up)
		if node == nil {
			return nil
		}
		if f(node) {
			return node
		}
		n = up
	}
	return nil
}

// encodeProps gives a filesink the codec of the encoder before it.
func encodeProps(g *Graph, n *pnode) map[string]any {
	enc := g.upstream(n.Name, 6, func(x *Node) bool { return strings.HasSuffix(x.Type, "enc") })
	if enc != nil && strings.Contains(enc.Type, "265") {
		return map[string]any{"codec": "h265"}
	}
	return nil
}

// brokerProps gives an nvmsgbroker the config and payload type of the
// nvmsgconv before it, which vidflow's nvmsgbrokersinkbin contains.
func brokerProps(g *Graph, n *pnode) map[string]any {
	conv := g.upstream(n.Name, 6, func(x *Node) bool { return x.Type == "nvmsgconv" })
	if conv == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range conv.Props {
		switch element.NormalizeName(k) {
		case "config":
			out["msg-conv-config"] = v
		case "payload-type":
			out["msg-conv-payload-type"] = v
		case "frame-interval":
			out["msg-conv-frame-interval"] = v
		case "msg2p-newapi":
			out["msg-conv-msg2p-new-api"] = v
		}
	}
	return out
}
