package vidflow_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// idChecker checks, per stream, that each ground-truth object keeps one
// track id and no two objects share one.
type idChecker struct {
	mu       sync.Mutex
	byTruth  map[[2]int64]int64 // (stream, truth id) -> track id
	byTrack  map[[2]int64]int64 // (stream, track id) -> truth id
	tracked  int
	frames   int
	predicts int
	errs     []string
}

func newIDChecker() *idChecker {
	return &idChecker{byTruth: map[[2]int64]int64{}, byTrack: map[[2]int64]int64{}}
}

// stripIDs moves the test source's ground-truth ids into the objects'
// user data and leaves them untracked, as a detector would give them.
func stripIDs(m *media.BatchMeta) {
	for _, fm := range m.Frames {
		for _, o := range fm.Objects {
			o.User = map[string]any{"truth": o.TrackID}
			o.TrackID = media.UntrackedID
		}
	}
}

func (c *idChecker) check(m *media.BatchMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fm := range m.Frames {
		c.frames++
		for _, o := range fm.Objects {
			if o.Confidence == -0.1 {
				c.predicts++
				continue
			}
			if o.TrackID < 0 {
				continue
			}
			c.tracked++
			truth, _ := o.User["truth"].(int64)
			s := int64(fm.SourceID)
			if id, ok := c.byTruth[[2]int64{s, truth}]; ok && id != o.TrackID {
				c.errs = append(c.errs, "stream "+itoa(s)+": object "+itoa(truth)+" changed id "+itoa(id)+" -> "+itoa(o.TrackID))
			}
			if tr, ok := c.byTrack[[2]int64{s, o.TrackID}]; ok && tr != truth {
				c.errs = append(c.errs, "stream "+itoa(s)+": id "+itoa(o.TrackID)+" given to objects "+itoa(tr)+" and "+itoa(truth))
			}
			c.byTruth[[2]int64{s, truth}] = o.TrackID
			c.byTrack[[2]int64{s, o.TrackID}] = truth
		}
	}
}

func itoa(v int64) string {
	if v < 0 {
		return "-" + itoa(-v)
	}
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + string(rune('0'+v%10))
}

// TestTrackTestsrc: two synthetic streams with ground truth; the ids are
// stripped, Track gives them back: each object keeps one id, ids are per
// stream from 0, for every algorithm.
func TestTrackTestsrc(t *testing.T) {
	for _, alg := range []string{"iou", "sort", "bytetrack"} {
		t.Run(alg, func(t *testing.T) {
			g := runtime.NumGoroutine()
			c := newIDChecker()
			p := vidflow.NewPipeline("track-" + alg)
			err := vidflow.NewFlow(p).
				BatchCapture([]string{"testsrc://?width=320&height=240&objects=3&truth=true&num-buffers=150&seed=3",
					"testsrc://?width=320&height=240&objects=3&truth=true&num-buffers=150&seed=4"}).
				Attach(vidflow.NewProbe("strip", stripIDs)).
				Track(vidflow.TrackerAlgorithm(alg)).
				Attach(vidflow.NewProbe("check", c.check)).
				Render(vidflow.RenderDiscard).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range c.errs[:min(len(c.errs), 5)] {
				t.Error(e)
			}
			if c.frames != 300 || c.tracked < 300*3*9/10 {
				t.Errorf("%d frames, %d tracked objects; want 300 and about 900", c.frames, c.tracked)
			}
			for s := int64(0); s < 2; s++ {
				for id := int64(0); id < 3; id++ {
					if _, ok := c.byTrack[[2]int64{s, id}]; !ok {
						t.Errorf("stream %d: no id %d (ids %v)", s, id, c.byTrack)
					}
				}
			}
			checkClean(t, g)
		})
	}
}

