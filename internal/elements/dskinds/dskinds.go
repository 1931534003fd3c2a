// Package dskinds gives the DeepStream and GStreamer element kinds of
// NVIDIA's sample pipelines (deepstream_python_apps' make_link_element,
// the Pipeline API) their place in vidflow, so that a pipeline built as
// the samples build it runs: filesrc becomes a decoding source
// (nvurisrcbin), the parsers, decoders and converters between it and the
// batcher pass frames through (vidflow's source decodes, its elements
// convert and scale themselves), nv3dsink and nvosdbin are nveglglessink
// and nvdsosd. The elements that cannot exist here are recorded as
// unavailable, so that asking for one says why and what to use.
package dskinds

import (
	"github.com/vidflow/vidflow/element"
)

// passThrough are the kinds whose work vidflow does elsewhere, with the
// DeepStream properties they accept (with a no-effect warning).
var passThrough = []struct {
	kind, why string
	props     []string
}{
	{"h264parse", "decoding is inside vidflow's source", []string{"config-interval", "update-timecode"}},
	{"h265parse", "decoding is inside vidflow's source", []string{"config-interval"}},
	{"nvv4l2decoder", "decoding is inside vidflow's source (NVDEC when GStreamer has it: its decoder property)",
		[]string{"gpu-id", "cudadec-memtype", "num-extra-surfaces", "drop-frame-interval", "skip-frames", "low-latency-mode", "enable-max-performance", "bufapi-version"}},
	{"nvvideoconvert", "vidflow's elements convert and scale frames themselves",
		[]string{"gpu-id", "nvbuf-memory-type", "compute-hw", "src-crop", "dest-crop", "interpolation-method", "flip-method", "output-buffers"}},
	{"videoconvert", "vidflow's elements convert and scale frames themselves", []string{"n-threads"}},
	{"capsfilter", "vidflow's elements convert and scale frames themselves", []string{"caps"}},
	{"nvvidconv", "vidflow's elements convert and scale frames themselves", []string{"flip-method"}},
}

// unavailable are the DeepStream kinds with no element here.
var unavailable = map[string]string{
	"nvstreamdemux": "batches stay batched to the sink in vidflow; for a picture per stream use nvmultistreamtiler (Flow.Tile), " +
		"or split by FrameMeta.SourceID in a probe or a custom element",
	"nvdspostprocess":   "its parsing is nvinfer's: name the parser in the nvinfer config (parse-bbox-func-name) or register a Go one",
	"nvdsmetamux":       "parallel inference branches are not merged here: run the models one after another on the same batches",
	"nvinferserver":     "Triton is not used; nvinfer runs ONNX models on ONNX Runtime (an nvinfer config with onnx-file)",
	"nvsegvisual":       "nvdsosd draws segmentation masks over the frame",
	"nvdsvideotemplate": "write an element of your own (examples/custom-element) and register it",
	"nvv4l2camerasrc":   "use gstsrc with a GStreamer description (v4l2src device=/dev/video0)",
	"nvarguscamerasrc":  "Jetson cameras are not supported: use gstsrc with a GStreamer description",
}

// Register adds the kinds to r; it needs nvurisrcbin, nvdsosd and
// nveglglessink registered first.
func Register(r *element.Registry) {
	for _, p := range passThrough {
		props := make([]element.PropSpec, len(p.props))
		for i, n := range p.props {
			props[i] = element.PropSpec{Name: n, Type: element.String, Default: "", Ignored: true}
		}
		r.MustRegister(element.KindSpec{
			Kind:  p.kind,
			Doc:   "Passes frames through (DeepStream sample pipelines link it): " + p.why + ".",
			Role:  element.RoleTransform,
			Props: props,
			New:   func(*element.Config) (element.Element, error) { return &element.Map{}, nil },
		})
	}
	r.MustRegister(element.KindSpec{
		Kind: "filesrc",
		Doc:  "Reads and decodes a file (nvurisrcbin of location): the parser and decoder DeepStream samples link after it pass frames through.",
		Role: element.RoleSource,
		Props: []element.PropSpec{
			{Name: "location", Type: element.String, Doc: "the file"},
			{Name: "blocksize", Type: element.Int, Default: 4096, Ignored: true},
			{Name: "num-buffers", Type: element.Int, Default: -1, Ignored: true},
		},
		New: delegate(r, "nvurisrcbin", func(c *element.Config) element.Props { return element.Props{"uri": c.String("location")} }),
	})
	alias(r, "nv3dsink", "nveglglessink", "Shows the video in a window (nveglglessink).")
	alias(r, "nvosdbin", "nvdsosd", "The on-screen display (nvdsosd).")
	for kind, why := range unavailable {
		r.Unavailable(kind, why)
	}
}

// alias registers kind as another name of target with target's
// properties: a separate kind (not an alias) so that vidflow kinds lists
// it under DeepStream's name.
func alias(r *element.Registry, kind, target, doc string) {
	spec, err := r.Lookup(target)
	if err != nil {
		panic(err)
	}
	r.MustRegister(element.KindSpec{Kind: kind, Doc: doc, Role: spec.Role, Props: spec.Props, New: spec.New})
}

// delegate makes an element of another kind from properties derived from
// c's.
func delegate(r *element.Registry, kind string, props func(*element.Config) element.Props) func(*element.Config) (element.Element, error) {
	return func(c *element.Config) (element.Element, error) {
		spec, err := r.Lookup(kind)
		if err != nil {
			return nil, err
		}
		cfg, err := element.NewConfig(spec, c.Element, props(c))
		if err != nil {
			return nil, err
		}
		return spec.New(cfg)
	}
}
