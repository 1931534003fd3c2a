package vidflow_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// Events start recordings: a person (class 2) from frame 100 on (a
// stand-in detector marks it) records once, not once per frame; a line
// crossing on frame 200 records again; a stream without compressed video
// is reported once, naming it.
func TestRecordOnEvents(t *testing.T) {
	clip := gopClip(t, 300) // 10 s
	p := vidflow.NewPipeline("sr-events")
	var mu sync.Mutex
	var got []vidflow.RecordingInfo
	var errs []error
	mark := func(m *media.BatchMeta) {
		for _, f := range m.Frames {
			if f.SourceID == 1 && f.FrameNumber >= 10 && f.FrameNumber < 20 {
				f.Objects = append(f.Objects, &media.ObjectMeta{ClassID: 2, Confidence: 0.9})
			}
			if f.SourceID != 0 {
				continue
			}
			if f.FrameNumber >= 100 && f.FrameNumber < 130 {
				f.Objects = append(f.Objects, &media.ObjectMeta{ClassID: 2, Confidence: 0.9, TrackID: media.UntrackedID})
			}
			if f.FrameNumber == 200 {
				f.User = map[string]any{media.AnalyticsKey: &media.AnalyticsFrameMeta{LineCurrent: map[string]int{"Entry": 1}}}
			}
		}
	}
	err := vidflow.NewFlow(p).
		BatchCapture([]string{clip, "testsrc://?num-buffers=150&width=64&height=48"}, vidflow.RecordConfig{Dir: t.TempDir(), Cache: 3 * time.Second}).
		Attach(mark).
		Attach(p.RecordOn(vidflow.RecordTrigger{Classes: []int{2}, Lines: []string{"Entry"}, Before: time.Second, After: time.Second,
			OnRecording: func(i vidflow.RecordingInfo) { mu.Lock(); got = append(got, i); mu.Unlock() },
			OnError:     func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }})).
		Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d recordings, want 2: %+v", len(got), got)
	}
	for i, at := range []time.Duration{100 * time.Second / 30, 200 * time.Second / 30} {
		r := got[i]
		if r.Err != nil || r.Start > at-time.Second || r.Start < at-time.Second-600*time.Millisecond || r.Duration < 2*time.Second-time.Millisecond {
			t.Errorf("recording %d: starts %v for %v, want from before %v for 2 s: %+v", i, r.Start, r.Duration, at-time.Second, r)
		}
	}
	// The synthetic stream's person: reported once, naming the stream.
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `"batch_capture-src-1" (testsrc)`) || !errors.Is(errs[0], vidflow.ErrNoRecorder) {
		t.Errorf("errors %v", errs)
	}
}
