package preprocess

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// roi-params-src-<N> replaces source N's regions in the groups that take
// it; the loaded config is left as it was; what has no group, no area or
// no meaning is refused.
func TestSetROIs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.txt")
	os.WriteFile(p, []byte("[property]\n[group-0]\nsrc-ids=0;1\nprocess-on-roi=1\nroi-params-src-0=0;0;10;10\n[group-1]\nsrc-ids=2\nprocess-on-roi=0\n"), 0o644)
	cfg, err := element.NewConfig(&element.KindSpec{Kind: "nvdspreprocess", Props: []element.PropSpec{{Name: "config-file", Type: element.String}}}, "pre", element.Props{"config-file": p})
	if err != nil {
		t.Fatal(err)
	}
	el, err := newElement(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := el.(*preprocessElement)
	if err := e.SetProperty("roi_params_src_1", "5;6;7;8;1;1;2;2"); err != nil {
		t.Fatal(err)
	}
	if rois, _ := e.cur.Load().rois(1, 64, 48); len(rois) != 2 || rois[0] != (media.Rect{Left: 5, Top: 6, Width: 7, Height: 8}) {
		t.Errorf("source 1's regions %v", rois)
	}
	if v, _ := e.Property("roi-params-src-1"); v != "5;6;7;8;1;1;2;2" {
		t.Errorf("read back %v", v)
	}
	if rois, _ := e.cfg.rois(1, 64, 48); len(rois) != 0 {
		t.Errorf("the loaded config changed: %v", rois)
	}
	for name, v := range map[string]any{
		"roi-params-src-2": "0;0;4;4",  // its group works on whole frames
		"roi-params-src-7": "0;0;4;4",  // no group
		"roi-params-src-0": "0;0;4",    // not four numbers
		"roi-params-src-x": "0;0;4;4",  // not a source
		"interval":         1,          // not a region
		"roi-params-src-1": "0;0;0;4",  // no area
		"roi-params-src-3": []string{}, // not regions
	} {
		if err := e.SetProperty(name, v); err == nil {
			t.Errorf("%s %v: no error", name, v)
		} else if name == "roi-params-src-7" && !strings.Contains(err.Error(), "takes source 7") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
