package vidflow_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// anTrajectory is an object moving in a straight line (or turning back once)
// in frame pixels; (X, Y) is its bottom-centre.
type anTrajectory struct {
	id        int64 // track id; -1: untracked
	class     int
	x, y      float32
	vx, vy    float32
	turnAt    int // from this frame on the velocity is reversed (0: never)
	from, to  int // frames the object is on (to exclusive; 0: all)
	expectSet map[string]int
}

func (tr *anTrajectory) at(n int) (x, y float32, ok bool) {
	if n < tr.from || (tr.to > 0 && n >= tr.to) {
		return 0, 0, false
	}
	k := float32(n)
	if tr.turnAt > 0 && n >= tr.turnAt {
		t := float32(tr.turnAt)
		return tr.x + tr.vx*t - tr.vx*(k-t), tr.y + tr.vy*t - tr.vy*(k-t), true
	}
	return tr.x + tr.vx*k, tr.y + tr.vy*k, true
}

// anSceneProvider generates a stream of frames whose objects follow known
// trajectories.
type anSceneProvider struct {
	w, h, frames int
	objs         []*anTrajectory
	i            int
}

func (p *anSceneProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: p.w, Height: p.h, Framerate: 25}
}

func (p *anSceneProvider) Generate(ctx context.Context) (*media.Buffer, error) {
	if p.i >= p.frames {
		return nil, io.EOF
	}
	b := media.NewBuffer(make([]byte, p.w*p.h*3))
	fm := b.Meta().Frames[0]
	for _, tr := range p.objs {
		x, y, ok := tr.at(p.i)
		if !ok {
			continue
		}
		o := media.NewObject(tr.class, "obj", 0.9, media.Rect{Left: x - 5, Top: y - 20, Width: 10, Height: 20})
		o.TrackID = tr.id
		fm.AddObject(o)
	}
	p.i++
	return b, nil
}

// The line-crossing scene (stream 0), frames 320x240, rules in 640x480
// config space (scaled by 0.5): a horizontal line y=120 from x=50 to 270;
// "Down" counts crossings downwards, "Up" upwards. Expected counts per mode
// come from the trajectories' angles to the direction vectors:
// vertical 0°, 17°, 45°, 79°.
func anLineScene() []*anTrajectory {
	return []*anTrajectory{
		{id: 1, x: 80, y: 60, vy: 4},                   // down, vertical; lands exactly on the line at frame 15
		{id: 2, x: 120, y: 200, vy: -4},                // up, vertical
		{id: 3, x: 100, y: 60, vx: 3, vy: 3},           // down at 45°: loose, balanced
		{id: 4, x: 60, y: 102, vx: 4, vy: 0.8},         // down at 79°: loose only
		{id: 5, x: 300, y: 60, vy: 4},                  // down beyond the segment's end: extended only
		{id: 6, x: 200, y: 60, vy: 4, turnAt: 25},      // down, then back up: one each way
		{id: 7, class: 1, x: 140, y: 60, vy: 4},        // class 1: filtered out
		{id: 8, x: 40, y: 60, vx: 1.2, vy: 4},          // down at 17°: every mode
		{id: -1, x: 240, y: 60, vy: 4},                 // untracked: never counted
		{id: 9, x: 160, y: 20, vx: 2, from: 5, to: 50}, // moves along, inside the ROI, never crosses
	}
}

// expected line counts of anLineScene.
func anExpectedLines(mode string, extended bool) (down, up int64) {
	down = map[string]int64{"loose": 5, "balanced": 4, "strict": 3}[mode]
	if extended {
		down++
	}
	return down, 2
}

// The overcrowding scene (stream 1): three objects walk into the
// overcrowding ROI (frame coordinates x >= 200, y <= 120) at frames 5, 10
// and 15; the third leaves at 40 and comes back at 45.
func anCrowdScene() []*anTrajectory {
	return []*anTrajectory{
		{id: 1, x: 250, y: 60, from: 5},
		{id: 2, x: 260, y: 80, from: 10},
		{id: 3, x: 270, y: 100, from: 15, to: 40},
		{id: 4, x: 270, y: 100, from: 45},
		{id: 5, x: 50, y: 200}, // always outside
	}
}

