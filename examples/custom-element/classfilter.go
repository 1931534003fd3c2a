package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// ClassFilterKind describes the "class-filter" element: it keeps the
// objects of some classes, drops the others, writes each frame's count on
// the frame, and at each stream's end tells the application what it did.
// Everything it uses is exported by vidflow's element and media packages.
var ClassFilterKind = element.KindSpec{
	Kind: "class-filter",
	Doc:  "Keeps the objects of the listed classes and drops the others; reports per-stream totals at end-of-stream.",
	Role: element.RoleTransform,
	Props: []element.PropSpec{
		{Name: "classes", Type: element.String, Default: "", Doc: "class ids to keep, comma-separated; empty keeps all"},
		{Name: "label", Type: element.String, Default: "", Doc: "label given to the objects kept (empty: unchanged)"},
	},
	New: newClassFilter,
}

// classFilter is the element. Its state is touched by its own goroutine
// only (Run), so it needs no lock.
type classFilter struct {
	keep   map[int]bool // nil keeps every class
	label  string
	totals map[int]*streamTotals
}

type streamTotals struct{ frames, kept, dropped int }

func newClassFilter(c *element.Config) (element.Element, error) {
	f := &classFilter{label: c.String("label"), totals: map[int]*streamTotals{}}
	if s := strings.TrimSpace(c.String("classes")); s != "" {
		f.keep = map[int]bool{}
		for _, part := range strings.Split(s, ",") {
			id, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				// Config.Errorf names the element and kind in the message.
				return nil, c.Errorf("property \"classes\": %q is not a class id", part)
			}
			f.keep[id] = true
		}
	}
	return f, nil
}

// Run receives items until end-of-stream: buffers are filtered and passed
// on, a stream's end is reported and passed on, the final EOS ends Run.
func (f *classFilter) Run(ctx context.Context, p element.Ports) error {
	for {
		it, err := p.Recv()
		if err != nil {
			return err
		}
		switch {
		case it.Buf != nil:
			start := time.Now()
			f.filter(it.Buf.Meta())
			p.Observe(time.Since(start))
		case it.Event == element.EventStreamEOS:
			p.Info("%s", f.report(it.Source))
		case it.Event == element.EventEOS:
			for _, id := range f.streams() {
				p.Info("%s", f.report(id))
			}
		}
		// Emit owns the buffer from here on, also when it fails.
		if err := p.Emit(it); err != nil {
			return err
		}
		if it.Event == element.EventEOS {
			return nil
		}
	}
}

// filter changes the batch's metadata in place: the objects of other
// classes are removed and a text with the count is added to each frame.
func (f *classFilter) filter(m *media.BatchMeta) {
	for _, fm := range m.Frames {
		t := f.totalsOf(fm.SourceID)
		t.frames++
		kept := fm.Objects[:0]
		for _, o := range fm.Objects {
			if f.keep != nil && !f.keep[o.ClassID] {
				t.dropped++
				continue
			}
			if f.label != "" {
				o.Label = f.label
			}
			kept = append(kept, o)
		}
		t.kept += len(kept)
		fm.Objects = kept
		fm.Display = append(fm.Display, &media.DisplayMeta{Texts: []media.DisplayText{{
			Text: fmt.Sprintf("kept %d", len(kept)), X: 8, Y: 8,
			Font: media.Font{Name: "Sans", Size: 12, Color: media.Color{R: 1, G: 1, B: 1, A: 1}},
		}}})
	}
}

func (f *classFilter) totalsOf(source int) *streamTotals {
	t := f.totals[source]
	if t == nil {
		t = &streamTotals{}
		f.totals[source] = t
	}
	return t
}

// report says what the element did to one stream and forgets it, so a
// stream reported at its own end is not reported again at the final EOS.
func (f *classFilter) report(source int) string {
	t := f.totalsOf(source)
	delete(f.totals, source)
	return fmt.Sprintf("stream %d: %d frames, %d objects kept, %d dropped", source, t.frames, t.kept, t.dropped)
}

func (f *classFilter) streams() []int {
	ids := make([]int, 0, len(f.totals))
	for id := range f.totals {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}
