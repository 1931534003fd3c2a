package calib

import (
	"math"
	"slices"

	"github.com/vidflow/vidflow/internal/modelconv"
)

// LayerLoss is what quantizing one node costs, measured: the SQNR (signal
// to quantization noise, dB) of its output in the INT8 model against the
// float model, and Loss, the SQNR it loses against the worst of its
// inputs — the error the node itself adds rather than inherits.
type LayerLoss struct {
	Node        modelconv.QuantNode
	SQNR, Input float64
	Loss        float64
}

// LayerLosses runs the float calibration model and the INT8 model
// converted with Calibration too (so both output the same float tensors)
// on the frames, and returns each quantizable node's loss, the worst
// first. nodes are Result.Quantizable.
func LayerLosses(floatCal, int8Cal []byte, tensors []string, nodes []modelconv.QuantNode, frames []Frame, threads int) ([]LayerLoss, error) {
	fs, err := Open(floatCal, tensors, threads)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	qs, err := Open(int8Cal, tensors, threads)
	if err != nil {
		return nil, err
	}
	defer qs.Close()
	signal := make([]float64, len(tensors))
	noise := make([]float64, len(tensors))
	ref := make([][]float32, len(tensors))
	for _, f := range frames {
		if err := fs.Run(f, func(i int, _ string, d []float32) { ref[i] = append(ref[i][:0], d...) }); err != nil {
			return nil, err
		}
		err := qs.Run(f, func(i int, _ string, d []float32) {
			var s, n float64
			for k, v := range d {
				r := float64(ref[i][k])
				s += r * r
				e := float64(v) - r
				n += e * e
			}
			signal[i] += s
			noise[i] += n
		})
		if err != nil {
			return nil, err
		}
	}
	sqnr := map[string]float64{}
	for i, t := range tensors {
		switch {
		case noise[i] == 0:
			sqnr[t] = math.Inf(1)
		case signal[i] == 0:
			sqnr[t] = math.Inf(-1)
		default:
			sqnr[t] = 10 * math.Log10(signal[i]/noise[i])
		}
	}
	out := make([]LayerLoss, 0, len(nodes))
	for _, n := range nodes {
		l := LayerLoss{Node: n, SQNR: sqnr[n.Output], Input: math.Inf(1)}
		for _, in := range n.Inputs {
			if v, ok := sqnr[in]; ok {
				l.Input = min(l.Input, v)
			}
		}
		l.Loss = max(0, l.Input-l.SQNR)
		if math.IsInf(l.Input, 1) { // reads the graph's input: all its error is its own
			l.Loss = 100 - min(100, l.SQNR)
		}
		out = append(out, l)
	}
	slices.SortStableFunc(out, func(a, b LayerLoss) int {
		switch {
		case a.Loss > b.Loss:
			return -1
		case a.Loss < b.Loss:
			return 1
		}
		return 0
	})
	return out, nil
}
