package bench

import (
	"fmt"
	"path/filepath"

	"github.com/vidflow/vidflow"
)

// decode is the decode scenario: for each clip and stream count, vidflow's
// capture to a discarding sink, its ratio taken to the gst-launch floor.
func (b *bench) decode(clips []string) error {
	for _, clip := range clips {
		clip, err := b.runClip(clip)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		for _, n := range b.o.streams {
			if n == 0 {
				continue
			}
			floor, err := b.decodeFloor(clip, n)
			if err != nil {
				return err
			}
			row, err := b.repeat(func() (*benchRow, error) { return b.captureRun(clip, n) })
			if err != nil {
				return fmt.Errorf("decode %s x%d: %w", filepath.Base(clip), n, err)
			}
			row.Floor, row.FloorOf = floor, "gst-launch-1.0"
			row.Ratio = row.FPS / floor
			b.add(row)
		}
	}
	return nil
}

// captureRun measures n copies of clip → BatchCapture → a probe →
// discard once, from the first batch of all streams (start-up apart).
func (b *bench) captureRun(clip string, n int) (*benchRow, error) {
	run := newRunner(b, "decode", clip, n)
	f := vidflow.NewFlow(run.p).BatchCapture(run.uris, b.capture(vidflow.BatchedPushTimeout(-1))...).
		Attach(vidflow.NewProbe("bench-sink", run.sink.probe)).Render(vidflow.RenderDiscard)
	return run.measure(f, true)
}
