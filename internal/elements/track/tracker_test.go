package track

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/media"
)

func frame(source int, boxes ...media.Rect) *media.FrameMeta {
	fm := &media.FrameMeta{SourceID: source, Width: 1920, Height: 1080}
	for _, b := range boxes {
		fm.Objects = append(fm.Objects, media.NewObject(0, "person", 0.9, b))
	}
	return fm
}

func box(x, y float32) media.Rect { return media.Rect{Left: x, Top: y, Width: 50, Height: 100} }

func ids(fm *media.FrameMeta) []int64 {
	var out []int64
	for _, o := range fm.Objects {
		out = append(out, o.TrackID)
	}
	return out
}

func mustNew(t *testing.T, alg string, edit func(*Config)) *Tracker {
	t.Helper()
	c, err := Preset(alg)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&c)
	}
	tr, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestLifecycle: probation, confirmation with increasing ids, shadow
// tracking, termination, for each algorithm.
func TestLifecycle(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			tr := mustNew(t, alg, func(c *Config) { c.ProbationAge = 2; c.MaxShadowTrackingAge = 3 })
			// Two objects moving right; ids after 2 more matches.
			var fm *media.FrameMeta
			for f := 0; f < 3; f++ {
				fm = frame(0, box(100+float32(f)*5, 100), box(600+float32(f)*5, 300))
				tr.Update(fm)
				if f < 2 {
					if got := ids(fm); got[0] != -1 || got[1] != -1 {
						t.Fatalf("frame %d: ids %v during probation, want untracked", f, got)
					}
				}
			}
			if got := ids(fm); got[0] != 0 || got[1] != 1 {
				t.Fatalf("after probation: ids %v, want [0 1]", got)
			}
			// Object 0 goes missing for 3 frames (shadow), then comes back
			// with its id; object 1 stays.
			for f := 3; f < 6; f++ {
				fm = frame(0, box(600+float32(f)*5, 300))
				tr.Update(fm)
				if got := ids(fm); len(got) != 1 || got[0] != 1 {
					t.Fatalf("frame %d: ids %v, want [1]", f, got)
				}
			}
			fm = frame(0, box(130, 100), box(630, 300))
			tr.Update(fm)
			if got := ids(fm); got[0] != 0 || got[1] != 1 {
				t.Fatalf("back from shadow: ids %v, want [0 1]", got)
			}
			// Gone for longer than maxShadowTrackingAge: a new id later.
			for f := 7; f < 12; f++ {
				tr.Update(frame(0, box(600+float32(f)*5, 300)))
			}
			for f := 0; f < 3; f++ {
				fm = frame(0, box(1000, 700), box(660+float32(f)*5, 300))
				tr.Update(fm)
			}
			if got := ids(fm); got[0] != 2 || got[1] != 1 {
				t.Fatalf("after termination: ids %v, want [2 1]", got)
			}
		})
	}
}

// TestPredictOnEmpty: frames without objects are prediction-only:
// confirmed tracks come out as objects with confidence -0.1, moving on
// with their velocity (Kalman trackers), and keep their ids after.
func TestPredictOnEmpty(t *testing.T) {
	for _, alg := range Algorithms {
		tr := mustNew(t, alg, nil)
		x, step := float32(100), float32(10)
		if alg == IOU {
			step = 2 // no motion model: the box stays where last seen
		}
		for f := 0; f < 15; f++ {
			tr.Update(frame(0, box(x, 100)))
			x += step
		}
		for f := 0; f < 4; f++ {
			fm := frame(0)
			tr.Update(fm)
			if len(fm.Objects) != 1 {
				t.Fatalf("%s: prediction-only frame has %d objects, want 1", alg, len(fm.Objects))
			}
			o := fm.Objects[0]
			if o.TrackID != 0 || o.Confidence != -0.1 || o.Label != "person" {
				t.Fatalf("%s: predicted object %+v", alg, o)
			}
			if alg != IOU && math.Abs(float64(o.Rect.Left-x)) > 3 {
				t.Errorf("%s: predicted left %v, want about %v", alg, o.Rect.Left, x)
			}
			x += step
		}
		fm := frame(0, box(x, 100))
		tr.Update(fm)
		if fm.Objects[0].TrackID != 0 {
			t.Errorf("%s: id %d after prediction-only frames, want 0", alg, fm.Objects[0].TrackID)
		}
	}
	// Without predict-on-empty, empty frames are misses.
	tr := mustNew(t, SORT, func(c *Config) { c.PredictOnEmpty = false })
	for f := 0; f < 5; f++ {
		tr.Update(frame(0, box(100, 100)))
	}
	fm := frame(0)
	tr.Update(fm)
	if len(fm.Objects) != 0 {
		t.Errorf("predict-on-empty off: %d objects added", len(fm.Objects))
	}
}

