// Command custom-element shows a user's own element kind, written in a
// module of its own against vidflow's public packages only: element (the
// element API) and media (buffers and metadata). It registers the kind
// "class-filter" (classfilter.go) in a registry of its own pipeline, runs
// it on two synthetic streams batched together, and prints what the
// element reported at each stream's end.
//
//	go run . -frames 60
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

func main() {
	frames := flag.Int("frames", 60, "frames of the first stream (the second has twice as many)")
	classes := flag.String("classes", "0,2", "class ids the filter keeps")
	flag.Parse()
	if err := run(context.Background(), *frames, *classes, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// newRegistry returns the built-in kinds plus class-filter. A registry of
// one's own keeps the kind out of every other pipeline of the process;
// vidflow.RegisterKind would add it to all of them instead.
func newRegistry() (*element.Registry, error) {
	kinds := vidflow.BuiltinKinds()
	if err := kinds.Register(ClassFilterKind); err != nil {
		return nil, err
	}
	return kinds, nil
}

// run batches two testsrc streams with ground-truth boxes, filters them
// with class-filter (through Flow.Add) and counts what is left.
func run(ctx context.Context, frames int, classes string, out io.Writer) error {
	kinds, err := newRegistry()
	if err != nil {
		return err
	}
	p := vidflow.NewPipeline("custom-element", vidflow.WithRegistry(kinds))
	p.OnMessage(func(m element.Message) {
		if info, ok := m.(*element.InfoMessage); ok {
			fmt.Fprintf(out, "%s: %s\n", info.Element, info.Text)
		}
	})
	objects := 0
	uri := "testsrc://?width=160&height=120&objects=3&truth=true&num-buffers=%d"
	err = vidflow.NewFlow(p).
		BatchCapture([]string{fmt.Sprintf(uri, frames), fmt.Sprintf(uri, 2*frames)}).
		Add("class-filter", vidflow.Name("filter"), vidflow.Props{"classes": classes, "label": "kept"}).
		Attach(vidflow.NewProbe("count", func(m *media.BatchMeta) {
			for _, f := range m.Frames {
				objects += len(f.Objects)
			}
		})).
		Render(vidflow.RenderDiscard).
		Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "objects after the filter: %d\n", objects)
	return nil
}
