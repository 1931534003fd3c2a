package calib

import (
	"math"

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

// OutputBias measures the systematic error of an INT8 detector's class
// logits: for each heat-map channel, the mean of logit(float heat) -
// logit(INT8 heat) over the cells where either model's score reaches
// minScore, on the frames. Added to the bias of the Conv that computes the
// logits (modelconv.Int8.BiasShift), it removes the mean shift the
// quantization leaves where detections are decided ("bias correction" of
// the last layer, measured on data rather than from the weights): without
// it a score drift of -0.01 to -0.03 turns objects near the threshold into
// misses. classes is the number of channels of the heat output; a channel
// without such cells gets 0.
func OutputBias(floatModel, int8Model []byte, frames []Frame, classes int, minScore float32, threads int) ([]float32, error) {
	fs, err := Open(floatModel, []string{"heat"}, threads)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	qs, err := Open(int8Model, []string{"heat"}, threads)
	if err != nil {
		return nil, err
	}
	defer qs.Close()
	logit := func(p float32) float64 {
		q := math.Min(math.Max(float64(p), 1e-4), 1-1e-4)
		return math.Log(q / (1 - q))
	}
	sum := make([]float64, classes)
	n := make([]int, classes)
	var fh []float32
	for _, f := range frames {
		if err := fs.Run(f, func(_ int, _ string, d []float32) { fh = append(fh[:0], d...) }); err != nil {
			return nil, err
		}
		err := qs.Run(f, func(_ int, _ string, qh []float32) {
			plane := len(fh) / classes
			for k, p := range fh {
				if p >= minScore || qh[k] >= minScore {
					c := k / plane
					sum[c] += logit(p) - logit(qh[k])
					n[c]++
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]float32, classes)
	for c := range out {
		if n[c] > 0 {
			out[c] = float32(sum[c] / float64(n[c]))
		}
	}
	return out, nil
}