// TestStreams: streams are independent, ids per stream; EndStream drops a
// stream's state and, with reset, its ids.
func TestStreams(t *testing.T) {
	tr := mustNew(t, ByteTrack, func(c *Config) { c.ProbationAge = 0 })
	a, b := frame(0, box(10, 10)), frame(3, box(10, 10), box(500, 500))
	tr.Update(a)
	tr.Update(b)
	if got := ids(a); got[0] != 0 {
		t.Errorf("stream 0: %v", got)
	}
	if got := ids(b); got[0] != 0 || got[1] != 1 {
		t.Errorf("stream 3: %v", got)
	}
	if tr.Streams() != 2 {
		t.Errorf("%d streams", tr.Streams())
	}
	tr.EndStream(3, false)
	tr.EndStream(0, true)
	if tr.Streams() != 0 {
		t.Errorf("%d streams after their end", tr.Streams())
	}
	a, b = frame(0, box(10, 10)), frame(3, box(10, 10))
	tr.Update(a)
	tr.Update(b)
	if ids(a)[0] != 0 || ids(b)[0] != 2 {
		t.Errorf("after end: stream 0 (reset) id %d, want 0; stream 3 id %d, want 2", ids(a)[0], ids(b)[0])
	}
	u := mustNew(t, SORT, func(c *Config) { c.ProbationAge = 0; c.UseUniqueID = true })
	fm := frame(5, box(1, 1))
	u.Update(fm)
	if fm.Objects[0].TrackID != 5<<32 {
		t.Errorf("unique id %x, want %x", fm.Objects[0].TrackID, int64(5)<<32)
	}
}

// TestSelection: low-confidence, child and bad objects are not tracked;
// classes do not mix.
func TestSelection(t *testing.T) {
	tr := mustNew(t, IOU, func(c *Config) { c.ProbationAge = 0 })
	fm := frame(0, box(10, 10), box(300, 10), box(600, 10))
	fm.Objects[1].Confidence = 0.1
	fm.Objects[2].Parent = fm.Objects[0]
	fm.Objects[2].TrackID = 77
	nan := float32(math.NaN())
	fm.Objects = append(fm.Objects, media.NewObject(0, "bad", 0.9, media.Rect{Left: nan, Top: 1, Width: 5, Height: 5}),
		media.NewObject(0, "neg", 0.9, media.Rect{Left: 1, Top: 1, Width: -5, Height: 5}), nil)
	tr.Update(fm)
	if fm.Objects[0].TrackID != 0 || fm.Objects[1].TrackID != -1 || fm.Objects[2].TrackID != 77 ||
		fm.Objects[3].TrackID != -1 || fm.Objects[4].TrackID != -1 {
		t.Errorf("ids %v, want [0 -1 77 -1 -1]", ids(&media.FrameMeta{Objects: fm.Objects[:5]}))
	}
	// A car where the person was does not take its id.
	fm2 := frame(0)
	fm2.Objects = append(fm2.Objects, media.NewObject(1, "car", 0.9, box(10, 10)))
	tr.Update(fm2)
	if fm2.Objects[0].TrackID == 0 {
		t.Error("an object of another class took the id")
	}
}

// TestNoLeak: tracks of objects that left are dropped; the state stays small.
func TestNoLeak(t *testing.T) {
	tr := mustNew(t, SORT, nil)
	rng := rand.New(rand.NewPCG(1, 1))
	for f := 0; f < 2000; f++ {
		fm := frame(0)
		for i := 0; i < 5; i++ {
			fm.Objects = append(fm.Objects, media.NewObject(0, "x", 0.9, box(rng.Float32()*1800, rng.Float32()*900)))
		}
		tr.Update(fm)
	}
	if n := len(tr.streams[0].targets); n > 5*(tr.cfg.MaxShadowTrackingAge+2) {
		t.Errorf("%d targets alive", n)
	}
}

