package infer

import (
	"fmt"
	"strings"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
)

// SSD-style outputs: boxes [K,4], scores [K] or [K,C], classes [K] and
// num_detections [] (per image; [N,...] with the batch), as the TensorFlow
// Object Detection API exports them; or one DetectionOutput layer [K,7]
// (Caffe SSD, TensorRT's NMS plugin), read by the same parsers when no
// boxes layer is given.

// ssdLayout is where each SSD layer is among a parser call's layers (-1:
// absent) and what it holds.
type ssdLayout struct {
	boxes, scores, classes, num, detOut int
	k                                   int // box records
	scoreClasses                        int // C of scores [K,C]; 0 for scores [K]
}

// ssdRole tells an SSD layer's role from its name: "box", "score" (or
// "conf"), "class" (or "label"), "num". TF2 exports' raw_detection_*,
// detection_anchor_indices and detection_multiclass_scores are skipped.
type ssdRole int

const (
	roleNone ssdRole = iota
	roleSkip
	roleBoxes
	roleScores
	roleClasses
	roleNum
)

func ssdRoleOf(name string) ssdRole {
	switch {
	case hasFold(name, "raw"), hasFold(name, "anchor"), hasFold(name, "multiclass"):
		return roleSkip
	case hasFold(name, "num"):
		return roleNum
	case hasFold(name, "box"):
		return roleBoxes
	case hasFold(name, "score"), hasFold(name, "conf"):
		return roleScores
	case hasFold(name, "class"), hasFold(name, "label"):
		return roleClasses
	}
	return roleNone
}

// hasFold reports whether s contains the lower-case ASCII sub, ignoring
// case, without allocating.
func hasFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// ssdLayers finds the SSD layers, by name first, then by shape: [K,4]
// boxes, [K,7] a DetectionOutput, [K,C] scores, one value the count, and
// a [K] layer the scores or the classes, whichever is not named. It does
// not allocate.
func ssdLayers(layers []bbox.Layer) (ssdLayout, error) {
	l := ssdLayout{boxes: -1, scores: -1, classes: -1, num: -1, detOut: -1}
	set := func(dst *int, i int, what string) error {
		if *dst >= 0 {
			return fmt.Errorf("SSD: both %q and %q look like the %s: list the layers to use in output-blob-names", layers[*dst].Name, layers[i].Name, what)
		}
		*dst = i
		return nil
	}
	var err error
	for i, ly := range layers {
		switch ssdRoleOf(ly.Name) {
		case roleBoxes:
			err = set(&l.boxes, i, "boxes")
		case roleScores:
			err = set(&l.scores, i, "scores")
		case roleClasses:
			err = set(&l.classes, i, "classes")
		case roleNum:
			err = set(&l.num, i, "detection count")
		}
		if err != nil {
			return l, err
		}
	}
	var unnamed1D [2]int
	n1D := 0
	for i, ly := range layers {
		if ssdRoleOf(ly.Name) != roleNone {
			continue
		}
		d := ly.Dims
		switch {
		case size(d) == 1 && len(d) <= 1 && l.num < 0:
			l.num = i
		case len(d) == 2 && d[1] == 4 && l.boxes < 0:
			l.boxes = i
		case len(d) == 2 && d[1] == 7 && l.detOut < 0:
			l.detOut = i
		case len(d) == 2 && l.scores < 0:
			l.scores = i
		case len(d) == 1 && n1D < 2:
			unnamed1D[n1D] = i
			n1D++
		}
	}
	switch {
	case n1D == 1 && l.scores < 0:
		l.scores = unnamed1D[0]
	case n1D == 1 && l.classes < 0:
		l.classes = unnamed1D[0]
	case n1D == 2 && l.scores < 0 && l.classes < 0:
		return l, fmt.Errorf("SSD: cannot tell the scores from the classes among %q and %q: name them (scores, classes) or use output-blob-names", layers[unnamed1D[0]].Name, layers[unnamed1D[1]].Name)
	}
	if l.num >= 0 && size(layers[l.num].Dims) != 1 {
		return l, fmt.Errorf("SSD: the detection count %q is %v per image, want one value", layers[l.num].Name, layers[l.num].Dims)
	}
	if l.boxes < 0 {
		if l.detOut >= 0 {
			d := layers[l.detOut].Dims
			l.k = d[0]
			return l, nil
		}
		// DetectionOutput [1,K,7] per image, as TensorRT's plugin gives it.
		for i, ly := range layers {
			if d := ly.Dims; len(d) == 3 && d[0] == 1 && d[2] == 7 {
				l.detOut, l.k = i, d[1]
				return l, nil
			}
		}
		return l, fmt.Errorf("SSD needs a boxes layer [K,4] (or a DetectionOutput [K,7])")
	}
	b := layers[l.boxes].Dims
	if len(b) != 2 || b[1] != 4 {
		return l, fmt.Errorf("SSD boxes %q are %v per image, want [K,4]", layers[l.boxes].Name, b)
	}
	l.k = b[0]
	if l.scores < 0 {
		return l, fmt.Errorf("SSD needs a scores layer [K] or [K,C] beside the boxes %q", layers[l.boxes].Name)
	}
	s := layers[l.scores].Dims
	switch {
	case len(s) == 1 && s[0] == l.k:
	case len(s) == 2 && s[0] == l.k && (s[1] > 1 || l.classes < 0):
		l.scoreClasses = s[1]
	case len(s) == 2 && s[0] == l.k && s[1] == 1:
	default:
		return l, fmt.Errorf("SSD scores %q are %v per image, want [%d] or [%d,C] for boxes [%d,4]", layers[l.scores].Name, s, l.k, l.k, l.k)
	}
	if l.scoreClasses == 0 {
		if l.classes < 0 {
			return l, fmt.Errorf("SSD needs a classes layer [%d] beside scores %q of one value a box", l.k, layers[l.scores].Name)
		}
		if c := layers[l.classes].Dims; size(c) != l.k || len(c) > 2 {
			return l, fmt.Errorf("SSD classes %q are %v per image, want [%d]", layers[l.classes].Name, c, l.k)
		}
	}
	return l, nil
}

