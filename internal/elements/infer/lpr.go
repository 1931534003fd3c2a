package infer

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/media"
)

// plateDict is deepstream_lpr_app's character dictionary, read once from
// dict.txt in the working directory, as its C parser reads it (the app's
// README copies dict_us.txt or dict_ch.txt there).
var plateDict struct {
	once  sync.Once
	chars []string
	err   error
}

func loadPlateDict() ([]string, error) {
	plateDict.once.Do(func() {
		data, err := os.ReadFile("dict.txt")
		if err != nil {
			plateDict.err = fmt.Errorf("NvDsInferParseCustomNVPlate needs dict.txt (the plate characters, one a line: deepstream_lpr_app's dict_us.txt or dict_ch.txt) in the working directory: %w", err)
			return
		}
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			plateDict.chars = append(plateDict.chars, strings.TrimRight(l, "\r"))
		}
	})
	return plateDict.chars, plateDict.err
}

// parseNVPlate is the LPR sample's NvDsInferParseCustomNVPlate (LPRNet's
// CTC output): the layer of character ids (an int layer, ArgMax) and the
// layer of their probabilities (Max), network-width/4 steps; repeated ids
// collapse, the blank (the dictionary's size) separates, and a plate of at
// least 3 characters is one attribute whose confidence is the product of
// its characters' probabilities.
func parseNVPlate(layers []bbox.Layer, info bbox.Info, dst []media.Classification) ([]media.Classification, error) {
	dict, err := loadPlateDict()
	if err != nil {
		return dst, err
	}
	ids, conf := -1, -1
	for i, l := range layers {
		switch n := strings.ToLower(l.Name); {
		case strings.Contains(n, "argmax"):
			ids = i
		case strings.Contains(n, "max"):
			conf = i
		}
	}
	if ids < 0 || conf < 0 {
		if len(layers) != 2 {
			return dst, fmt.Errorf("NvDsInferParseCustomNVPlate needs the ArgMax and Max layers of LPRNet, got %d layers", len(layers))
		}
		ids, conf = 0, 1
	}
	seq := min(info.NetWidth/4, len(layers[ids].Data), len(layers[conf].Data))
	blank := len(dict)
	var plate strings.Builder
	prob := float32(1)
	valid := 0
	prev := 0
	for t := 0; t < seq; t++ {
		c := int(layers[ids].Data[t])
		if c < 0 || c > blank {
			continue
		}
		if t == 0 || c != prev {
			if c != blank {
				plate.WriteString(dict[c])
				if valid < 16 { // the C parser's bank of 16
					prob *= layers[conf].Data[t]
				}
				valid++
			}
		}
		prev = c
	}
	if valid < 3 { // shorter strings are taken as misreadings, as in the C parser
		return dst, nil
	}
	return append(dst, media.Classification{ClassID: 1, Label: plate.String(), Confidence: prob}), nil
}
