package vidflow_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// frameLog records, per source, the frame numbers and arrival times.
type frameLog struct {
	mu     sync.Mutex
	frames map[int][]int64
	times  map[int][]time.Time
}

func (l *frameLog) probe(m *media.BatchMeta) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for _, f := range m.Frames {
		l.frames[f.SourceID] = append(l.frames[f.SourceID], f.FrameNumber)
		l.times[f.SourceID] = append(l.times[f.SourceID], now)
	}
}

func (l *frameLog) count(id int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.frames[id])
}

func (l *frameLog) waitFrames(t *testing.T, id, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for l.count(id) < n {
		if time.Now().After(deadline) {
			t.Fatalf("stream %d: %d frames, want %d", id, l.count(id), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAddAndRemoveStreamsWhileRunning(t *testing.T) {
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("dynamic")
	var mu sync.Mutex
	var added, removed []int
	p.OnMessage(func(m element.Message) {
		if s, ok := m.(*element.StreamMessage); ok {
			mu.Lock()
			if s.Added {
				added = append(added, s.SourceID)
			} else {
				removed = append(removed, s.SourceID)
			}
			mu.Unlock()
		}
	})
	l := &frameLog{frames: map[int][]int64{}, times: map[int][]time.Time{}}
	f := vidflow.NewFlow(p).BatchCapture(nil, vidflow.Props{"drop-pipeline-eos": true, "max-batch-size": 4,
		"width": 160, "height": 120, "batched-push-timeout": 40000}, vidflow.Name("mux")).
		Attach(l.probe).Render(vidflow.RenderDiscard)
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	add := func(i int) int {
		id, err := p.AddStream("mux", vidflow.StreamSpec{URI: "testsrc://?is-live=true&framerate=50&width=160&height=120&seed=" + string(rune('0'+i)),
			SensorID: "cam" + string(rune('0'+i))})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	var ids []int
	for i := 0; i < 4; i++ {
		ids = append(ids, add(i))
		l.waitFrames(t, ids[i], 10)
	}
	if _, err := p.AddStream("mux", vidflow.StreamSpec{URI: "testsrc://", SensorID: "cam9"}); err == nil || !strings.Contains(err.Error(), "is full") {
		t.Errorf("fifth stream: %v, want a full batch error", err)
	}
	if _, err := p.AddStream("mux", vidflow.StreamSpec{URI: "testsrc://", SensorID: "cam1"}); err == nil {
		t.Error("duplicate sensor id accepted")
	}
	if len(p.Streams("mux")) != 4 {
		t.Errorf("Streams lists %d, want 4", len(p.Streams("mux")))
	}
	// Remove two; their frames stop, the others go on.
	for _, id := range ids[1:3] {
		if err := p.RemoveStream("mux", id); err != nil {
			t.Fatal(err)
		}
	}
	removedAt := time.Now()
	stop1, stop2 := l.count(ids[1]), l.count(ids[2])
	time.Sleep(500 * time.Millisecond)
	if l.count(ids[1]) > stop1+2 || l.count(ids[2]) > stop2+2 {
		t.Errorf("removed streams kept flowing: %d→%d, %d→%d frames", stop1, l.count(ids[1]), stop2, l.count(ids[2]))
	}
	// One comes back, under a new source id.
	back := add(7)
	l.waitFrames(t, back, 10)
	l.waitFrames(t, ids[3], l.count(ids[3])+10)
	if err := p.RemoveStream("mux", ids[1]); err == nil {
		t.Error("removing a removed stream: no error")
	}
	p.Stop()

	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range []int{ids[0], ids[3], back} { // never removed: no gap
		for i, n := range l.frames[id] {
			if n != int64(i) {
				t.Errorf("stream %d paused or lost frames: frame %d numbered %d", id, i, n)
				break
			}
		}
	}
	for _, id := range ids[1:3] { // nothing after removal (but frames in flight)
		times := l.times[id]
		if len(times) > 0 && times[len(times)-1].After(removedAt.Add(200*time.Millisecond)) {
			t.Errorf("stream %d delivered a frame %v after its removal", id, times[len(times)-1].Sub(removedAt))
		}
	}
	mu.Lock()
	if len(added) != 5 || len(removed) != 2 {
		t.Errorf("StreamMessages: added %v removed %v", added, removed)
	}
	mu.Unlock()
	checkClean(t, g)
}

func TestAddStreamErrors(t *testing.T) {
	p := vidflow.NewPipeline("static")
	vidflow.NewFlow(p).BatchCapture([]string{"testsrc://?num-buffers=-1"}, vidflow.Name("mux")).Render(vidflow.RenderDiscard)
	if _, err := p.AddStream("mux", vidflow.StreamSpec{URI: "testsrc://"}); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("before Start: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if _, err := p.AddStream("mux", vidflow.StreamSpec{URI: "testsrc://"}); err == nil || !strings.Contains(err.Error(), "drop-pipeline-eos") {
		t.Errorf("static batcher: %v", err)
	}
	if _, err := p.AddStream("nope", vidflow.StreamSpec{URI: "testsrc://"}); err == nil || !strings.Contains(err.Error(), `no element named "nope"`) {
		t.Errorf("unknown batcher: %v", err)
	}
	if _, err := p.AddStream("mux", vidflow.StreamSpec{URI: "/no/file.mp4"}); err == nil || !strings.Contains(err.Error(), "doesn't exist") {
		t.Errorf("missing file: %v", err)
	}
}

// Streams added while running make batches larger than the batcher's
// conversion pool was made for (batch-size 0: as many as there are
// streams): it grows with them (a pool smaller than a batch deadlocked
// the batcher).
func TestAddedStreamsGrowTheBatchersPool(t *testing.T) {
	g := runtime.NumGoroutine()
	p := vidflow.NewPipeline("grow")
	l := &frameLog{frames: map[int][]int64{}, times: map[int][]time.Time{}}
	// RGBA batches of RGB streams: every frame is converted into the pool.
	f := vidflow.NewFlow(p).BatchCapture(nil, vidflow.Props{"drop-pipeline-eos": true, "max-batch-size": 6, "batch-size": 0, "format": "RGBA",
		"buffer-pool-size": 1, "batched-push-timeout": 40000}, vidflow.Name("mux")).
		Attach(l.probe).Render(vidflow.RenderDiscard)
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	for i := 0; i < 6; i++ {
		id, err := p.AddStream("mux", vidflow.StreamSpec{URI: "testsrc://?is-live=true&framerate=50&width=64&height=48&seed=" + string(rune('0'+i)),
			SensorID: "cam" + string(rune('0'+i))})
		if err != nil {
			t.Fatal(err)
		}
		l.waitFrames(t, id, 10)
	}
	for id := 0; id < 6; id++ {
		l.waitFrames(t, id, l.count(id)+10)
	}
	p.Stop()
	checkClean(t, g)
}