func ssdOK(layers []bbox.Layer) bool {
	l, err := ssdLayers(layers)
	return err == nil && l.boxes >= 0
}

func ssdClasses(names []string, dims [][]int, _ int) (int, error) {
	layers := make([]bbox.Layer, len(names))
	for i := range names {
		layers[i] = bbox.Layer{Name: names[i], Dims: dims[i]}
	}
	l, err := ssdLayers(layers)
	if err != nil {
		return 0, err
	}
	return l.scoreClasses, nil
}

// ssdParser parses SSD outputs with boxes in the given order.
func ssdParser(order parsers.BoxOrder) bbox.Parser {
	return func(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
		l, err := ssdLayers(layers)
		if err != nil {
			return dst[:0], err
		}
		cfg := parsers.SSDConfig{
			Boxes: l.k, ScoreClasses: l.scoreClasses, Count: -1, Order: order,
			Width: float32(info.NetWidth), Height: float32(info.NetHeight),
			Threshold: info.Threshold, Classes: info.Classes,
		}
		if l.num >= 0 && len(layers[l.num].Data) > 0 {
			cfg.Count = parsers.CountOf(layers[l.num].Data[0], l.k)
		}
		if l.boxes < 0 {
			return parsers.DecodeDetectionOut(dst, layers[l.detOut].Data, cfg.Count, cfg)
		}
		var classes []float32
		if l.classes >= 0 {
			classes = layers[l.classes].Data
		}
		return parsers.DecodeSSD(dst, layers[l.boxes].Data, layers[l.scores].Data, classes, cfg)
	}
}

// DetectNet_v2 (TAO) outputs: coverage [C,H,W] and boxes [4C,H,W].

// detectNetLayers finds the coverage and bbox layers: by name as
// DeepStream's default parser does (names containing "cov" and "bbox"),
// else by shape, [C,H,W] and [4C,H,W].
func detectNetLayers(layers []bbox.Layer) (cov, bbox int, err error) {
	cov, bbox = -1, -1
	for i, l := range layers {
		switch {
		case hasFold(l.Name, "bbox"):
			bbox = i
		case hasFold(l.Name, "cov"):
			cov = i
		}
	}
	if (cov < 0 || bbox < 0) && len(layers) == 2 {
		a, b := layers[0].Dims, layers[1].Dims
		if len(a) == 3 && len(b) == 3 && b[0] == 4*a[0] {
			cov, bbox = 0, 1
		} else {
			cov, bbox = 1, 0
		}
	}
	bad := func() (int, int, error) {
		return -1, -1, fmt.Errorf("DetectNet_v2 needs a coverage layer [C,H,W] and a bbox layer [4C,H,W] (%s)", describeLayerList(layers))
	}
	if cov < 0 || bbox < 0 || cov == bbox {
		return bad()
	}
	c, b := layers[cov].Dims, layers[bbox].Dims
	if len(c) != 3 || len(b) != 3 || c[0] <= 0 || c[1] <= 0 || c[2] <= 0 || b[0] != 4*c[0] || b[1] != c[1] || b[2] != c[2] {
		return bad()
	}
	return cov, bbox, nil
}

func describeLayerList(layers []bbox.Layer) string {
	names := make([]string, len(layers))
	dims := make([][]int, len(layers))
	for i, l := range layers {
		names[i], dims[i] = l.Name, l.Dims
	}
	return describeLayers(names, dims)
}

// detectNetNamed reports whether the layers are a DetectNet_v2's named as
// DeepStream's default parser looks for them.
func detectNetNamed(layers []bbox.Layer) bool {
	named := 0
	for _, l := range layers {
		if hasFold(l.Name, "cov") || hasFold(l.Name, "bbox") {
			named++
		}
	}
	return named == 2 && detectNetOK(layers)
}

func detectNetOK(layers []bbox.Layer) bool {
	_, _, err := detectNetLayers(layers)
	return err == nil
}

func detectNetClasses(names []string, dims [][]int, _ int) (int, error) {
	layers := make([]bbox.Layer, len(names))
	for i := range names {
		layers[i] = bbox.Layer{Name: names[i], Dims: dims[i]}
	}
	cov, _, err := detectNetLayers(layers)
	if err != nil {
		return 0, err
	}
	return dims[cov][0], nil
}

func parseDetectNet(layers []bbox.Layer, info bbox.Info, dst []bbox.Detection) ([]bbox.Detection, error) {
	cov, bbox, err := detectNetLayers(layers)
	if err != nil {
		return dst[:0], err
	}
	d := layers[cov].Dims
	return parsers.DecodeDetectNet(dst, layers[cov].Data, layers[bbox].Data, parsers.DetectNetConfig{
		Classes: d[0], Height: d[1], Width: d[2],
		NetWidth: info.NetWidth, NetHeight: info.NetHeight,
		Threshold: info.Threshold,
	})
}
