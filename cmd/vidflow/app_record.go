package main

import (
	"fmt"
	"io"
	"strconv"
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
		name := sourceName(i)
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

// listenCommands starts a listener of recording commands per
// [message-consumer%d] (deepstream-app's cloud-to-device messaging): a
// command's sensor.id is a stream's index, or the id of a sensor-list-file
// [sensor<N>], N the index. Each command's outcome and each recording is
// printed. The returned function closes the listeners.
func listenCommands(p *vidflow.Pipeline, a *dsapp.App, out io.Writer) (stop func(), err error) {
	var ls []*vidflow.RecordListener
	stop = func() {
		for _, l := range ls {
			l.Close()
		}
	}
	for _, c := range a.Consumers {
		sensors := map[string]string{}
		for i := range a.Sources {
			if c.Sensors == nil {
				sensors[strconv.Itoa(i)] = sourceName(i)
			}
		}
		for id, i := range c.Sensors {
			if i < len(a.Sources) { // a converter config may list more cameras than the app runs
				sensors[id] = sourceName(i)
			}
		}
		group := c.Group
		l, err := p.ListenRecordCommands(vidflow.RecordCommands{Broker: c.ConnStr, ProtoLib: c.ProtoLib, Config: c.ConfigFile,
			Topics: c.Topics, Sensors: sensors,
			OnCommand: func(cmd vidflow.RecordCommand, err error) {
				switch {
				case err != nil:
					fmt.Fprintf(out, "[%s]: %v\n", group, err)
				case cmd.Start:
					fmt.Fprintf(out, "[%s]: start-recording of sensor %q: session %d\n", group, cmd.Sensor, cmd.Session)
				default:
					fmt.Fprintf(out, "[%s]: stop-recording of sensor %q\n", group, cmd.Sensor)
				}
			},
			OnRecording: func(i vidflow.RecordingInfo) {
				if i.Err != nil {
					fmt.Fprintf(out, "smart record [%s]: %v\n", group, i.Err)
					return
				}
				fmt.Fprintf(out, "smart record [%s]: %s/%s, %.1f s\n", group, i.Directory, i.FileName, i.Duration.Seconds())
			}})
		if err != nil {
			stop()
			return nil, fmt.Errorf("%s:%d: [%s]: %w", a.File, c.Line, c.Group, err)
		}
		ls = append(ls, l)
	}
	return stop, nil
}

// sourceName is BatchCapture's name of the i-th source.
func sourceName(i int) string { return fmt.Sprintf("batch_capture-src-%d", i) }
