// Package cli holds what vidflow's subcommands share: where the set-up
// scripts (scripts/setup.sh) put the media and models, so that `vidflow
// run` and `vidflow bench` find the same files.
package cli

import (
	"os"
	"path/filepath"
	"time"
)

// CacheDir is the set-up's cache: $VIDFLOW_CACHE, or ~/.cache/vidflow.
func CacheDir() string {
	if d := os.Getenv("VIDFLOW_CACHE"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "vidflow")
}

// MediaPath is a file of the cache's media folder, where the sample clips
// (vtest.mp4, vtest-720p.mp4, …) are.
func MediaPath(name string) string { return filepath.Join(CacheDir(), "media", name) }

// Every calls fn every d until done is closed: what samples a running
// pipeline (progress lines, queue depths, memory) ticks beside it and
// stops with it.
func Every(d time.Duration, done <-chan struct{}, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			fn()
		}
	}
}