func anWriteConfig(t *testing.T, mode string, extended bool) string {
	t.Helper()
	ext := 0
	if extended {
		ext = 1
	}
	text := fmt.Sprintf(`[property]
enable=1
config-width=640
config-height=480
osd-mode=2
[roi-filtering-stream-0]
enable=1
roi-RF=40;40;300;40;300;200;40;200
class-id=-1
[line-crossing-stream-0]
enable=1
line-crossing-Down=320;200;320;280;100;240;540;240
line-crossing-Up=320;280;320;200;100;240;540;240
class-id=0
extended=%d
mode=%s
[direction-detection-stream-0]
enable=1
direction-South=0;0;0;10
direction-North=0;10;0;0
class-id=0
mode=balanced
[overcrowding-stream-1]
enable=1
roi-OC=400;0;640;0;640;240;400;240
object-threshold=3
time-threshold=200
`, ext, mode)
	p := filepath.Join(t.TempDir(), "analytics.txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// anLog records the analytics results of every frame, by stream.
type anLog struct {
	mu     sync.Mutex
	frames map[int][]*media.FrameMeta
}

func (l *anLog) HandleMetadata(m *media.BatchMeta) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, fm := range m.Frames {
		l.frames[fm.SourceID] = append(l.frames[fm.SourceID], fm)
	}
}

func anRunScene(t *testing.T, cfg string) map[int][]*media.FrameMeta {
	t.Helper()
	const frames = 60
	p := vidflow.NewPipeline("analytics")
	log := &anLog{frames: map[int][]*media.FrameMeta{}}
	vidflow.NewFlow(p).
		Inject([]media.BufferProvider{
			&anSceneProvider{w: 320, h: 240, frames: frames, objs: anLineScene()},
			&anSceneProvider{w: 320, h: 240, frames: frames, objs: anCrowdScene()},
		}).
		Batch(vidflow.BatchedPushTimeout(-1)).
		Analyze(cfg).
		Attach(log).
		Render(vidflow.RenderDiscard)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for s := 0; s < 2; s++ {
		if n := len(log.frames[s]); n != frames {
			t.Fatalf("stream %d: %d frames, want %d", s, n, frames)
		}
		sort.Slice(log.frames[s], func(i, j int) bool { return log.frames[s][i].FrameNumber < log.frames[s][j].FrameNumber })
	}
	return log.frames
}

// TestAnalyzeGroundTruth runs the synthetic scenes through
// Inject → Batch → Analyze in every mode, with and without extended
// lines, and checks line-crossing counts (both directions), ROI counts,
// directions and overcrowding against the ground truth frame by frame.
func TestAnalyzeGroundTruth(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	for _, mode := range []string{"loose", "balanced", "strict"} {
		for _, extended := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/extended=%v", mode, extended), func(t *testing.T) {
				frames := anRunScene(t, anWriteConfig(t, mode, extended))
				wantDown, wantUp := anExpectedLines(mode, extended)
				var sumDown, sumUp int64
				var last *media.AnalyticsFrameMeta
				scene := anLineScene()
				for n, fm := range frames[0] {
					r := media.AnalyticsFrame(fm)
					if r == nil {
						t.Fatalf("frame %d has no analytics", n)
					}
					sumDown += int64(r.LineCurrent["Down"])
					sumUp += int64(r.LineCurrent["Up"])
					if r.LineCumulative["Down"] != sumDown || r.LineCumulative["Up"] != sumUp {
						t.Errorf("frame %d: cumulative %v, sum of current counts down %d up %d", n, r.LineCumulative, sumDown, sumUp)
					}
					// ROI truth: bottom-centres in (20,20)-(150,100), every class.
					want := 0
					for _, tr := range scene {
						if x, y, ok := tr.at(n); ok && x >= 20 && x <= 150 && y >= 20 && y <= 100 {
							want++
						}
					}
					if r.ObjInROI["RF"] != want {
						t.Errorf("frame %d: %d objects in RF, want %d", n, r.ObjInROI["RF"], want)
					}
					for _, o := range fm.Objects {
						info := media.AnalyticsObject(o)
						if info == nil {
							t.Fatalf("frame %d: object %d has no analytics", n, o.TrackID)
						}
						// Object 1 lands on the line at frame 15 and crosses at 16.
						if o.TrackID == 1 && (n == 16) != (len(info.Lines) == 1 && info.Lines[0] == "Down") {
							t.Errorf("frame %d: object 1 crossed %v", n, info.Lines)
						}
						if o.TrackID == 2 && n > 0 && info.Direction != "North" {
							t.Errorf("frame %d: object 2 moving up has direction %q", n, info.Direction)
						}
						if o.TrackID == 4 && info.Direction != "" {
							t.Errorf("frame %d: object 4 (79° off) has direction %q in balanced mode", n, info.Direction)
						}
					}
					if len(fm.Display) == 0 {
						t.Errorf("frame %d: osd-mode 2 but nothing to draw", n)
					}
					last = r
				}
				if last.LineCumulative["Down"] != wantDown || last.LineCumulative["Up"] != wantUp {
					t.Errorf("%s extended=%v: Down %d Up %d, want %d and %d", mode, extended,
						last.LineCumulative["Down"], last.LineCumulative["Up"], wantDown, wantUp)
				}
				// Overcrowding on stream 1: 3 objects from frame 15 to 39 and
				// from 45; on 200 ms (5 frames at 25 fps) after it starts.
				for n, fm := range frames[1] {
					r := media.AnalyticsFrame(fm)
					want := (n >= 20 && n < 40) || n >= 50
					if r.Overcrowding["OC"] != want {
						t.Errorf("stream 1 frame %d: overcrowding %v (count %d), want %v", n, r.Overcrowding["OC"], r.OvercrowdingCount["OC"], want)
					}
					if len(r.LineCumulative) != 0 || len(r.ObjInROI) != 0 {
						t.Errorf("stream 1 frame %d: stream 0's rules applied: %+v", n, r)
					}
				}
			})
		}
	}
	checkClean(t, goroutines)
}

