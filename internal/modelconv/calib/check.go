package calib

import "context"

// Check compares an INT8 model's detections with the float model's on one
// video frame in every (1: all) and on the photos, frame by frame: the
// same decoded input to both.
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
			a.Add(ref, got)
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
