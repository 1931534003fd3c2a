// Command deepstream-test1 is the Go twin of Service Maker's
// deepstream_test1_app (flow_api and pipeline_api): one file, decoded and
// batched, the primary detector, a probe that counts vehicles and persons
// per frame and writes the count on it, and a renderer.
//
//	go run ./examples/deepstream-test1 ~/.cache/vidflow/media/vtest.mp4
//	go run ./examples/deepstream-test1 -api pipeline ~/.cache/vidflow/media/vtest.mp4
//	go run ./examples/deepstream-test1 -api pipeline internal/dsgraph/testdata/dstest1_config_x86.yaml
//
// -render display shows a window (the original's default); the default
// here is discard, so it runs anywhere.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/examples/internal/sample"
)

func main() {
	api := flag.String("api", "flow", "flow or pipeline")
	render := flag.String("render", "discard", "discard, display, or a file (.mp4, .mkv) to encode to")
	flag.Parse()
	file := sample.Video() // no argument: the sample video
	switch flag.NArg() {
	case 0:
	case 1:
		file = flag.Arg(0)
	default:
		fmt.Fprintf(os.Stderr, "usage: %s [-api flow|pipeline] [video file] (pipeline: or a YAML graph)\n", os.Args[0])
		os.Exit(1)
	}
	run := flowApp
	if *api == "pipeline" {
		run = pipelineApp
	}
	if err := run(context.Background(), file, *render, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// flowApp is deepstream_test1.py of flow_api.
func flowApp(ctx context.Context, file, render string, out io.Writer) error {
	p := vidflow.NewPipeline("deepstream-test1")
	f := vidflow.NewFlow(p).BatchCapture([]string{file}).Infer(sample.PGIE()).
		Attach(vidflow.NewProbe("counter", sample.Counter(out)))
	return sink(f, render).Run(ctx)
}

// sink ends a flow as -render asks.
func sink(f *vidflow.Flow, render string) *vidflow.Flow {
	switch render {
	case "display":
		return f.Render(vidflow.RenderDisplay)
	case "discard":
		return f.Render(vidflow.RenderDiscard)
	}
	return f.Encode(render)
}

// pipelineApp is deepstream_test1.py of pipeline_api: the elements added
// and linked one by one, or a YAML graph loaded.
func pipelineApp(ctx context.Context, file, render string, out io.Writer) error {
	if ext := strings.ToLower(filepath.Ext(file)); ext == ".yaml" || ext == ".yml" {
		p, err := vidflow.LoadPipeline("deepstream-test1", file)
		if err != nil {
			return err
		}
		// NVIDIA's graph names NVIDIA's model and display: the default
		// detector and -render's sink instead.
		if err := p.Set("infer", vidflow.Props{"config-file-path": sample.PGIE()}); err != nil {
			return err
		}
		if err := p.SetKind("sink", sinkKind(render)); err != nil {
			return err
		}
		if strings.Contains(file, "dstest1_config") {
			if err := p.Set("filesrc", vidflow.Props{"uri": sample.Video()}); err != nil {
				return err
			}
		}
		return p.Attach("infer", vidflow.NewProbe("counter", sample.Counter(out)), "src").Run(ctx)
	}
	fps, err := vidflow.Module("measure_fps_probe", "my probe", nil, out)
	if err != nil {
		return err
	}
	p := vidflow.NewPipeline("deepstream-test1").
		Add("nvurisrcbin", "src", vidflow.Props{"uri": file}). // filesrc ! h264parse ! nvv4l2decoder
		Add("nvstreammux", "mux", vidflow.Props{"batch-size": 1, "width": 1920, "height": 1080}).
		Add("nvinfer", "infer", vidflow.Props{"config-file-path": sample.PGIE()}).
		Add("nvdsosd", "osd", nil).
		Add(sinkKind(render), "sink", sinkProps(render)).
		Link("src", "mux").Link("mux", "infer", "osd", "sink").
		Attach("infer", vidflow.NewProbe("counter", sample.Counter(out)), "src").
		Attach("infer", fps, "src")
	return p.Run(ctx)
}

func sinkKind(render string) string {
	switch render {
	case "display":
		return "nveglglessink"
	case "discard":
		return "fakesink"
	}
	return "encodesink"
}

func sinkProps(render string) vidflow.Props {
	if render == "display" || render == "discard" {
		return nil
	}
	return vidflow.Props{"output": render}
}