func TestAnalyzeErrors(t *testing.T) {
	p := vidflow.NewPipeline("e")
	vidflow.NewFlow(p).Inject(stamps(1, 1)).Analyze("/no/such/file.txt")
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "doesn't exist") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("[property]\n[line-crossing-stream-0]\nline-crossing-X=1;2;3\n"), 0o644)
	p = vidflow.NewPipeline("e")
	vidflow.NewFlow(p).Inject(stamps(1, 1)).Analyze(bad)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "bad.txt:3: [line-crossing-stream-0] line-crossing-X") {
		t.Errorf("malformed file: %v", err)
	}
	if err := vidflow.ReloadAnalytics(p, "nothing", bad); err == nil {
		t.Error("reload of a missing element")
	}
}

// anGatedProvider generates frames of one moving object forever; each frame
// waits for the test.
type anGatedProvider struct {
	gate chan struct{}
	i    int
}

func (g *anGatedProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: 64, Height: 48, Framerate: 25}
}

func (g *anGatedProvider) Generate(ctx context.Context) (*media.Buffer, error) {
	select {
	case _, ok := <-g.gate:
		if !ok {
			return nil, io.EOF
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b := media.NewBuffer(make([]byte, 64*48*3))
	o := media.NewObject(0, "o", 1, media.Rect{Left: 10, Top: float32(g.i % 40), Width: 4, Height: 4})
	o.TrackID = 1
	b.Meta().Frames[0].AddObject(o)
	g.i++
	return b, nil
}

// TestAnalyzeReload replaces the rules of a running pipeline, through
// ReloadAnalytics and through the file watch; a malformed file is
// refused and the rules in use stay.
func TestAnalyzeReload(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "a.txt")
	write := func(path, label string) {
		os.WriteFile(path, []byte("[property]\n[roi-filtering-stream-0]\nroi-"+label+"=0;0;64;0;64;48;0;48\n"), 0o644)
	}
	write(cfg, "First")
	gate := make(chan struct{})
	p := vidflow.NewPipeline("reload")
	var mu sync.Mutex
	var labels []string
	msgs := &messages{}
	p.OnMessage(msgs.add)
	vidflow.NewFlow(p).Inject([]media.BufferProvider{&anGatedProvider{gate: gate}}).
		Analyze(cfg, vidflow.Name("zones"), vidflow.Props{"config-watch-interval": "20ms"}).
		Attach(func(m *media.BatchMeta) {
			mu.Lock()
			defer mu.Unlock()
			for l := range media.AnalyticsFrame(m.Frames[0]).ObjInROI {
				labels = append(labels, l)
			}
		}).
		Render(vidflow.RenderDiscard)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	lastLabel := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(labels) == 0 {
			return ""
		}
		return labels[len(labels)-1]
	}
	// step sends frames until the last frame's ROI label is want.
	step := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			gate <- struct{}{}
			time.Sleep(5 * time.Millisecond)
			if lastLabel() == want {
				return
			}
		}
		t.Fatalf("label %q never seen (last %q)", want, lastLabel())
	}
	step("First")
	second := filepath.Join(dir, "b.yml")
	os.WriteFile(second, []byte("property:\n  enable: 1\nroi-filtering-stream-0:\n  roi-Second: [0, 0, 64, 0, 64, 48]\n"), 0o644)
	if err := vidflow.ReloadAnalytics(p, "zones", second); err != nil {
		t.Fatal(err)
	}
	step("Second")
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("[property]\n[roi-filtering-stream-0]\nroi-X=0;0;1;1\n"), 0o644)
	if err := vidflow.ReloadAnalytics(p, "zones", bad); err == nil || !strings.Contains(err.Error(), "at least 3 points") {
		t.Errorf("bad reload: %v", err)
	}
	step("Second")
	// The watched file is now b.yml: rewriting it reloads.
	time.Sleep(30 * time.Millisecond)
	os.WriteFile(second, []byte("property:\n  enable: 1\nroi-filtering-stream-0:\n  roi-Third: [0, 0, 64, 0, 64, 48]\n"), 0o644)
	step("Third")
	// A malformed rewrite is reported as a warning; the rules stay.
	os.WriteFile(second, []byte("property:\n  bogus: 1\n"), 0o644)
	deadline := time.Now().Add(5 * time.Second)
	warned := false
	for !warned && time.Now().Before(deadline) {
		gate <- struct{}{}
		time.Sleep(10 * time.Millisecond)
		for _, m := range msgs.all() {
			if w, ok := m.(*element.WarningMessage); ok && strings.Contains(w.Text, "bogus: unknown key") {
				warned = true
			}
		}
	}
	if !warned {
		t.Error("no warning for a malformed watched file")
	}
	step("Third")
	close(gate)
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	checkClean(t, goroutines)
}

