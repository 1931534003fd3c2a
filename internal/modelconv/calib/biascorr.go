package calib

import (
	"github.com/vidflow/vidflow/internal/modelconv"
)

// InputMeans runs the float calibration model on the frames and returns,
// for the input tensor of each Conv of nodes, the mean of each of its
// channels (NCHW) over the frames and positions: what
// modelconv.Int8.InputMeans corrects the Convs' biases with.
func InputMeans(calModel []byte, tensors []string, nodes []modelconv.QuantNode, frames []Frame, threads int) (map[string][]float32, error) {
	channels := map[string]int{}
	for _, n := range nodes {
		if n.Op == "Conv" && n.InChannels > 0 && len(n.Inputs) > 0 {
			channels[n.Inputs[0]] = n.InChannels
		}
	}
	s, err := Open(calModel, tensors, threads)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sums := map[string][]float64{}
	for _, f := range frames {
		err := s.Run(f, func(_ int, name string, d []float32) {
			c := channels[name]
			if c == 0 || len(d)%c != 0 {
				return
			}
			acc := sums[name]
			if acc == nil {
				acc = make([]float64, c)
				sums[name] = acc
			}
			plane := len(d) / c
			for ch := range c {
				var v float64
				for _, x := range d[ch*plane : (ch+1)*plane] {
					v += float64(x)
				}
				acc[ch] += v / float64(plane)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	out := map[string][]float32{}
	for name, acc := range sums {
		m := make([]float32, len(acc))
		for i, v := range acc {
			m[i] = float32(v / float64(len(frames)))
		}
		out[name] = m
	}
	return out, nil
}
