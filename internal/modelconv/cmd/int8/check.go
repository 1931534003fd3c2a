package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/modelconv/calib"
)

type bboxDets = bbox.Detection

// runCheck compares the INT8 model (-out) with the float model (-float)
// on every frame of the video and on the photos.
func (o *options) runCheck(ctx context.Context) error {
	fm, err := os.ReadFile(o.floatModel)
	if err != nil {
		return err
	}
	qm, err := os.ReadFile(o.out)
	if err != nil {
		return err
	}
	photos, err := o.photos()
	if err != nil {
		return err
	}
	start := time.Now()
	video, pics, err := calib.Check(ctx, fm, qm, o.video, photos, o.checkEvery, o.threads)
	if err != nil {
		return err
	}
	fmt.Printf("%s vs %s, %s\n", o.out, o.floatModel, time.Since(start).Round(time.Second))
	fmt.Printf("video %s: %s", o.video, video.Report(classes))
	fmt.Printf("photos %s: %s", o.images, pics.Report(map[int]string{}))
	if w := worstOf(video); w < o.min {
		return fmt.Errorf("agreement on the video %.4f is below -min %.2f", w, o.min)
	}
	return nil
}
