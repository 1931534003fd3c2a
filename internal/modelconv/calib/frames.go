// Package calib calibrates and checks the INT8 variant of vidflow's
// default detector (modelconv.Options.Int8): it decodes frames of the
// sample video and the sample photos into the network's input, runs the
// float model with ONNX Runtime to measure the range of every tensor that
// may be quantized, measures per layer what quantizing costs, and compares
// the INT8 model's detections with the float model's.
package calib

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
)

// Size is the network's input size (CenterNet: 512×512 RGB).
const Size = 512

// Frame is one network input: Size×Size RGB, 8 bits, row after row.
type Frame struct {
	Name string // "vtest.mp4#12" or the photo's file name
	RGB  []byte
}

// FrameSource decodes media into frames. GStreamer (gst-launch-1.0)
// decodes and scales bilinearly to the network's size: the element
// scales with its own bilinear code, which differs by rounding only, and
// calibration and the comparison feed both models the same frames.
type FrameSource struct {
	// Every keeps one video frame in Every (1: all of them).
	Every int
	// Offset is the first frame kept (then every Every-th).
	Offset int
	// Max stops after that many video frames kept (0: no limit).
	Max int
}

// Video calls fn with the kept frames of a video file, in order.
func (s FrameSource) Video(ctx context.Context, path string, fn func(Frame) error) error {
	every := max(s.Every, 1)
	return gstFrames(ctx, path, "decodebin", func(i int, rgb []byte) (bool, error) {
		if i < s.Offset || (i-s.Offset)%every != 0 {
			return true, nil
		}
		if err := fn(Frame{Name: fmt.Sprintf("%s#%d", filepath.Base(path), i), RGB: rgb}); err != nil {
			return false, err
		}
		return s.Max == 0 || (i-s.Offset)/every+1 < s.Max, nil
	})
}

// Photos returns the JPEG photos as frames.
func Photos(ctx context.Context, paths []string) ([]Frame, error) {
	var out []Frame
	for _, p := range paths {
		err := gstFrames(ctx, p, "jpegdec", func(_ int, rgb []byte) (bool, error) {
			out = append(out, Frame{Name: filepath.Base(p), RGB: rgb})
			return false, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// gstFrames runs gst-launch-1.0 decoding path to Size×Size RGB on its
// standard output and calls fn with each frame (a fresh slice) until fn
// returns false.
func gstFrames(ctx context.Context, path, decoder string, fn func(i int, rgb []byte) (bool, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"-q", "filesrc", "location=" + path, "!", decoder, "!", "videoconvert", "!",
		"videoscale", "method=bilinear", "!",
		fmt.Sprintf("video/x-raw,format=RGB,width=%d,height=%d", Size, Size), "!", "fdsink", "fd=1"}
	cmd := exec.CommandContext(ctx, "gst-launch-1.0", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("calib: gst-launch-1.0: %w", err)
	}
	r := bufio.NewReaderSize(out, 1<<20)
	stopped := false
	n := 0
	for {
		rgb := make([]byte, Size*Size*3)
		if _, err := io.ReadFull(r, rgb); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("calib: %s: a partial frame (%v)", path, err)
			}
			return err
		}
		more, err := fn(n, rgb)
		n++
		if err != nil {
			return err
		}
		if !more {
			stopped = true
			break
		}
	}
	if stopped {
		cancel()
		_ = cmd.Wait()
		return nil
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("calib: decoding %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	if n == 0 {
		return fmt.Errorf("calib: %s: no frame decoded", path)
	}
	return nil
}

// Float fills dst (Size×Size×3 float32, NHWC RGB 0..255: the default
// detector's input) from the frame.
func (f Frame) Float(dst []float32) {
	for i, v := range f.RGB {
		dst[i] = float32(v)
	}
}
