package calib

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Method is how a tensor's calibrated range is chosen from its values
// over the calibration frames.
type Method struct {
	// Percentile, when > 0, clips the range to the values between the
	// (100-P)th and the Pth percentile of all values seen (P = 99.99:
	// one value in 10,000 saturates), from a 4096-bin histogram over the
	// tensor's min..max (a second pass over the frames). 0: min/max.
	Percentile float64
	// MSE chooses, from the same histogram, the range whose uint8
	// quantization has the least mean squared error (rounding inside,
	// clipping outside), found by moving either end inwards bin by bin
	// while that lowers the error (PyTorch's HistogramObserver searches
	// so). Percentile is then unused.
	MSE bool
}

// ParseMethod reads "minmax", "mse" or "percentile:P".
func ParseMethod(s string) (Method, error) {
	if s == "minmax" {
		return Method{}, nil
	}
	if s == "mse" {
		return Method{MSE: true}, nil
	}
	if p, ok := strings.CutPrefix(s, "percentile:"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err == nil && v > 50 && v < 100 {
			return Method{Percentile: v}, nil
		}
	}
	return Method{}, fmt.Errorf("calib: method %q: want minmax, mse or percentile:P (50 < P < 100)", s)
}

func (m Method) String() string {
	if m.MSE {
		return "mse"
	}
	if m.Percentile > 0 {
		return "percentile:" + strconv.FormatFloat(m.Percentile, 'g', -1, 64)
	}
	return "minmax"
}

const bins = 4096

type histogram struct {
	lo, hi float32
	n      [bins]uint64
	total  uint64
}

// histStride samples one value in histStride for the histograms: the
// percentiles of 10^5–10^7 values a tensor and frame barely move, and a
// full pass costs minutes on 2 cores.
const histStride = 5

func (h *histogram) add(data []float32) {
	w := h.hi - h.lo
	if w <= 0 {
		h.n[0] += uint64(len(data)/histStride + 1)
		h.total += uint64(len(data)/histStride + 1)
		return
	}
	k := bins / w
	var n uint64
	for i := 0; i < len(data); i += histStride {
		b := int((data[i] - h.lo) * k)
		h.n[max(0, min(bins-1, b))]++
		n++
	}
	h.total += n
}

// quantile returns the value below which a fraction q of the values lie.
func (h *histogram) quantile(q float64) float32 {
	target := q * float64(h.total)
	var acc float64
	for i, c := range h.n {
		acc += float64(c)
		if acc >= target {
			return h.lo + (h.hi-h.lo)*float32(i+1)/bins
		}
	}
	return h.hi
}

// Calibrate runs the calibration model (modelconv.Options.Calibration:
// its outputs include the tensors listed) on the frames and returns each
// tensor's range as method says; the tensors minmax reports true for keep
// their min/max (a detector's last layers, where the rare values are the
// detections; nil: none).
func Calibrate(model []byte, tensors []string, frames []Frame, method Method, minmax func(string) bool, threads int) (map[string][2]float32, error) {
	s, err := Open(model, tensors, threads)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ranges := make([][2]float32, len(tensors))
	for i := range ranges {
		ranges[i] = [2]float32{float32(math.Inf(1)), float32(math.Inf(-1))}
	}
	for _, f := range frames {
		err := s.Run(f, func(i int, _ string, data []float32) {
			lo, hi := ranges[i][0], ranges[i][1]
			for _, v := range data {
				lo, hi = min(lo, v), max(hi, v)
			}
			ranges[i] = [2]float32{lo, hi}
		})
		if err != nil {
			return nil, err
		}
	}
	if method.Percentile > 0 || method.MSE {
		hs := make([]*histogram, len(tensors))
		for i, r := range ranges {
			hs[i] = &histogram{lo: r[0], hi: r[1]}
		}
		for _, f := range frames {
			if err := s.Run(f, func(i int, _ string, data []float32) { hs[i].add(data) }); err != nil {
				return nil, err
			}
		}
		q := method.Percentile / 100
		for i, h := range hs {
			if minmax != nil && minmax(tensors[i]) {
				continue
			}
			lo, hi := ranges[i][0], ranges[i][1]
			if method.MSE {
				ranges[i] = h.mseRange()
				continue
			}
			// A range's end at 0 (Relu, Clip) stays exact.
			if lo < 0 {
				lo = min(0, h.quantile(1-q))
			}
			if hi > 0 {
				hi = max(0, h.quantile(q))
			}
			ranges[i] = [2]float32{lo, hi}
		}
	}
	out := make(map[string][2]float32, len(tensors))
	for i, t := range tensors {
		out[t] = ranges[i]
	}
	return out, nil
}

// mseRange is the range of least uint8 quantization error over the
// histogram (Method.MSE). Both ends stay on the side of 0 they are on, and
// 0 is in the range (quantParams widens it so): an end at 0 stays there.
func (h *histogram) mseRange() [2]float32 {
	w := float64(h.hi-h.lo) / bins
	if w <= 0 || h.total == 0 {
		return [2]float32{h.lo, h.hi}
	}
	center := func(b int) float64 { return float64(h.lo) + (float64(b)+0.5)*w }
	// The bin holding 0: neither end moves past it.
	zero := int(math.Floor(-float64(h.lo) / w))
	zero = max(0, min(bins-1, zero))
	errOf := func(a, b int) float64 { // the range is bins a..b inclusive
		lo, hi := min(float64(h.lo)+float64(a)*w, 0), max(float64(h.lo)+float64(b+1)*w, 0)
		step := (hi - lo) / 255
		var e float64
		for k, n := range h.n {
			if n == 0 {
				continue
			}
			x := center(k)
			switch {
			case x < lo:
				e += float64(n) * (x - lo) * (x - lo)
			case x > hi:
				e += float64(n) * (x - hi) * (x - hi)
			default:
				e += float64(n) * step * step / 12
			}
		}
		return e
	}
	a, b := 0, bins-1
	best := errOf(a, b)
	for a < b {
		// Try moving each end inwards by a few bins (one bin moves the error
		// too little to see at the histogram's resolution).
		const stepBins = 8
		ea, eb := math.Inf(1), math.Inf(1)
		if a+stepBins <= zero {
			ea = errOf(a+stepBins, b)
		}
		if b-stepBins >= zero {
			eb = errOf(a, b-stepBins)
		}
		if min(ea, eb) >= best {
			break
		}
		if ea < eb {
			a, best = a+stepBins, ea
		} else {
			b, best = b-stepBins, eb
		}
	}
	lo, hi := float32(float64(h.lo)+float64(a)*w), float32(float64(h.lo)+float64(b+1)*w)
	if h.lo >= 0 {
		lo = h.lo
	}
	if h.hi <= 0 {
		hi = h.hi
	}
	return [2]float32{lo, hi}
}
