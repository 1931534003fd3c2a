package infer

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
)

// parser is a registered detection parser. classes, when set, checks the
// output layers (names and per-image dimensions) and tells the number of
// classes (0 when the layers do not tell) for the labels check.
type parser struct {
	name    string
	fn      bbox.Parser
	classes func(names []string, dims [][]int, configured int) (int, error)
}

var parserRegistry = struct {
	sync.RWMutex
	m       map[string]*parser
	display map[string]string // lower-case name → as registered, for messages
}{m: builtinParsers(), display: displayNames}

// displayNames are the parser names as written, by lower-case name.
var displayNames = map[string]string{}

// RegisterBBoxParser makes a detection parser available to configs under
// name (parse-bbox-func-name; matched without regard to case). Names are
// process-wide; registering one twice is an error.
func RegisterBBoxParser(name string, fn bbox.Parser) error {
	if strings.TrimSpace(name) == "" || fn == nil {
		return fmt.Errorf("RegisterBBoxParser: need a name and a function")
	}
	return register(&parser{name: name, fn: fn}, name)
}

func register(p *parser, names ...string) error {
	parserRegistry.Lock()
	defer parserRegistry.Unlock()
	for _, n := range names {
		if _, dup := parserRegistry.m[strings.ToLower(n)]; dup {
			return fmt.Errorf("RegisterBBoxParser: a parser named %q is already registered", n)
		}
	}
	for _, n := range names {
		parserRegistry.m[strings.ToLower(n)] = p
		parserRegistry.display[strings.ToLower(n)] = n
	}
	return nil
}

func lookupParser(name string) (*parser, bool) {
	parserRegistry.RLock()
	defer parserRegistry.RUnlock()
	p, ok := parserRegistry.m[strings.ToLower(strings.TrimSpace(name))]
	return p, ok
}