const iouYAML = `%YAML:1.0
BaseConfig:
  minDetectorConfidence: 0   # comment

TargetManagement:
  preserveStreamUpdateOrder: 0
  maxTargetsPerStream: 150
  minIouDiff4NewTarget: 0.5
  probationAge: 4
  maxShadowTrackingAge: 38
  earlyTerminationAge: 1

TrajectoryManagement:
  useUniqueID: 0

DataAssociator:
  dataAssociatorType: 0
  associationMatcherType: 0
  checkClassMatch: 1
  minMatchingScore4Overall: 0.0
  minMatchingScore4SizeSimilarity: 0.0
  minMatchingScore4Iou: 0.0
  matchingScoreWeight4SizeSimilarity: 0.4
  matchingScoreWeight4Iou: 0.6
`

const sortYAML = `%YAML:1.0
BaseConfig:
  minDetectorConfidence: 0.1345
TargetManagement:
  enableBboxUnClipping: 0
  maxTargetsPerStream: 300
  minIouDiff4NewTarget: 0.5780
  minTrackerConfidence: 0.8216
  probationAge: 5
  maxShadowTrackingAge: 26
  earlyTerminationAge: 1
TrajectoryManagement:
  useUniqueID: 0
DataAssociator:
  dataAssociatorType: 0
  associationMatcherType: 1
  checkClassMatch: 1
  minMatchingScore4Overall: 0.2543
  minMatchingScore4SizeSimilarity: 0.4019
  minMatchingScore4Iou: 0.2159
  matchingScoreWeight4SizeSimilarity: 0.1365
  matchingScoreWeight4Iou: 0.3836
  tentativeDetectorConfidence: 0.2331
  minMatchingScore4TentativeIou: 0.2867
  usePrediction4Assoc: 1
StateEstimator:
  stateEstimatorType: 2
  noiseWeightVar4Loc: 0.0301
  noiseWeightVar4Vel: 0.0017
  useAspectRatio: 1
VisualTracker:
  visualTrackerType: 1
`

