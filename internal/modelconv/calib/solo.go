package calib

import (
	"math"
	"slices"

	"github.com/vidflow/vidflow/internal/modelconv"
)

// SoloLoss is the error of the detector's output when one node alone is
// quantized (every other node in float): HeatError is the mean |INT8 -
// float| of the heat maps over the cells where either is >= 0.1 (the
// cells that can become detections at the 0.25 threshold), over the
// frames.
type SoloLoss struct {
	Node      modelconv.QuantNode
	HeatError float64
}

// SoloLosses measures each node's SoloLoss: one conversion and one run on
// the frames per node, the worst first. convert converts with the given
// KeepFloat (the calibrated ranges fixed).
func SoloLosses(convert func(keep []string) ([]byte, error), floatModel []byte, nodes []modelconv.QuantNode, frames []Frame, threads int, progress func(i int, l SoloLoss)) ([]SoloLoss, error) {
	ref, err := heatMaps(floatModel, frames, threads)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	out := make([]SoloLoss, 0, len(nodes))
	for i, n := range nodes {
		keep := slices.Delete(slices.Clone(names), i, i+1)
		model, err := convert(keep)
		if err != nil {
			return nil, err
		}
		got, err := heatMaps(model, frames, threads)
		if err != nil {
			return nil, err
		}
		l := SoloLoss{Node: n, HeatError: heatError(ref, got)}
		if progress != nil {
			progress(i, l)
		}
		out = append(out, l)
	}
	slices.SortStableFunc(out, func(a, b SoloLoss) int {
		switch {
		case a.HeatError > b.HeatError:
			return -1
		case a.HeatError < b.HeatError:
			return 1
		}
		return 0
	})
	return out, nil
}

func heatMaps(model []byte, frames []Frame, threads int) ([][]float32, error) {
	s, err := Open(model, []string{"heat"}, threads)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := make([][]float32, len(frames))
	for i, f := range frames {
		if err := s.Run(f, func(_ int, _ string, d []float32) { out[i] = slices.Clone(d) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func heatError(ref, got [][]float32) float64 {
	var sum float64
	var n int
	for i := range ref {
		for k, r := range ref[i] {
			g := got[i][k]
			if r >= 0.1 || g >= 0.1 {
				sum += math.Abs(float64(g - r))
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
