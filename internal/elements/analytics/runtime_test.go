package analytics

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vidflow/vidflow/element"
)

// roi-filtering-stream-<N> replaces the stream's regions: a label it had
// keeps its inverse-roi and classes, the others go; the other rules and
// streams stay; bad lines are refused and leave the rules as they were.
func TestSetROIs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.txt")
	os.WriteFile(p, []byte("[property]\nenable=1\n[roi-filtering-stream-0]\nenable=1\ninverse-roi=1\nclass-id=2\nroi-A=0;0;10;0;10;10\nroi-B=0;0;5;0;5;5\n"+
		"[line-crossing-stream-0]\nenable=1\nline-crossing-L=5;0;5;9;0;5;9;5\n"), 0o644)
	c, err := element.NewConfig(&element.KindSpec{Kind: "nvdsanalytics", Props: []element.PropSpec{{Name: "config-file", Type: element.String},
		{Name: "enable", Type: element.Bool, Default: true}, {Name: "unique-id", Type: element.Int, Default: 0},
		{Name: "config-watch-interval", Type: element.Duration, Default: 0}}}, "a", element.Props{"config-file": p})
	if err != nil {
		t.Fatal(err)
	}
	el, err := newElement(c)
	if err != nil {
		t.Fatal(err)
	}
	e := el.(*Element)
	before := e.Config()
	if err := e.SetProperty("roi-filtering-stream-0", "roi-A=1;1;20;1;20;20;1;20\nroi-C=0;0;3;0;3;3"); err != nil {
		t.Fatal(err)
	}
	r := e.Config().Streams[0]
	if len(r.ROIs) != 2 || r.ROIs[0].Label != "A" || !r.ROIs[0].Inverse || !r.ROIs[0].Classes.Has(2) || r.ROIs[0].Classes.Has(1) ||
		r.ROIs[1].Label != "C" || r.ROIs[1].Inverse || !r.ROIs[1].Classes.Has(1) || len(r.Lines) != 1 {
		t.Errorf("rules after the update: %+v", r)
	}
	if len(before.Streams[0].ROIs) != 2 || before.Streams[0].ROIs[1].Label != "B" {
		t.Errorf("the config in use before changed: %+v", before.Streams[0])
	}
	if v, _ := e.Property("roi-filtering-stream-0"); v != "roi-A=1;1;20;1;20;20;1;20\nroi-C=0;0;3;0;3;3" {
		t.Errorf("read back %q", v)
	}
	for name, v := range map[string]any{
		"roi-filtering-stream-0": "roi-A=1;1;2;2", // two points
		"roi-filtering-stream-x": "roi-A=0;0;1;0;1;1",
		"line-crossing-stream-0": "roi-A=0;0;1;0;1;1",
	} {
		if err := e.SetProperty(name, v); err == nil {
			t.Errorf("%s %v: no error", name, v)
		}
	}
	if err := e.SetProperty("roi-filtering-stream-0", 5); err == nil {
		t.Error("a number taken")
	}
	if len(e.Config().Streams[0].ROIs) != 2 {
		t.Errorf("refused updates changed the rules: %+v", e.Config().Streams[0])
	}
}
