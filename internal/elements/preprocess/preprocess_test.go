package preprocess

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidflow/vidflow/media"
)

// deepstream-preprocess-test's config loads: its group takes sources 0-3,
// three regions each; the tensor keys are accepted with no effect.
func TestSampleConfig(t *testing.T) {
	c, err := LoadConfig("../../deepstream/samples/testdata/deepstream_python_apps/apps/deepstream-preprocess-test/config_preprocess.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enable || len(c.TargetIDs) != 1 || c.TargetIDs[0] != 1 || len(c.Groups) != 1 || len(c.Unknown) != 0 {
		t.Fatalf("config %+v", c)
	}
	rois, ok := c.rois(2, 1920, 1080)
	want := []media.Rect{{Left: 0, Top: 540, Width: 900, Height: 500}, {Left: 960, Top: 0, Width: 900, Height: 500}, {Left: 0, Top: 0, Width: 540, Height: 900}}
	if !ok || len(rois) != 3 || rois[0] != want[0] || rois[1] != want[1] || rois[2] != want[2] {
		t.Errorf("source 2: %v %v, want %v", rois, ok, want)
	}
	if _, ok := c.rois(7, 1920, 1080); ok {
		t.Error("source 7 is in no group")
	}
	if !strings.Contains(strings.Join(c.Ignored, " "), "tensor-name") {
		t.Errorf("ignored %v", c.Ignored)
	}
	dir := t.TempDir()
	for text, want := range map[string]string{
		"[property]\n[group-0]\nroi-params-src-0=1;2;3\n":   "left;top;width;height",
		"[group-0]\nsrc-ids=0\n":                            "no [property] group",
		"[property]\n[group-0]\nroi-params-src-0=0;0;0;5\n": "no area",
	} {
		p := filepath.Join(dir, "c.txt")
		os.WriteFile(p, []byte(text), 0o644)
		if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
	// A group without process-on-roi gives the whole frame.
	p := filepath.Join(dir, "w.txt")
	os.WriteFile(p, []byte("[property]\ntarget-unique-ids=3\n[group-0]\nsrc-ids=-1\nprocess-on-roi=0\n"), 0o644)
	c, err = LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if rois, ok := c.rois(5, 64, 48); !ok || len(rois) != 1 || rois[0] != (media.Rect{Width: 64, Height: 48}) {
		t.Errorf("whole frame: %v %v", rois, ok)
	}
}

// Object mode (process-on-frame 0, the TAO custom preprocessing app's
// sgie config): the objects of operate-on-gie-id, of the group's classes
// and sizes; with process-on-roi and without process-on-all-objects, only
// those whose centre is in one of the source's regions.
func TestObjectMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "o.txt")
	os.WriteFile(p, []byte("[property]\nprocess-on-frame=0\noperate-on-gie-id=1\ntarget-unique-ids=3\n"+
		"[group-0]\nsrc-ids=0\noperate-on-class-ids=0\ninput-object-min-width=20\nprocess-on-roi=1\nprocess-on-all-objects=0\nroi-params-src-0=0;0;100;100\n"), 0o644)
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	obj := func(gie, class int, x, w float32) *media.ObjectMeta {
		o := media.NewObject(class, "", 1, media.Rect{Left: x, Top: 10, Width: w, Height: 30})
		o.ComponentID = gie
		return o
	}
	in := obj(1, 0, 10, 30)
	fm := &media.FrameMeta{SourceID: 0, Objects: []*media.ObjectMeta{in, obj(2, 0, 10, 30), obj(1, 1, 10, 30), obj(1, 0, 10, 10), obj(1, 0, 200, 30)}}
	got, ok := c.objects(fm)
	if !c.OnObjects || !ok || len(got) != 1 || got[0] != in {
		t.Errorf("objects %v %v, want only the first", got, ok)
	}
}