func TestConfigYAML(t *testing.T) {
	c, err := ParseConfig("iou.yml", []byte(iouYAML))
	if err != nil {
		t.Fatal(err)
	}
	if c.Algorithm != IOU || c.ProbationAge != 4 || c.MaxShadowTrackingAge != 38 || c.MinDetectorConfidence != 0 ||
		c.MatchingScoreWeight4SizeSimilarity != 0.4 || c.Cascaded || c.StateEstimatorType != 0 {
		t.Errorf("IOU config: %+v", c)
	}
	if strings.Join(c.Ignored, ",") != "TargetManagement.preserveStreamUpdateOrder,DataAssociator.dataAssociatorType" {
		t.Errorf("ignored %v", c.Ignored)
	}
	c, err = ParseConfig("sort.yml", []byte(sortYAML))
	if err != nil {
		t.Fatal(err)
	}
	if c.Algorithm != ByteTrack || !c.Cascaded || c.TentativeDetectorConfidence != 0.2331 || c.NoiseWeightVar4Loc != 0.0301 || c.MaxTargetsPerStream != 300 {
		t.Errorf("NvSORT config: %+v", c)
	}
	if !strings.Contains(strings.Join(c.Ignored, ","), "VisualTracker") || !strings.Contains(strings.Join(c.Ignored, ","), "minTrackerConfidence") {
		t.Errorf("ignored %v", c.Ignored)
	}
	// The tracker property wins over the file's choice.
	if c, err = c.WithAlgorithm(SORT); err != nil || c.Algorithm != SORT || !c.Cascaded {
		t.Errorf("sort over NvSORT file: %v %+v", err, c)
	}
	bad := []struct{ yaml, want string }{
		{"TargetManagement:\n  probationAge: abc\n", `bad.yml: line 2: TargetManagement.probationAge: want an integer, got "abc"`},
		{"TargetManagement:\n  probationAge: 1.5\n", `TargetManagement.probationAge: want an integer, got "1.5"`},
		{"BaseConfig:\n  minDetectorConfidence: [1, 2]\n", `BaseConfig.minDetectorConfidence: want a number, got a list`},
		{"DataAssociator:\n  checkClassMatch: 2\n", `DataAssociator.checkClassMatch: want a boolean`},
		{"DataAssociator:\n  associationMatcherType: 2\n", `is not 0 (greedy) or 1 (cascaded)`},
		{"DataAssociator:\n  minMatchingScore4Iou: 1.5\n", `DataAssociator.minMatchingScore4Iou: 1.5 out of range 0..1`},
		{"TargetManagement:\n  maxTargetsPerStream: 0\n", `maxTargetsPerStream: 0 out of range`},
		{"BaseConfig: 3\n", `BaseConfig: want keys, got "3"`},
		{"- a\n- b\n", `want sections`},
		{"BaseConfig:\n  minDetectorConfidence: 0.1\n   bad indent: [\n", `bad.yml`},
	}
	for _, b := range bad {
		_, err := ParseConfig("bad.yml", []byte(b.yaml))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: error %v, want it to contain %q", b.yaml, err, b.want)
		}
	}
	if _, err := parseFor("x.yml", []byte(iouYAML), "kalman"); err == nil || !strings.Contains(err.Error(), `unknown tracker "kalman"`) {
		t.Errorf("unknown algorithm: %v", err)
	}
	p := filepath.Join(t.TempDir(), "t.yml")
	if err := os.WriteFile(p, []byte(iouYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig(p); err != nil || c.ProbationAge != 4 {
		t.Errorf("LoadConfig: %v %+v", err, c)
	}
	if _, err := LoadConfig(p + ".missing"); err == nil || !strings.Contains(err.Error(), "t.yml.missing") {
		t.Errorf("missing file: %v", err)
	}
	// An empty file is the preset.
	if c, err := parseFor("empty.yml", nil, SORT); err != nil || c.Algorithm != SORT {
		t.Errorf("empty file: %v %+v", err, c)
	}
}

// parseFor is ParseConfig with the algorithm chosen, as by the tracker
// property.
func parseFor(name string, data []byte, algorithm string) (*Config, error) {
	c, err := ParseConfig(name, data)
	if err != nil {
		return nil, err
	}
	return c.WithAlgorithm(algorithm)
}

// benchFrames makes 50 objects moving over a 1080p frame, with noise.
func benchFrames(n int) []*media.FrameMeta {
	rng := rand.New(rand.NewPCG(9, 9))
	type obj struct{ x, y, vx, vy, w, h float32 }
	objs := make([]obj, 50)
	for i := range objs {
		objs[i] = obj{rng.Float32() * 1800, rng.Float32() * 900, rng.Float32()*8 - 4, rng.Float32()*8 - 4, 30 + rng.Float32()*60, 60 + rng.Float32()*120}
	}
	frames := make([]*media.FrameMeta, n)
	for f := range frames {
		fm := &media.FrameMeta{Width: 1920, Height: 1080}
		for i := range objs {
			o := &objs[i]
			o.x, o.y = o.x+o.vx, o.y+o.vy
			if o.x < 0 || o.x > 1920-o.w {
				o.vx = -o.vx
			}
			if o.y < 0 || o.y > 1080-o.h {
				o.vy = -o.vy
			}
			if rng.Float32() < 0.05 {
				continue // missed
			}
			fm.Objects = append(fm.Objects, media.NewObject(0, "person", 0.3+0.7*rng.Float32(),
				media.Rect{Left: o.x + float32(rng.NormFloat64()*2), Top: o.y + float32(rng.NormFloat64()*2), Width: o.w, Height: o.h}))
		}
		frames[f] = fm
	}
	return frames
}

func benchTrack(b *testing.B, alg string) {
	frames := benchFrames(1000)
	c, _ := Preset(alg)
	tr, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Update(frames[i%len(frames)])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/frame")
}

// BenchmarkTrackIOU, BenchmarkTrackSORT and BenchmarkTrackByteTrack track
// 50 moving objects per 1080p frame.
func BenchmarkTrackIOU(b *testing.B)       { benchTrack(b, IOU) }
func BenchmarkTrackSORT(b *testing.B)      { benchTrack(b, SORT) }
func BenchmarkTrackByteTrack(b *testing.B) { benchTrack(b, ByteTrack) }
