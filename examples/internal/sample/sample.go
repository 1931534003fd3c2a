// Package sample holds what the Service Maker sample twins share: where
// the default model and sample video are, the object counter every
// sample attaches, and short clips for their tests.
package sample

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/elements/infer/onnxtest"
	"github.com/vidflow/vidflow/media"
)

// Root is the repository root (the folder with go.mod above the working
// directory): `go run ./examples/x` runs there, `go test` in the
// example's folder.
func Root() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "configs")); err == nil {
				return d
			}
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// PGIE is the default detector's nvinfer config (CenterNet, COCO-80:
// person is class 0, car 2), the twin of NVIDIA's dstest1_pgie_config.yml.
func PGIE() string { return filepath.Join(Root(), "configs", "config_infer_primary.yml") }

// Analytics is the nvdsanalytics config of the repository's configs.
func Analytics() string { return filepath.Join(Root(), "configs", "config_nvdsanalytics.txt") }

// Video is the sample video (people walking, 768x576, 10 fps), the twin
// of NVIDIA's sample_720p.h264.
func Video() string { return filepath.Join(config.CacheDir(), "media", "vtest.mp4") }

// Counter is the samples' ObjectCounterMarker: per frame it prints
// "Object Counter: Pad Idx=..,Frame Number=..,Vehicle Count=.., Person
// Count=.." and draws "Person=N,Vehicle=M" at (10, 12). COCO classes:
// person 0; car, motorcycle, bus, truck 2, 3, 5, 7.
func Counter(out io.Writer) func(*media.BatchMeta) {
	return func(m *media.BatchMeta) {
		for _, f := range m.Frames {
			vehicles, persons := 0, 0
			for _, o := range f.Objects {
				switch o.ClassID {
				case 0:
					persons++
				case 2, 3, 5, 7:
					vehicles++
				}
			}
			fmt.Fprintf(out, "Object Counter: Pad Idx=%d,Frame Number=%d,Vehicle Count=%d, Person Count=%d\n",
				f.SourceID, f.FrameNumber, vehicles, persons)
			f.Display = append(f.Display, &media.DisplayMeta{Texts: []media.DisplayText{{
				Text: fmt.Sprintf("Person=%d,Vehicle=%d", persons, vehicles), X: 10, Y: 12,
				Font: media.Font{Name: "Serif", Size: 12, Color: media.White}, HasBg: true, BgColor: media.Black}}})
		}
	}
}

// Clip cuts the first frames of the sample video into dst (MP4, no
// re-encoding), for fast tests.
func Clip(dst string, frames int) error {
	desc := []string{"-q", "filesrc", "location=" + Video(), "!", "qtdemux", "!", "h264parse", "!",
		"identity", fmt.Sprintf("eos-after=%d", frames+1), "!", "mp4mux", "!", "filesink", "location=" + dst}
	if out, err := exec.Command("gst-launch-1.0", desc...).CombinedOutput(); err != nil {
		return fmt.Errorf("cutting %s: %v: %s", dst, err, out)
	}
	return nil
}

// TestClip is Clip for a test: clip.mp4 of the sample video's first
// frames in dir; the test is skipped where set-up has not fetched the
// video.
func TestClip(t testing.TB, dir string, frames int) string {
	t.Helper()
	if _, err := os.Stat(Video()); err != nil {
		t.Skip("no sample video: run scripts/setup.sh")
	}
	clip := filepath.Join(dir, "clip.mp4")
	if err := Clip(clip, frames); err != nil {
		t.Fatal(err)
	}
	return clip
}

// ColorClassifier writes a stand-in secondary classifier into dir: the
// dominant colour (red, green, blue) of each object of the given classes,
// an ONNX model built here (onnxtest), since NVIDIA's vehicle make and type
// classifiers are not public ONNX. It returns its nvinfer config.
func ColorClassifier(dir, name string, uniqueID int, classIDs string) (string, error) {
	if err := onnxtest.MeanColorClassifier(16).Write(filepath.Join(dir, name+".onnx")); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-labels.txt"), []byte("red;green;blue\n"), 0o644); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`property:
  onnx-file: %s.onnx
  labelfile-path: %s-labels.txt
  net-scale-factor: 0.00392156862745098
  network-type: 1
  process-mode: 2
  gie-unique-id: %d
  operate-on-gie-id: 1
  operate-on-class-ids: %s
  batch-size: 8
  classifier-threshold: 0.4
  classifier-type: color
`, name, name, uniqueID, classIDs)
	path := filepath.Join(dir, name+".yml")
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}

// Locked makes w safe for the goroutines of a pipeline (probes, recording
// callbacks, the caller) writing to it at once.
func Locked(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