// anCrowdProvider generates frames with n tracked objects moving across
// the frame (1920x1080 metadata over a small picture: only the boxes matter).
type anCrowdProvider struct {
	n, frames, i int
}

func (p *anCrowdProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.GRAY8, Width: 32, Height: 32, Framerate: 30}
}

func (p *anCrowdProvider) Generate(ctx context.Context) (*media.Buffer, error) {
	if p.i >= p.frames {
		return nil, io.EOF
	}
	b := media.NewBuffer(make([]byte, 32*32))
	fm := b.Meta().Frames[0]
	for k := 0; k < p.n; k++ {
		x := float32((k*37 + p.i*3) % 1900)
		y := float32((k*53 + p.i*2) % 1060)
		o := media.NewObject(k%3, "obj", 0.9, media.Rect{Left: x * 32 / 1920, Top: y * 32 / 1080, Width: 0.4, Height: 0.6})
		o.TrackID = int64(k)
		fm.AddObject(o)
	}
	p.i++
	return b, nil
}

// BenchmarkAnalyze reports the time the analytics element spends per
// frame (its p50 latency, one frame per buffer) with 10 rules (3 ROIs, 2
// overcrowding ROIs, 3 lines, 2 directions) and 50 tracked objects, OSD
// drawing on (osd-mode 2).
func BenchmarkAnalyze(b *testing.B) {
	cfg := filepath.Join(b.TempDir(), "bench.txt")
	os.WriteFile(cfg, []byte(`[property]
config-width=1920
config-height=1080
osd-mode=2
[roi-filtering-stream-0]
roi-A=100;100;900;100;900;900;100;900
roi-B=800;100;1800;100;1800;900;800;900
roi-C=300;300;600;250;1000;700;500;1000;200;800
[overcrowding-stream-0]
roi-O1=0;0;960;0;960;1080;0;1080
roi-O2=960;0;1920;0;1920;1080;960;1080
object-threshold=10
[line-crossing-stream-0]
line-crossing-L1=960;400;960;600;100;500;1800;500
line-crossing-L2=960;600;960;400;100;500;1800;500
line-crossing-L3=500;100;700;100;600;0;600;1080
[direction-detection-stream-0]
direction-E=0;0;10;0
direction-W=10;0;0;0
`), 0o644)
	frames := max(b.N, 500)
	p := vidflow.NewPipeline("bench")
	vidflow.NewFlow(p).Inject([]media.BufferProvider{&anCrowdProvider{n: 50, frames: frames}}).
		Analyze(cfg, vidflow.Name("an")).Render(vidflow.RenderDiscard)
	b.ResetTimer()
	if err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	for _, s := range p.Stats() {
		if s.Name == "an" {
			b.ReportMetric(float64(s.LatencyP50.Nanoseconds()), "ns/frame-p50")
			b.ReportMetric(float64(s.LatencyP95.Nanoseconds()), "ns/frame-p95")
		}
	}
}

// TestAnalyzeDrawn: with osd-mode 1 the OSD draws the crossing line into
// the picture.
func TestAnalyzeDrawn(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "draw.txt")
	os.WriteFile(cfg, []byte("[property]\nosd-mode=1\n[line-crossing-stream-0]\nline-crossing-L=160;100;160;140;20;120;300;120\n"), 0o644)
	var px []byte
	r := retrieverFunc(func(b *media.Buffer) error {
		tn, err := b.Extract(0)
		if err != nil {
			return err
		}
		d := tn.Bytes()
		i := (120*320 + 60) * 3 // on the line, away from its label and arrow
		px = append([]byte(nil), d[i:i+3]...)
		return nil
	})
	err := vidflow.NewFlow(vidflow.NewPipeline("draw")).
		Inject([]media.BufferProvider{&anSceneProvider{w: 320, h: 240, frames: 1}}).
		Analyze(cfg).OSD().Retrieve(r).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(px) != 3 || px[2] < 200 || px[0] > 60 {
		t.Errorf("pixel on the crossing line is %v, want the line's blue", px)
	}
}
