package gst

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// KeyFrames reads a compressed video file (MP4, MKV; H.264, H.265)
// without decoding it and returns the indexes, in decoding order, of its
// key frames, and its number of frames: what an encoder was asked for
// (force-key-unit, a key-frame interval) can be checked on its output.
func KeyFrames(path string) (keys []int, frames int, err error) {
	pl, err := Launch(fmt.Sprintf("filesrc location=%q ! parsebin ! appsink name=vfkeys sync=false", path))
	if err != nil {
		return nil, 0, err
	}
	defer pl.Close()
	sink, err := pl.AppSink("vfkeys")
	if err != nil {
		return nil, 0, err
	}
	if err := pl.Play(); err != nil {
		return nil, 0, err
	}
	for {
		s, err := sink.Pull(10 * time.Second)
		if errors.Is(err, io.EOF) {
			return keys, frames, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("gst: reading %s: %w", path, err)
		}
		if s.KeyFrame() {
			keys = append(keys, frames)
		}
		frames++
		s.Release()
	}
}
