package vidflow_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/media"
)

// badProvider returns buffers that do not match its StreamInfo.
type badProvider struct{ size int }

func (p *badProvider) Info() media.StreamInfo {
	return media.StreamInfo{Format: media.RGB, Width: 64, Height: 48}
}

func (p *badProvider) Generate(context.Context) (*media.Buffer, error) {
	return media.NewBuffer(make([]byte, p.size)), nil
}

type nilBufferProvider struct{ stampProvider }

func (p *nilBufferProvider) Generate(context.Context) (*media.Buffer, error) { return nil, nil }

type panicProvider struct{ stampProvider }

func (p *panicProvider) Generate(context.Context) (*media.Buffer, error) { panic("camera on fire") }

func TestBadInputErrors(t *testing.T) {
	discard := func(p *vidflow.Pipeline) *vidflow.Flow { return vidflow.NewFlow(p) }
	cases := []struct {
		name  string
		build func(p *vidflow.Pipeline) error
		want  []string
	}{
		{"nil provider", func(p *vidflow.Pipeline) error {
			return discard(p).Inject([]media.BufferProvider{stamps(1, 1)[0], nil}).Batch().Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{"Inject: provider 1 is nil"}},
		{"no providers", func(p *vidflow.Pipeline) error {
			return discard(p).Inject(nil).Run(context.Background())
		}, []string{"Inject: no providers"}},
		{"buffer size mismatch", func(p *vidflow.Pipeline) error {
			return discard(p).Inject([]media.BufferProvider{&badProvider{size: 100}}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{`element "inject-src-0" (appsrc)`, "*vidflow_test.badProvider", "buffer of 100 bytes does not match StreamInfo RGB 64x48 (9216 bytes)"}},
		{"nil buffer", func(p *vidflow.Pipeline) error {
			return discard(p).Inject([]media.BufferProvider{&nilBufferProvider{stampProvider{w: 8, h: 8}}}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{"nil Buffer and no error"}},
		{"provider panic", func(p *vidflow.Pipeline) error {
			return discard(p).Inject([]media.BufferProvider{&panicProvider{stampProvider{w: 8, h: 8}}}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{"Generate panicked: camera on fire"}},
		{"unknown property", func(p *vidflow.Pipeline) error {
			return discard(p).Inject(stamps(2, 1)).Batch(vidflow.Props{"widht": 640}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{`element "batch-mux-0" (nvstreammux)`, `unknown property "widht"`}},
		{"bad property value", func(p *vidflow.Pipeline) error {
			return discard(p).Inject(stamps(2, 1)).Batch(vidflow.Props{"batch_size": "four"}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{`property "batch-size": want integer, got string four`}},
		{"unknown kind", func(p *vidflow.Pipeline) error {
			return p.Add("nvinferx", "pgie", nil).Run(context.Background())
		}, []string{`unknown element kind "nvinferx"`}},
		{"link to unknown element", func(p *vidflow.Pipeline) error {
			return p.Add("testsrc", "src", nil).Add("fakesink", "sink", nil).Link("src", "snk").Run(context.Background())
		}, []string{`link "src" → "snk": no element named "snk"`}},
		{"unbatched streams to one-stream step", func(p *vidflow.Pipeline) error {
			return discard(p).Inject(stamps(3, 1)).Retrieve(newCollector()).Run(context.Background())
		}, []string{"Retrieve: the flow has 3 unbatched streams (inject-src-0, inject-src-1, inject-src-2): multiple streams must be batched first"}},
		{"several streams linked to a sink", func(p *vidflow.Pipeline) error {
			return p.Add("testsrc", "a", nil).Add("testsrc", "b", nil).Add("fakesink", "s", nil).Link("a", "s").Link("b", "s").Run(context.Background())
		}, []string{`element "s" (fakesink)`, "multiple streams must be batched first"}},
		{"dangling output", func(p *vidflow.Pipeline) error {
			return discard(p).Capture([]string{"testsrc://"}).Run(context.Background())
		}, []string{`element "capture-src-0" (testsrc)`, "its output goes nowhere"}},
		{"bad probe op", func(p *vidflow.Pipeline) error {
			return discard(p).Capture([]string{"testsrc://"}).Attach(vidflow.NewProbe("x", 42)).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{`probe "x": int is not a BatchMetadataOperator`}},
		{"retriever without retriever", func(p *vidflow.Pipeline) error {
			return p.Add("testsrc", "a", nil).Add("appsink", "s", nil).Link("a", "s").Run(context.Background())
		}, []string{`element "s" (appsink): no BufferRetriever attached`}},
		{"step after the end", func(p *vidflow.Pipeline) error {
			return discard(p).Capture([]string{"testsrc://"}).Render(vidflow.RenderDiscard).Batch().Run(context.Background())
		}, []string{"Batch: the flow ended with Render"}},
		{"batch twice", func(p *vidflow.Pipeline) error {
			return discard(p).Inject(stamps(2, 1)).Batch().Batch().Run(context.Background())
		}, []string{"Batch: the flow is already batched"}},
		{"missing file", func(p *vidflow.Pipeline) error {
			return discard(p).Capture([]string{"/no/such/clip.mp4"}).Run(context.Background())
		}, []string{`file "/no/such/clip.mp4" doesn't exist`}},
		{"empty pipeline", func(p *vidflow.Pipeline) error { return p.Run(context.Background()) },
			[]string{`pipeline "bad" has no elements`}},
		{"attach provider to a sink", func(p *vidflow.Pipeline) error {
			return p.Add("fakesink", "s", nil).Attach("s", stamps(1, 1)[0], "").Run(context.Background())
		}, []string{`attach *vidflow_test.stampProvider to "s": element kind fakesink takes no attachments`}},
		{"testsrc bad size", func(p *vidflow.Pipeline) error {
			return discard(p).Capture([]string{"testsrc://?width=2"}).Render(vidflow.RenderDiscard).Run(context.Background())
		}, []string{`element "capture-src-0" (testsrc): size 2x240 out of range`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := runtime.NumGoroutine()
			err := tc.build(vidflow.NewPipeline("bad"))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			checkClean(t, g)
		})
	}
}

func TestStartTwiceAndWaitUnstarted(t *testing.T) {
	p := vidflow.NewPipeline("twice")
	if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Wait before Start: %v", err)
	}
	vidflow.NewFlow(p).Capture([]string{"testsrc://?num-buffers=3"}).Render(vidflow.RenderDiscard)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Start: %v", err)
	}
	p.Add("fakesink", "late", nil)
	if err := p.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("Add after Start: %v", err)
	}
}
