package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/dsapp"
)

// recordEvents is deepstream-app's smart_record_event_generator for each
// source with smart-record=2: every smart-rec-interval a recording starts
// (smart-rec-start-time before now, for smart-rec-duration) or, when one
// runs, stops. The goroutines end when done is closed; the returned
// function waits for them.
func recordEvents(p *vidflow.Pipeline, a *dsapp.App, out io.Writer, done <-chan struct{}) (wait func()) {
	var wg sync.WaitGroup
	for i, s := range a.Sources {
		ev := s.SmartRecord
		if ev == nil {
			continue
		}
		name := fmt.Sprintf("batch_capture-src-%d", i) // BatchCapture's names, in source order
		wg.Add(1)
		go func() {
			defer wg.Done()
			toggleRecordings(p, name, s.Group, ev, out, done)
		}()
	}
	return wg.Wait
}

func toggleRecordings(p *vidflow.Pipeline, name, group string, ev *dsapp.SmartRecordEvents, out io.Writer, done <-chan struct{}) {
	t := time.NewTicker(ev.Interval)
	defer t.Stop()
	var mu sync.Mutex
	recording := false
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		mu.Lock()
		on := recording
		mu.Unlock()
		if on {
			if err := p.StopRecording(name); err != nil {
				fmt.Fprintf(out, "smart record [%s]: %v\n", group, err)
			}
			continue
		}
		_, err := p.StartRecording(name, ev.StartTime, ev.Duration, func(i vidflow.RecordingInfo) {
			mu.Lock()
			recording = false
			mu.Unlock()
			if i.Err != nil {
				fmt.Fprintf(out, "smart record [%s]: %v\n", group, i.Err)
				return
			}
			fmt.Fprintf(out, "smart record [%s]: %s/%s, %.1f s\n", group, i.Directory, i.FileName, i.Duration.Seconds())
		})
		if err != nil {
			fmt.Fprintf(out, "smart record [%s]: %v\n", group, err)
			continue
		}
		mu.Lock()
		recording = true
		mu.Unlock()
	}
}
