package infer

import (
	"fmt"
	"strings"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
)

// More parsers of DeepStream's sample repositories: DeepStream-Yolo's
// NvDsInferParseYolo, the YOLOv4 batched-NMS parser and TAO's DDETR one.
func init() {
	for _, p := range []struct {
		p     *parser
		names []string
	}{
		{&parser{name: "yolo-boxes", fn: parseBoxRows, classes: boxRowsClasses},
			[]string{"yolo-boxes", "NvDsInferParseYolo", "NvDsInferParseYoloCuda"}},
		{&parser{name: "nms-boxes", fn: parseNMSed, classes: nmsedClasses},
			[]string{"nms-boxes", "NvDsInferParseCustomYoloV4"}},
		{&parser{name: "ddetr", fn: parseDDETR, classes: ddetrClasses},
			[]string{"ddetr", "NvDsInferParseCustomDDETRTAO"}},
	} {
		if err := register(p.p, p.names...); err != nil {
			panic(err)
		}
	}
}

// boxRowsClasses checks DeepStream-Yolo's one output [A,6]; the class
// count is not in it.
func boxRowsClasses(names []string, dims [][]int, _ int) (int, error) {
	if len(dims) != 1 || len(dims[0]) != 2 || dims[0][1] != 6 {
		return 0, fmt.Errorf("NvDsInferParseYolo needs one output [A,6] (x1,y1,x2,y2,score,class: DeepStream-Yolo's ONNX export), got %s", describeLayers(names, dims))
	}
	return 0, nil
}

func parseBoxRows(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
	if len(layers) != 1 {
		return dst[:0], fmt.Errorf("NvDsInferParseYolo needs 1 output layer, got %d", len(layers))
	}
	return parsers.DecodeBoxRows(dst, layers[0].Data, info.NetWidth, info.NetHeight, info.Threshold)
}

// nmsedLayers finds the batched-NMS layers by name: boxes, scores,
// classes and the optional count (-1 when absent).
func nmsedLayers(names []string) (boxes, scores, classes, num int, err error) {
	boxes, scores, classes, num = -1, -1, -1, -1
	for i, n := range names {
		switch strings.ToLower(n) {
		case "nmsed_boxes", "boxes":
			boxes = i
		case "nmsed_scores", "scores":
			scores = i
		case "nmsed_classes", "classes":
			classes = i
		case "num_detections":
			num = i
		}
	}
	if boxes < 0 || scores < 0 || classes < 0 {
		return 0, 0, 0, 0, fmt.Errorf("NvDsInferParseCustomYoloV4 needs layers nmsed_boxes [K,4], nmsed_scores [K] and nmsed_classes [K] (num_detections optional), got %s", strings.Join(names, ", "))
	}
	return boxes, scores, classes, num, nil
}

func nmsedClasses(names []string, dims [][]int, _ int) (int, error) {
	b, s, c, _, err := nmsedLayers(names)
	if err != nil {
		return 0, err
	}
	if size(dims[b]) != 4*size(dims[s]) || size(dims[c]) != size(dims[s]) {
		return 0, fmt.Errorf("NvDsInferParseCustomYoloV4 needs nmsed_boxes [K,4], nmsed_scores [K], nmsed_classes [K], got %s", describeLayers(names, dims))
	}
	return 0, nil
}

func parseNMSed(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
	var buf [8]string // no allocation per image
	names := buf[:0]
	for _, l := range layers {
		names = append(names, l.Name)
	}
	b, s, c, num, err := nmsedLayers(names)
	if err != nil {
		return dst[:0], err
	}
	n := -1
	if num >= 0 && len(layers[num].Data) > 0 {
		n = int(layers[num].Data[0])
	}
	return parsers.DecodeNMSed(dst, layers[b].Data, layers[s].Data, layers[c].Data, n, info.NetWidth, info.NetHeight, info.Classes, info.Threshold)
}

// ddetrLayers finds pred_boxes [Q,4] and pred_logits [Q,C] by name, else
// by shape when there are two layers.
func ddetrLayers(names []string, dims [][]int) (boxes, logits int, err error) {
	boxes, logits = -1, -1
	for i, n := range names {
		switch n {
		case "pred_boxes":
			boxes = i
		case "pred_logits":
			logits = i
		}
	}
	if (boxes < 0 || logits < 0) && len(dims) == 2 {
		boxes, logits = 0, 1
		if len(dims[1]) == 2 && dims[1][1] == 4 {
			boxes, logits = 1, 0
		}
	}
	if boxes < 0 || logits < 0 || len(dims[boxes]) != 2 || dims[boxes][1] != 4 || len(dims[logits]) != 2 || dims[logits][0] != dims[boxes][0] {
		return -1, -1, fmt.Errorf("NvDsInferParseCustomDDETRTAO needs pred_boxes [Q,4] and pred_logits [Q,C], got %s", describeLayers(names, dims))
	}
	return boxes, logits, nil
}

func ddetrClasses(names []string, dims [][]int, _ int) (int, error) {
	_, l, err := ddetrLayers(names, dims)
	if err != nil {
		return 0, err
	}
	return dims[l][1], nil
}

func parseDDETR(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
	var nbuf [8]string // no allocation per image
	var dbuf [8][]int
	names, dims := nbuf[:0], dbuf[:0]
	for _, l := range layers {
		names, dims = append(names, l.Name), append(dims, l.Dims)
	}
	b, l, err := ddetrLayers(names, dims)
	if err != nil {
		return dst[:0], err
	}
	return parsers.DecodeDDETR(dst, layers[b].Data, layers[l].Data, dims[l][0], dims[l][1], info.NetWidth, info.NetHeight, info.Threshold)
}
