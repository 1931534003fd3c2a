package main

import (
	"context"
	"fmt"
	"math/rand"
	"slices"

	"github.com/vidflow/vidflow/internal/modelconv"
	"github.com/vidflow/vidflow/internal/modelconv/calib"
)

// noiseSim says what agreement a given score noise allows on the held-out
// frames, whatever the quantization: the float model's detections
// (decoded down to 0.05) against themselves with Gaussian noise of each
// sigma added to every score, compared at the config's threshold as
// -check compares. A class whose float scores crowd the threshold cannot
// agree better than this at the noise INT8 leaves (its -check drift).
func (o *options) noiseSim(ctx context.Context) error {
	var held []calib.Frame
	err := (calib.FrameSource{Every: o.heldEvery, Offset: o.every / 2}).Video(ctx, o.video, func(f calib.Frame) error {
		held = append(held, f)
		return nil
	})
	if err != nil {
		return err
	}
	m, err := modelconv.LoadModel(o.tfjs)
	if err != nil {
		return err
	}
	fres, err := modelconv.Convert(m, modelconv.CenterNetPreset.Options)
	if err != nil {
		return err
	}
	ref, err := detectAll(fres.ONNX, held, o.threads, 0.05)
	if err != nil {
		return err
	}
	fmt.Printf("float detections against themselves with Gaussian score noise, %d held-out frames, threshold %.2f:\n", len(held), calib.Threshold)
	for _, sigma := range []float64{0.005, 0.01, 0.02, 0.03, 0.04} {
		r := rand.New(rand.NewSource(1))
		a := calib.NewAgreement()
		for _, d := range ref {
			got := slices.Clone(d)
			for i := range got {
				got[i].Score += float32(r.NormFloat64() * sigma)
			}
			a.AddMargin(d, got, calib.Threshold)
		}
		p, c := a.Class(0), a.Class(2)
		fmt.Printf("sigma %.3f (mean |drift| %.4f): person P %.4f R %.4f  car P %.4f R %.4f\n",
			sigma, a.Class(-1).MeanDrift(), p.Precision(), p.Recall(), c.Precision(), c.Recall())
	}
	return nil
}
