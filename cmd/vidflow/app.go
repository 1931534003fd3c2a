package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/dsapp"
	"github.com/vidflow/vidflow/media"
)

// appMain is `vidflow app -c deepstream_app_config.txt`: deepstream-app's
// configuration files, run as deepstream-app runs them, with its
// **PERF lines.
func appMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(out)
	file := fs.String("c", "", "deepstream-app configuration file (INI, or .yml with its sources in a CSV file)")
	var sets multiFlag
	fs.Var(&sets, "set", "group.key=value replacing or adding a key of the file (primary-gie.config-file=configs/config_infer_primary.yml); repeatable")
	verbose := fs.Bool("v", false, "print the keys accepted with no effect")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *file == "" {
		fs.Usage()
		return errors.New("app: -c config file is required")
	}
	a, err := dsapp.Load(*file, sets...)
	if err != nil {
		return err
	}
	if *verbose {
		for _, n := range a.Notes {
			fmt.Fprintln(out, "note:", n)
		}
	}
	p := vidflow.NewPipeline("deepstream-app")
	perf := newPerf(out, len(a.Sources))
	if err := buildApp(p, a, perf); err != nil {
		return err
	}
	p.OnMessage(func(m element.Message) {
		switch m := m.(type) {
		case *element.WarningMessage:
			fmt.Fprintf(out, "warning: %s: %s\n", m.Element, m.Text)
		case *element.ErrorMessage:
			fmt.Fprintf(out, "ERROR from %s: %v\n", m.Element, m.Err)
		}
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	done := make(chan struct{})
	if a.Perf {
		go cli.Every(a.PerfInterval, done, perf.print)
	}
	// The listeners take commands sent from now on: they start before the
	// streams do, so that none sent as they start is missed.
	closeListeners, err := listenCommands(p, a, out)
	if err != nil {
		return err
	}
	err = p.Start(ctx)
	wait := recordEvents(p, a, out, done)
	if err == nil {
		err = p.Wait()
	}
	closeListeners()
	close(done)
	wait()
	if a.Perf {
		perf.print()
	}
	if err != nil && ctx.Err() != nil {
		return nil
	}
	if err == nil {
		fmt.Fprintln(out, "App run successful")
	}
	return err
}

// buildApp builds deepstream-app's pipeline: sources → streammux →
// primary-gie → tracker → secondary-gies → nvds-analytics → tiler → OSD →
// sinks (a tee before several).
func buildApp(p *vidflow.Pipeline, a *dsapp.App, perf *perf) error {
	// Each [source%d] group's keys go to its own streams only (smart
	// recording on one camera leaves the others alone); [tests] file-loop
	// to every file.
	var streams []vidflow.StreamSpec
	for _, s := range a.Sources {
		if s.Gst != "" {
			return fmt.Errorf("%s:%d: [%s] type=1 (V4L2 camera): `vidflow app` does not run cameras yet; "+
				"use the Pipeline API's gstsrc element with %q", a.File, s.Line, s.Group, s.Gst)
		}
		streams = append(streams, vidflow.StreamSpec{URI: s.URI, Props: vidflow.Props(s.Props)})
	}
	mux := vidflow.Props{}
	for k, v := range a.Mux {
		mux[k] = v
	}
	f := vidflow.NewFlow(p).BatchCaptureStreams(streams, mux, vidflow.Props{"file-loop": a.FileLoop})
	if a.PGIE != nil {
		f = f.Infer(a.PGIE.Config, vidflow.Props(a.PGIE.Props), vidflow.Name("primary_gie"))
	}
	if a.Tracker != nil {
		f = f.Track(vidflow.Props(a.Tracker), vidflow.Name("tracking_tracker"))
	}
	for i, g := range a.SGIEs {
		f = f.Infer(g.Config, vidflow.Props(g.Props), vidflow.Name(fmt.Sprintf("secondary_gie_%d", i)))
	}
	if a.Analytics != "" {
		f = f.Analyze(a.Analytics, vidflow.Name("nvdsanalytics"))
	}
	f = f.Attach(vidflow.NewProbe("perf", perf.probe))
	if t := a.Tiled; t != nil {
		f = f.Tile(vidflow.Props{"rows": t.Rows, "columns": t.Columns, "width": t.Width, "height": t.Height}, vidflow.Name("tiled_display_tiler"))
	}
	if a.OSD != nil {
		f = f.OSD(vidflow.Props(a.OSD), vidflow.Name("nvosd"))
	}
	if len(a.Sinks) > 1 {
		f = f.Fork()
	}
	for _, s := range a.Sinks {
		props := vidflow.Props{"enable-osd": false}
		for k, v := range s.Props {
			props[k] = v
		}
		name := vidflow.Name(s.Group)
		switch s.Type {
		case 1:
			delete(props, "enable-osd")
			f.Render(vidflow.RenderDiscard, props, name)
		case 2:
			f.Render(vidflow.RenderDisplay, props, name)
		case 3, 4:
			delete(props, "sync")
			f.Encode(s.Dest, props, name)
		case 6:
			delete(props, "enable-osd")
			f.Publish(props, name)
		}
	}
	return f.Err()
}

// perf counts frames per stream and prints deepstream-app's lines:
//
//	**PERF:  FPS 0 (Avg)	FPS 1 (Avg)
//	**PERF:  30.02 (29.87)	29.99 (29.91)
type perf struct {
	mu       sync.Mutex
	out      io.Writer
	start    time.Time
	last     time.Time
	frames   []int64
	interval []int64
	printed  int
}

func newPerf(out io.Writer, n int) *perf {
	return &perf{out: out, frames: make([]int64, n), interval: make([]int64, n)}
}

func (p *perf) probe(b *media.BatchMeta) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start.IsZero() {
		p.start, p.last = time.Now(), time.Now()
	}
	for _, f := range b.Frames {
		if f.SourceID >= 0 && f.SourceID < len(p.frames) {
			p.frames[f.SourceID]++
			p.interval[f.SourceID]++
		}
	}
}

func (p *perf) print() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start.IsZero() {
		return // no frame yet
	}
	now := time.Now()
	var head, line strings.Builder
	for i := range p.frames {
		fmt.Fprintf(&head, "FPS %d (Avg)\t", i)
		cur := float64(p.interval[i]) / max(now.Sub(p.last).Seconds(), 1e-3)
		avg := float64(p.frames[i]) / max(now.Sub(p.start).Seconds(), 1e-3)
		fmt.Fprintf(&line, "%.2f (%.2f)\t", cur, avg)
		p.interval[i] = 0
	}
	if p.printed%20 == 0 { // deepstream-app repeats the header every 20 lines
		fmt.Fprintf(p.out, "\n**PERF:  %s\n", head.String())
	}
	fmt.Fprintf(p.out, "**PERF:  %s\n", line.String())
	p.printed++
	p.last = now
}
