package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/cmd/vidflow/internal/cli"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runMain is `vidflow run`: the default detection pipeline.
func runMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(out) // -h prints to where the command writes, as serve's does
	var sources multiFlag
	fs.Var(&sources, "source", "a file, rtsp:// or http(s):// URI, or testsrc://; repeat for several streams (default: the sample video)")
	config := fs.String("config", floatConfig, "nvinfer config of the detector (YAML or INI; default: "+int8Config+" when set-up made the INT8 model, see -float)")
	float := fs.Bool("float", false, "run the float detector ("+floatConfig+") instead of the INT8 one on the CPU")
	dest := fs.String("out", "vidflow-out.mp4", "where to encode the result (.mp4, .mkv, .jpg, udp://, rtsp://); empty for nothing")
	display := fs.Bool("display", false, "show the result in a window instead of encoding it (needs a display)")
	width := fs.Int("width", 0, "batch frame width (0: the first stream's)")
	height := fs.Int("height", 0, "batch frame height")
	interval := fs.Int("interval", 0, "run the detector on one batch in interval+1")
	loop := fs.Bool("loop", false, "loop files (stop with Ctrl-C)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	overwrite := fs.Bool("overwrite", false, "replace -out if it exists (by default an existing output is an error)")
	graph := fs.String("pipeline", "", "run a Service Maker pipeline graph (YAML, deepstream: nodes/edges) instead of the default pipeline")
	var sets multiFlag
	fs.Var(&sets, "set", "with -pipeline: node.property=value (or node.type=kind) applied before the graph's elements are made; repeatable")
	verbose := fs.Bool("v", false, "with -pipeline: print what the graph's GStreamer-only nodes became")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h asked for the usage, which is printed: no error
			return nil
		}
		return err
	}
	if *graph != "" {
		return runGraph(*graph, sets, *verbose, out)
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	*config = chooseDetector(*config, explicit, *float)
	if len(sources) == 0 {
		sources = multiFlag{cli.MediaPath("vtest.mp4")}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	prog := newProgress(out, len(sources), *quiet)
	p := vidflow.NewPipeline("vidflow-run")
	p.OnMessage(func(m element.Message) {
		switch m := m.(type) {
		case *element.WarningMessage:
			fmt.Fprintf(out, "warning: %s: %s\n", m.Element, m.Text)
		case *element.InfoMessage:
			fmt.Fprintf(out, "%s: %s\n", m.Element, m.Text)
		case *element.StreamEOSMessage:
			prog.ended(m.SourceID)
		}
	})
	capture := []vidflow.Option{vidflow.Props{"file-loop": *loop}}
	if *width > 0 {
		capture = append(capture, vidflow.Width(*width), vidflow.Height(*height))
	}
	f := vidflow.NewFlow(p).BatchCapture(sources, capture...).
		Infer(*config, vidflow.Props{"interval": *interval}).
		Attach(vidflow.NewProbe("progress", prog.probe))
	switch {
	case *display:
		f.Render(vidflow.RenderDisplay)
	case *dest != "":
		f.Encode(*dest, vidflow.Props{"overwrite": *overwrite})
	default:
		f.Render(vidflow.RenderDiscard)
	}
	if err := f.Err(); err != nil {
		return err
	}
	fmt.Fprintf(out, "vidflow run: %d stream(s) → %s → %s\n", len(sources), *config, map[bool]string{true: "display", false: *dest}[*display])
	done := make(chan struct{})
	go prog.report(done)
	err := p.Run(ctx)
	close(done)
	prog.summary()
	printStats(out, p.Stats())
	if err != nil && ctx.Err() != nil {
		return nil // Ctrl-C
	}
	if err == nil && *dest != "" && !*display {
		fmt.Fprintf(out, "wrote %s\n", *dest)
	}
	return err
}

// progress counts frames and objects per stream from a probe.
type progress struct {
	mu      sync.Mutex
	out     io.Writer
	quiet   bool
	start   time.Time
	frames  []int64
	objects []int64
	classes map[string]int64
	done    []bool
}

func newProgress(out io.Writer, n int, quiet bool) *progress {
	return &progress{out: out, quiet: quiet, start: time.Now(), frames: make([]int64, n), objects: make([]int64, n),
		classes: map[string]int64{}, done: make([]bool, n)}
}

func (p *progress) probe(m *media.BatchMeta) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range m.Frames {
		if f.SourceID < len(p.frames) {
			p.frames[f.SourceID]++
			p.objects[f.SourceID] += int64(len(f.Objects))
		}
		for _, o := range f.Objects {
			p.classes[o.Label]++
		}
	}
}

func (p *progress) ended(id int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id < len(p.done) {
		p.done[id] = true
	}
}

func (p *progress) report(done <-chan struct{}) {
	cli.Every(time.Second, done, func() {
		if !p.quiet {
			p.line()
		}
	})
}

func (p *progress) line() {
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := time.Since(p.start).Seconds()
	var parts []string
	for i := range p.frames {
		per := 0.0
		if p.frames[i] > 0 {
			per = float64(p.objects[i]) / float64(p.frames[i])
		}
		parts = append(parts, fmt.Sprintf("stream %d: %d frames %.1f fps %.1f objects/frame", i, p.frames[i], float64(p.frames[i])/secs, per))
	}
	fmt.Fprintf(p.out, "[%5.1fs] %s\n", secs, strings.Join(parts, " | "))
}

func (p *progress) summary() {
	p.line()
	p.mu.Lock()
	defer p.mu.Unlock()
	type kv struct {
		k string
		v int64
	}
	var list []kv
	for k, v := range p.classes {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v })
	var parts []string
	for i, e := range list {
		if i == 8 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.v))
	}
	fmt.Fprintf(p.out, "objects: %s\n", strings.Join(parts, ", "))
}

func printStats(out io.Writer, stats []element.NodeStats) {
	fmt.Fprintf(out, "%-22s %-20s %8s %8s %9s %10s %10s %6s\n", "element", "kind", "in", "out", "fps", "p50", "p95", "drops")
	for _, s := range stats {
		fmt.Fprintf(out, "%-22s %-20s %8d %8d %9.1f %10v %10v %6d\n", s.Name, s.Kind, s.FramesIn, s.FramesOut, s.FPS,
			s.LatencyP50.Round(time.Microsecond), s.LatencyP95.Round(time.Microsecond), s.Drops)
	}
}
