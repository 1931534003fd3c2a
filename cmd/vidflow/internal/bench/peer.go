package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/modelconv"
)

// runPeer runs bench/peer_opencv.py on the clip; nil when python3-opencv
// is missing (said in the notes).
func (b *bench) runPeer(clip string) (*benchRow, error) {
	script := b.o.script
	if script == "" {
		script = findUp(filepath.Join("bench", "peer_opencv.py"))
	}
	if script == "" {
		return nil, fmt.Errorf("peer: bench/peer_opencv.py not found: run from the repository root or give -peer-script")
	}
	if err := exec.Command(b.o.python, "-c", "import cv2").Run(); err != nil {
		note := fmt.Sprintf("peer not run: %s has no cv2 (install python3-opencv: bash scripts/setup-bench.sh)", b.o.python)
		b.rep.Notes = append(b.rep.Notes, note)
		fmt.Fprintln(b.out, "bench:", note)
		return nil, nil
	}
	// The peer runs the float model whatever -config is (OpenCV 4.6 does
	// not load the INT8 QDQ model): -peer-config, found upwards like the
	// script when it is relative and not here.
	cfg := b.o.peerConfig
	if _, err := os.Stat(cfg); err != nil && !filepath.IsAbs(cfg) {
		if up := findUp(cfg); up != "" {
			cfg = up
		}
	}
	model, err := openCVModel(cfg)
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	threads := b.o.threads * b.o.sessions // the same cores
	args := []string{script, "--clip", clip, "--model", model, "--threads", fmt.Sprint(threads)}
	if b.o.frames > 0 {
		args = append(args, "--frames", fmt.Sprint(b.o.frames))
	}
	row, err := b.repeat(func() (*benchRow, error) { return b.peerOnce(clip, args, threads) })
	if err != nil {
		return nil, err
	}
	b.add(row)
	return row, nil
}

// peerOnce runs the peer script once and reads its JSON.
func (b *bench) peerOnce(clip string, args []string, threads int) (*benchRow, error) {
	row, err := b.child("peer", "python3-opencv (peer, float)", b.o.python, args...)
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	var res struct {
		Frames  int64     `json:"frames"`
		Seconds float64   `json:"seconds"`
		FPS     float64   `json:"fps"`
		Latency latencyMS `json:"latency_ms"`
		Objects float64   `json:"objects_per_frame"`
		Error   string    `json:"error"`
	}
	var details map[string]any
	if err := json.Unmarshal([]byte(row.Note), &res); err != nil {
		return nil, fmt.Errorf("peer: output %q: %v", row.Note, err)
	}
	_ = json.Unmarshal([]byte(row.Note), &details)
	if res.Error != "" {
		return nil, fmt.Errorf("peer: %s", res.Error)
	}
	row.Note = ""
	row.Clip, row.Streams, row.Threads, row.Batch = filepath.Base(clip), 1, threads, 1
	row.Frames, row.FPS, row.Latency, row.Objects = res.Frames, res.FPS, &res.Latency, res.Objects
	row.StreamFPS = []float64{res.FPS}
	row.PeerDetails = details
	iv := 0
	row.Interval = &iv
	return row, nil
}

// findUp looks for rel in the working directory and its parents.
func findUp(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
			return filepath.Join(dir, rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// openCVModel writes (once) the detector's model in the form OpenCV 4.6
// loads, beside the model: <name>-opencv.onnx.
func openCVModel(config string) (string, error) {
	cfg, err := infer.LoadConfig(config)
	if err != nil {
		return "", err
	}
	src := cfg.ONNXFile
	dst := strings.TrimSuffix(src, ".onnx") + "-opencv.onnx"
	si, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	if di, err := os.Stat(dst); err == nil && !di.ModTime().Before(si.ModTime()) {
		return dst, nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	cv, _, err := modelconv.RewriteForOpenCV(data)
	if err != nil {
		return "", err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, cv, 0o644); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp, dst)
}
