package calib

import "context"

// Threshold is the config's detection threshold, at which Check compares;
// Margin how far under it Check also decodes, to count the objects whose
// score crossed it (Agreement.AddMargin).
const (
	Threshold = 0.25
	Margin    = 0.1
)

// Check compares an INT8 model's detections with the float model's on one
// video frame in every (1: all) and on the photos, frame by frame: the
// same decoded input to both, compared at Threshold.
func Check(ctx context.Context, floatModel, int8Model []byte, video string, photos []string, every, threads int) (onVideo, onPhotos *Agreement, err error) {
	fd, err := NewDetector(floatModel, threads)
	if err != nil {
		return nil, nil, err
	}
	defer fd.Close()
	qd, err := NewDetector(int8Model, threads)
	if err != nil {
		return nil, nil, err
	}
	defer qd.Close()
	fd.SetThreshold(Threshold - Margin)
	qd.SetThreshold(Threshold - Margin)
	compare := func(a *Agreement) func(Frame) error {
		return func(f Frame) error {
			ref, err := fd.Detect(f)
			if err != nil {
				return err
			}
			got, err := qd.Detect(f)
			if err != nil {
				return err
			}
			a.AddMargin(ref, got, Threshold)
			return nil
		}
	}
	onVideo, onPhotos = NewAgreement(), NewAgreement()
	if err := (FrameSource{Every: every}).Video(ctx, video, compare(onVideo)); err != nil {
		return nil, nil, err
	}
	frames, err := Photos(ctx, photos)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range frames {
		if err := compare(onPhotos)(f); err != nil {
			return nil, nil, err
		}
	}
	return onVideo, onPhotos, nil
}