// ParserNames lists the registered parser names as registered, sorted.
func ParserNames() []string {
	parserRegistry.RLock()
	defer parserRegistry.RUnlock()
	var out []string
	for n := range parserRegistry.m {
		if d, ok := parserRegistry.display[n]; ok {
			n = d
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// The built-in parsers, under vidflow's names and DeepStream's
// (DeepStream-Yolo's and the TAO apps') function names.
func builtinParsers() map[string]*parser {
	m := map[string]*parser{}
	add := func(p *parser, names ...string) {
		for _, n := range names {
			m[strings.ToLower(n)] = p
			displayNames[strings.ToLower(n)] = n
		}
	}
	add(&parser{name: "centernet", fn: parseCenterNet, classes: centerNetClasses},
		"centernet", "NvDsInferParseCustomCenterNet", "NvDsInferParseCenterNet")
	add(&parser{name: "centernet-topk", fn: parseCenterNetTopK, classes: centerNetTopKClasses}, "centernet-topk")
	add(&parser{name: "yolov5", fn: yoloParser(5), classes: yoloClasses(5)},
		"yolov5", "yolov7", "NvDsInferParseYoloV5", "NvDsInferParseCustomYoloV5", "NvDsInferParseYoloV7", "NvDsInferParseCustomYoloV7")
	add(&parser{name: "yolov8", fn: yoloParser(8), classes: yoloClasses(8)},
		"yolov8", "yolo11", "NvDsInferParseYoloV8", "NvDsInferParseCustomYoloV8", "NvDsInferParseYolo11", "NvDsInferParseCustomYolo11")
	add(&parser{name: "yolo", fn: yoloParser(0), classes: yoloClasses(0)}, "yolo")
	add(&parser{name: "ssd", fn: ssdParser(parsers.BoxYXYX), classes: ssdClasses},
		"ssd", "tfssd", "ssd-yxyx", "NvDsInferParseCustomTfSSD")
	add(&parser{name: "ssd-xyxy", fn: ssdParser(parsers.BoxXYXY), classes: ssdClasses},
		"ssd-xyxy", "NvDsInferParseCustomSSD")
	add(&parser{name: "detectnet", fn: parseDetectNet, classes: detectNetClasses},
		"detectnet", "detectnet_v2", "detectnetv2", "NvDsInferParseCustomResnet")
	return m
}

// detectParser picks a built-in parser from the output dimensions (per
// image) and names, when the config names none.
//
// In order: DetectNet_v2 when layers are named like DeepStream's default
// parser wants them ("cov" and "bbox" in their names), CenterNet (by
// names heat/wh or by shape [C,H,W] + [4,H,W]), CenterNet's device-decoded
// variant (by names scores/indices/boxes), DetectNet_v2 by shape
// ([C,H,W] + [4C,H,W]), SSD (boxes [K,4] with scores and classes), YOLO
// (one layer of two dimensions).
func detectParser(names []string, dims [][]int) (*parser, error) {
	layers := make([]bbox.Layer, len(names))
	for i := range names {
		layers[i] = bbox.Layer{Name: names[i], Dims: dims[i]}
	}
	name := ""
	switch {
	case detectNetNamed(layers):
		name = "detectnet"
	case centerNetOK(names, dims):
		name = "centernet"
	case centerNetTopKOK(names, dims):
		name = "centernet-topk"
	case detectNetOK(layers):
		name = "detectnet"
	case ssdOK(layers):
		name = "ssd"
	case len(dims) == 1 && len(dims[0]) == 2:
		name = "yolo"
	default:
		return nil, fmt.Errorf("cannot tell how to parse output layers %s: set parse-bbox-func-name (built-in: centernet, centernet-topk, yolov5, yolov8, ssd, ssd-xyxy, detectnet; or register a Go parser)", describeLayers(names, dims))
	}
	p, _ := lookupParser(name)
	return p, nil
}

func centerNetOK(names []string, dims [][]int) bool {
	_, _, err := centerNetLayers(names, dims)
	return err == nil
}

func describeLayers(names []string, dims [][]int) string {
	parts := make([]string, len(names))
	for i := range names {
		parts[i] = fmt.Sprintf("%s%v", names[i], dims[i])
	}
	return strings.Join(parts, ", ")
}

// centerNetLayers finds the heat-map layer [C,H,W] and the box-distance
// layer [4,H,W], by name ("heat", "wh") or by shape.
func centerNetLayers(names []string, dims [][]int) (heat, wh int, err error) {
	heat, wh = -1, -1
	for i, n := range names {
		switch strings.ToLower(n) {
		case "heat", "hm", "heatmap":
			heat = i
		case "wh", "reg", "ltrb", "box":
			wh = i
		}
	}
	if (heat < 0 || wh < 0) && len(dims) == 2 {
		if len(dims[0]) == 3 && dims[0][0] == 4 {
			heat, wh = 1, 0
		} else {
			heat, wh = 0, 1
		}
	}
	if heat < 0 || wh < 0 || heat == wh {
		return -1, -1, fmt.Errorf("CenterNet needs a heat-map layer [C,H,W] and a box layer [4,H,W], got %s", describeLayers(names, dims))
	}
	h, w := dims[heat], dims[wh]
	if len(h) != 3 || len(w) != 3 || w[0] != 4 || h[1] != w[1] || h[2] != w[2] || h[0] <= 0 || h[1] <= 0 || h[2] <= 0 {
		return -1, -1, fmt.Errorf("CenterNet needs a heat-map layer [C,H,W] and a box layer [4,H,W], got %s", describeLayers(names, dims))
	}
	return heat, wh, nil
}

func centerNetClasses(names []string, dims [][]int, _ int) (int, error) {
	heat, _, err := centerNetLayers(names, dims)
	if err != nil {
		return 0, err
	}
	return dims[heat][0], nil
}

func parseCenterNet(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
	var names [2]string
	var dims [2][]int
	if len(layers) != 2 {
		return dst[:0], fmt.Errorf("CenterNet needs 2 output layers, got %d", len(layers))
	}
	for i, l := range layers {
		names[i], dims[i] = l.Name, l.Dims
	}
	hi, wi, err := centerNetLayers(names[:], dims[:])
	if err != nil {
		return dst[:0], err
	}
	h := layers[hi].Dims
	return parsers.DecodeCenterNet(dst, layers[hi].Data, layers[wi].Data, parsers.CenterNetConfig{
		Classes: h[0], Height: h[1], Width: h[2],
		Stride:    float32(info.NetHeight) / float32(h[1]),
		Threshold: info.Threshold,
		ClipW:     float32(info.NetWidth), ClipH: float32(info.NetHeight),
	})
}

// centerNetTopKLayers finds the layers of the device-decoded CenterNet
// variant (modelconv.DeviceDecode) by name: scores [K], indices [K] and
// boxes [K,4]. Other layers (the variant's optional heat and wh) are
// ignored.
func centerNetTopKLayers(names []string, dims [][]int) (scores, indices, boxes int, err error) {
	scores, indices, boxes = -1, -1, -1
	for i, n := range names {
		switch strings.ToLower(n) {
		case "scores":
			scores = i
		case "indices":
			indices = i
		case "boxes":
			boxes = i
		}
	}
	if scores < 0 || indices < 0 || boxes < 0 {
		return -1, -1, -1, fmt.Errorf("CenterNet top-K needs layers scores [K], indices [K] and boxes [K,4], got %s", describeLayers(names, dims))
	}
	s, i, b := dims[scores], dims[indices], dims[boxes]
	if len(s) != 1 || s[0] <= 0 || !slices.Equal(i, s) || len(b) != 2 || b[0] != s[0] || b[1] != 4 {
		return -1, -1, -1, fmt.Errorf("CenterNet top-K needs layers scores [K], indices [K] and boxes [K,4], got %s", describeLayers(names, dims))
	}
	return scores, indices, boxes, nil
}

func centerNetTopKOK(names []string, dims [][]int) bool {
	_, _, _, err := centerNetTopKLayers(names, dims)
	return err == nil
}

// centerNetTopKClasses checks the layers; the class count is not in them,
// and is needed to read the indices: num-detected-classes must be set.
func centerNetTopKClasses(names []string, dims [][]int, configured int) (int, error) {
	if _, _, _, err := centerNetTopKLayers(names, dims); err != nil {
		return 0, err
	}
	if configured <= 0 {
		return 0, fmt.Errorf("CenterNet top-K outputs do not tell the class count: set num-detected-classes")
	}
	return configured, nil
}

// parseCenterNetTopK decodes the device-decoded CenterNet variant. Its
// indices address the heat map, whose size is not in the layers: the
// stride is CenterNet's 4, so the map is the network input / 4.
func parseCenterNetTopK(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
	var names [8]string
	var dims [8][]int
	if len(layers) > len(names) {
		return dst[:0], fmt.Errorf("CenterNet top-K: %d output layers, want 3 (scores, indices, boxes)", len(layers))
	}
	for i, l := range layers {
		names[i], dims[i] = l.Name, l.Dims
	}
	si, ii, bi, err := centerNetTopKLayers(names[:len(layers)], dims[:len(layers)])
	if err != nil {
		return dst[:0], err
	}
	const stride = 4
	return parsers.DecodeCenterNetTopK(dst, layers[si].Data, layers[ii].Data, layers[bi].Data, parsers.CenterNetConfig{
		Classes: info.Classes, Height: info.NetHeight / stride, Width: info.NetWidth / stride,
		Stride:    stride,
		Threshold: info.Threshold,
		ClipW:     float32(info.NetWidth), ClipH: float32(info.NetHeight),
	})
}

// yoloLayout tells the layout of a YOLO layer [d0, d1] for a version (5,
// 8, or 0 to guess).
func yoloLayout(version int, dims []int, classes int) (parsers.YOLOLayout, int, int, error) {
	if len(dims) != 2 {
		return 0, 0, 0, fmt.Errorf("YOLO output must be [boxes, values] per image, got %v", dims)
	}
	d0, d1 := dims[0], dims[1]
	switch version {
	case 5:
		if d1 < 6 || (classes > 0 && d1 != 5+classes) {
			return 0, 0, 0, fmt.Errorf("YOLOv5 output %v is not [A, 5+C] (C = %d)", dims, classes)
		}
		return parsers.YOLOv5, d0, d1 - 5, nil
	case 8:
		switch {
		case classes > 0 && d0 == 4+classes:
			return parsers.YOLOv8, d1, classes, nil
		case classes > 0 && d1 == 4+classes:
			return parsers.YOLOv8T, d0, classes, nil
		case classes > 0:
			return 0, 0, 0, fmt.Errorf("YOLOv8 output %v is neither [4+C, A] nor [A, 4+C] (C = %d)", dims, classes)
		case d0 < d1 && d0 > 4:
			return parsers.YOLOv8, d1, d0 - 4, nil
		case d1 < d0 && d1 > 4:
			return parsers.YOLOv8T, d0, d1 - 4, nil
		}
		return 0, 0, 0, fmt.Errorf("YOLOv8 output %v is neither [4+C, A] nor [A, 4+C]", dims)
	}
	return parsers.GuessYOLOLayout(d0, d1, classes)
}

func yoloClasses(version int) func(names []string, dims [][]int, configured int) (int, error) {
	return func(_ []string, dims [][]int, configured int) (int, error) {
		if len(dims) != 1 {
			return 0, fmt.Errorf("YOLO needs 1 output layer, got %d", len(dims))
		}
		_, _, c, err := yoloLayout(version, dims[0], configured)
		return c, err
	}
}

func yoloParser(version int) bbox.Parser {
	return func(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
		if len(layers) != 1 {
			return dst[:0], fmt.Errorf("YOLO needs 1 output layer, got %d", len(layers))
		}
		layout, a, c, err := yoloLayout(version, layers[0].Dims, info.Classes)
		if err != nil {
			return dst[:0], err
		}
		return parsers.DecodeYOLO(dst, layers[0].Data, parsers.YOLOConfig{Layout: layout, Anchors: a, Classes: c, Threshold: info.Threshold})
	}
}
