package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

func testRegistry(t *testing.T) *element.Registry {
	r := element.NewRegistry()
	pass := func(*element.Config) (element.Element, error) { return &element.Map{}, nil }
	r.MustRegister(element.KindSpec{Kind: "src", Role: element.RoleSource, New: func(*element.Config) (element.Element, error) {
		return element.ElementFunc(func(ctx context.Context, p element.Ports) error {
			for i := 0; i < 3; i++ {
				f := media.NewFrame(media.PackedSurface(media.GRAY8, 2, 2, make([]byte, 4)), nil)
				if err := p.EmitBuffer(media.NewBatch([]*media.Frame{f}, nil)); err != nil {
					return err
				}
			}
			return nil
		}), nil
	}})
	r.MustRegister(element.KindSpec{Kind: "pass", Role: element.RoleTransform, New: pass, Props: []element.PropSpec{
		{Name: "n", Type: element.Int, Default: 1}, {Name: "f", Type: element.Float}, {Name: "b", Type: element.Bool},
		{Name: "s", Type: element.String}, {Name: "d", Type: element.Duration, Unit: time.Millisecond},
	}})
	r.MustRegister(element.KindSpec{Kind: "sink", Role: element.RoleSink, New: func(*element.Config) (element.Element, error) {
		return &element.Sink{Fn: func(context.Context, *media.Buffer) error { return nil }}, nil
	}})
	return r
}

func TestPropertyConversion(t *testing.T) {
	spec, _ := testRegistry(t).Lookup("pass")
	c, err := element.NewConfig(spec, "p", element.Props{"n": "42", "f": 2, "b": "true", "s": 7, "d": 250})
	if err != nil {
		t.Fatal(err)
	}
	if c.Int("n") != 42 || c.Float("f") != 2 || !c.Bool("b") || c.String("s") != "7" || c.Duration("d") != 250*time.Millisecond {
		t.Errorf("converted %v", c)
	}
	for _, bad := range []element.Props{{"n": 1.5}, {"b": 3}, {"f": "x"}, {"d": true}} {
		if _, err := element.NewConfig(spec, "p", bad); err == nil || !strings.Contains(err.Error(), `element "p" (pass): property`) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestValidateFindsCycles(t *testing.T) {
	g := NewGraph("g", testRegistry(t))
	for _, n := range []string{"a", "b"} {
		if _, err := g.Add("pass", n, nil); err != nil {
			t.Fatal(err)
		}
	}
	g.Add("src", "s", nil)
	g.Link("s", "a")
	g.Link("a", "b")
	if err := g.Link("b", "a"); err != nil {
		t.Fatal(err)
	}
	// a has two inputs now: that is reported first; a cycle alone too.
	if err := g.Validate(); err == nil {
		t.Error("no error for a graph with a cycle")
	}
}

func TestRunEndsAndCounts(t *testing.T) {
	g := NewGraph("g", testRegistry(t))
	g.Add("src", "s", nil)
	g.Add("pass", "p", nil)
	g.Add("sink", "k", nil)
	g.Link("s", "p")
	g.Link("p", "k")
	var msgs []element.Message
	r, err := Start(context.Background(), g, func(m element.Message) { msgs = append(msgs, m) })
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st[1].FramesIn != 3 || st[1].FramesOut != 3 || st[2].BuffersIn != 3 {
		t.Errorf("stats %+v", st)
	}
	if _, ok := msgs[len(msgs)-2].(*element.EOSMessage); !ok {
		t.Errorf("second to last message %T, want EOS", msgs[len(msgs)-2])
	}
	if media.LiveBuffers() != 0 || media.LiveFrames() != 0 {
		t.Error("leak")
	}
}