// TestTrackInterval: a probe drops the objects of every other frame, as
// Infer with interval=1 leaves them; the tracks live on, predicted. (The
// test source's boxes bounce off the edges at a tenth of their size per
// frame: with longer intervals a bounce can take a box out of its
// prediction.)
func TestTrackInterval(t *testing.T) {
	g := runtime.NumGoroutine()
	c := newIDChecker()
	n := 0
	skip := vidflow.NewProbe("interval", func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			if fm.FrameNumber%2 != 0 {
				fm.Objects = nil
			}
		}
		n++
	})
	var predicted []*media.ObjectMeta
	var mu sync.Mutex
	keep := vidflow.NewProbe("keep", func(m *media.BatchMeta) {
		mu.Lock()
		defer mu.Unlock()
		for _, fm := range m.Frames {
			for _, o := range fm.Objects {
				if o.Confidence == -0.1 {
					predicted = append(predicted, o)
				}
			}
		}
	})
	err := vidflow.NewFlow(vidflow.NewPipeline("interval")).
		Capture([]string{"testsrc://?width=320&height=240&objects=3&truth=true&num-buffers=120&seed=5"}).Batch().
		Attach(vidflow.NewProbe("strip", stripIDs)).Attach(skip).
		Track(vidflow.TrackerAlgorithm("sort")).Attach(keep).Attach(vidflow.NewProbe("check", c.check)).
		Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.errs {
		t.Error(e)
	}
	// 60 frames without detections, 3 objects each, all confirmed after the
	// first few.
	if len(predicted) < 55*3 {
		t.Errorf("%d predicted objects, want about 180", len(predicted))
	}
	for _, o := range predicted {
		if o.TrackID < 0 || o.TrackID > 2 || o.Label == "" {
			t.Fatalf("predicted object %+v", o)
		}
	}
	checkClean(t, g)
}

// TestTrackConfigFile: a DeepStream tracker YAML configures Track; bad
// files are errors naming the file and the key.
func TestTrackConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "config_tracker_IOU.yml")
	if err := os.WriteFile(good, []byte("%YAML:1.0\nBaseConfig:\n  minDetectorConfidence: 0\nTargetManagement:\n  probationAge: 0\n  maxShadowTrackingAge: 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := map[int64]bool{}
	probe := vidflow.NewProbe("first", func(m *media.BatchMeta) {
		for _, fm := range m.Frames {
			if fm.FrameNumber == 0 {
				for _, o := range fm.Objects {
					first[o.TrackID] = true
				}
			}
		}
	})
	var msgs messages
	p := vidflow.NewPipeline("yaml")
	p.OnMessage(msgs.add)
	err := vidflow.NewFlow(p).Capture([]string{"testsrc://?objects=2&truth=true&num-buffers=5"}).
		Attach(vidflow.NewProbe("strip", stripIDs)).
		Track(vidflow.TrackerConfigFile(good), vidflow.Props{"ll-lib-file": "libnvds_nvmultiobjecttracker.so"}).
		Attach(probe).Render(vidflow.RenderDiscard).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !first[0] || !first[1] {
		t.Errorf("probationAge 0: first frame ids %v, want 0 and 1", first)
	}
	warned := false
	for _, m := range msgs.all() {
		if w, ok := m.(*element.WarningMessage); ok && strings.Contains(w.Text, "ll-lib-file") {
			warned = true
		}
	}
	if !warned {
		t.Error("no warning that ll-lib-file has no effect")
	}

	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("TargetManagement:\n  probationAge: 2\n  maxShadowAge: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = vidflow.NewFlow(vidflow.NewPipeline("bad")).Capture([]string{"testsrc://"}).Track(vidflow.TrackerConfigFile(bad), vidflow.Props{"strict-config": true}).Err()
	if err == nil || !strings.Contains(err.Error(), "bad.yml") || !strings.Contains(err.Error(), `unknown key "maxShadowAge"`) {
		t.Errorf("bad tracker config: %v", err)
	}
	err = vidflow.NewFlow(vidflow.NewPipeline("bad")).Capture([]string{"testsrc://"}).Track(vidflow.TrackerAlgorithm("deepsort")).Err()
	if err == nil || !strings.Contains(err.Error(), `unknown tracker "deepsort"`) {
		t.Errorf("unknown tracker: %v", err)
	}
	err = vidflow.NewFlow(vidflow.NewPipeline("bad")).Capture([]string{"testsrc://"}).Track(vidflow.Props{"tracker-widht": 640}).Err()
	if err == nil || !strings.Contains(err.Error(), `unknown property "tracker-widht"`) {
		t.Errorf("unknown property: %v", err)
	}
}
