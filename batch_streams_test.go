package vidflow_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// BatchCaptureStreams: each stream's Props reach its own source only
// (here testsrc's num-buffers: 3 frames from one, 6 from the other);
// bad specs are errors naming the stream or the property.
func TestBatchCaptureStreams(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	var mu sync.Mutex
	frames := map[int]int{}
	p := vidflow.NewPipeline("streams")
	err := vidflow.NewFlow(p).BatchCaptureStreams([]vidflow.StreamSpec{
		{URI: "testsrc://", Props: vidflow.Props{"num_buffers": 3}},
		{URI: "testsrc://", Props: vidflow.Props{"num-buffers": 6}},
	}, vidflow.Width(64), vidflow.Height(48)).Attach(func(b *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range b.Frames {
			frames[f.SourceID]++
		}
	}).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if frames[0] != 3 || frames[1] != 6 {
		t.Errorf("frames per stream %v: want 3 and 6 (each stream's own num-buffers)", frames)
	}
	checkClean(t, goroutines)

	for _, c := range []struct {
		specs []vidflow.StreamSpec
		want  string
	}{
		{[]vidflow.StreamSpec{{URI: "testsrc://"}, {}}, "stream 1 has no URI"},
		{[]vidflow.StreamSpec{{URI: "testsrc://", SensorID: "a"}, {URI: "testsrc://", SensorID: "a"}}, `same sensor id "a"`},
		{[]vidflow.StreamSpec{{URI: "testsrc://", Props: vidflow.Props{"no-such": 1}}}, "no-such"},
	} {
		err := vidflow.NewFlow(vidflow.NewPipeline("bad")).BatchCaptureStreams(c.specs).Render(vidflow.RenderDiscard).Err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.specs, err, c.want)
		}
	}
}
