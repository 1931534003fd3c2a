package analytics

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/media"
)

func parse(t *testing.T, name, text string) (*Config, error) {
	t.Helper()
	return ParseConfig(name, []byte(text))
}

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := parse(t, "test.txt", text)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigSample(t *testing.T) {
	c, err := LoadConfig("../../../configs/config_nvdsanalytics.txt")
	if err != nil {
		t.Fatal(err)
	}
	if c.Width != 1920 || c.Height != 1080 || c.OSDMode != 2 {
		t.Errorf("property: %+v", c)
	}
	r := c.Streams[0]
	if r == nil || len(r.ROIs) == 0 || len(r.Lines) == 0 {
		t.Fatalf("stream 0 rules: %+v", r)
	}
	if c.Rules() < 4 {
		t.Errorf("%d rules", c.Rules())
	}
}

func TestConfigErrors(t *testing.T) {
	base := "[property]\nenable=1\nconfig-width=640\nconfig-height=480\n"
	cases := []struct{ text, want string }{
		{base + "[roi-filtering-stream-0]\nenable=1\nroi-A=1;1;5;5\n", "test.txt:7: [roi-filtering-stream-0] roi-A: a polygon needs at least 3 points"},
		{base + "[roi-filtering-stream-0]\nenable=1\nroi-A=1;1;5;5;7\n", "roi-A: odd count of numbers"},
		{base + "[roi-filtering-stream-0]\nroi-A=1;1;5;5;7;x\n", "roi-A: want a list of numbers"},
		{base + "[roi-filtering-stream-0]\nroi-A=1;1;5;5;7;9\nbogus=1\n", "test.txt:7: [roi-filtering-stream-0] bogus: unknown key"},
		{base + "[line-crossing-stream-0]\nline-crossing-X=1;2;3;4;5;6\n", "line-crossing-X: want 8 numbers"},
		{base + "[line-crossing-stream-0]\nline-crossing-X=0;0;10;0;0;5;10;5\n", "parallel to the crossing line"},
		{base + "[line-crossing-stream-0]\nline-crossing-X=0;0;0;10;0;5;10;5\nmode=fast\n", "mode: want loose, balanced or strict"},
		{base + "[line-crossing-stream-0]\nline-crossing-X=0;0;0;10;0;5;10;5\ninverse-roi=1\n", "inverse-roi: unknown key"},
		{base + "[direction-detection-stream-0]\ndirection-N=1;2;3\n", "odd count"},
		{base + "[direction-detection-stream-0]\ndirection-N=1;2;3;4;5;6\n", "want 4 numbers"},
		{base + "[overcrowding-stream-0]\nroi-OC=0;0;5;0;5;5\n", "object-threshold is missing"},
		{base + "[overcrowding-stream-x]\nroi-OC=0;0;5;0;5;5\n", "stream number"},
		{base + "[zones]\nenable=1\n", "[zones] unknown group"},
		{base + "[roi-filtering-stream-0]\nenable=1\n", "no roi-<label> key"},
		{base + "[roi-filtering-stream-0]\nroi-A=0;0;5;0;5;5\nclass-id=-1;2\n", "cannot be listed"},
		{"[property]\nosd-mode=5\n", "osd-mode: 5 is not a valid value"},
		{"[property]\nconfig-width=640\n", "go together"},
		{"[roi-filtering-stream-0]\nroi-A=0;0;5;0;5;5\n", "no [property] group"},
	}
	for _, c := range cases {
		_, err := parse(t, "test.txt", c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config\n%s\nerror %v, want it to contain %q", c.text, err, c.want)
		}
	}
	// YAML errors name the file and the key too.
	_, err := parse(t, "rules.yml", "property:\n  enable: 1\nline-crossing-stream-0:\n  line-crossing-X: [1, 2, 3]\n")
	if err == nil || !strings.Contains(err.Error(), "rules.yml:4: [line-crossing-stream-0] line-crossing-X") {
		t.Errorf("yaml error: %v", err)
	}
	// A disabled group is not checked for shapes.
	if _, err := parse(t, "test.txt", base+"[roi-filtering-stream-0]\nenable=0\n"); err != nil {
		t.Error(err)
	}
}

func TestConfigYAMLMatchesINI(t *testing.T) {
	ini := mustParse(t, "[property]\nenable=1\nconfig-width=640\nconfig-height=480\nosd-mode=1\n"+
		"[roi-filtering-stream-1]\nroi-A=0;0;100;0;100;100\ninverse-roi=1\nclass-id=0;2\n"+
		"[line-crossing-stream-0]\nline-crossing-L=0;0;0;10;0;5;10;5\nextended=1\nmode=strict\n")
	y, err := parse(t, "r.yaml", "property:\n  enable: 1\n  config-width: 640\n  config-height: 480\n  osd-mode: 1\n"+
		"roi-filtering-stream-1:\n  roi-A: [0, 0, 100, 0, 100, 100]\n  inverse-roi: 1\n  class-id: [0, 2]\n"+
		"line-crossing-stream-0:\n  line-crossing-L: 0;0;0;10;0;5;10;5\n  extended: true\n  mode: strict\n")
	if err != nil {
		t.Fatal(err)
	}
	a, b := fmt.Sprintf("%+v %+v", *ini.Streams[0], *ini.Streams[1]), fmt.Sprintf("%+v %+v", *y.Streams[0], *y.Streams[1])
	if a != b || ini.OSDMode != y.OSDMode || ini.Width != y.Width {
		t.Errorf("INI and YAML differ:\n%s\n%s", a, b)
	}
	if !y.Streams[1].ROIs[0].Inverse || y.Streams[0].Lines[0].Mode != Strict || !y.Streams[0].Lines[0].Extended {
		t.Errorf("yaml rules: %+v", y.Streams)
	}
}

func TestPolygon(t *testing.T) {
	// A concave "U": the notch is outside.
	p := newPolygon([]Point{{0, 0}, {30, 0}, {30, 30}, {20, 30}, {20, 10}, {10, 10}, {10, 30}, {0, 30}})
	in := []Point{{5, 5}, {25, 25}, {5, 29}, {0, 0}, {15, 10}, {30, 15}}
	out := []Point{{15, 20}, {-1, 5}, {31, 5}, {15, 31}, {15, 10.5}}
	for _, q := range in {
		if !p.contains(q) {
			t.Errorf("%v should be inside", q)
		}
	}
	for _, q := range out {
		if p.contains(q) {
			t.Errorf("%v should be outside", q)
		}
	}
}

func frame(source int, n int64, w, h int, objs ...*media.ObjectMeta) *media.FrameMeta {
	return &media.FrameMeta{SourceID: source, FrameNumber: n, PTS: time.Duration(n) * 40 * time.Millisecond, Width: w, Height: h, Objects: objs}
}

// obj is an object whose bottom-centre is (x, y).
func obj(id int64, class int, x, y float32) *media.ObjectMeta {
	return &media.ObjectMeta{ClassID: class, TrackID: id, Rect: media.Rect{Left: x - 4, Top: y - 10, Width: 8, Height: 10}}
}

func TestROIInverseAndClasses(t *testing.T) {
	c := mustParse(t, "[property]\nconfig-width=200\nconfig-height=200\n"+
		"[roi-filtering-stream-0]\nroi-In=0;0;100;0;100;100;0;100\nclass-id=0\n"+
		"[roi-filtering-stream-1]\nroi-Out=0;0;100;0;100;100;0;100\ninverse-roi=1\n")
	a := New(c, 7)
	// Frames are 100x100: the rules scale by 0.5 to (0,0)-(50,50).
	objs := []*media.ObjectMeta{obj(1, 0, 10, 10), obj(2, 1, 20, 20), obj(3, 0, 70, 70), obj(4, 0, 50, 50)}
	f0 := frame(0, 0, 100, 100, objs...)
	a.Process(f0)
	fr := f0.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta)
	if fr.ObjInROI["In"] != 2 || fr.UniqueID != 7 {
		t.Errorf("In: %+v, want 2 (class 1 filtered, edge point inside)", fr)
	}
	if got := objs[1].User[media.AnalyticsKey].(*media.AnalyticsObjInfo).ROIs; len(got) != 0 {
		t.Errorf("class 1 object in %v", got)
	}
	if fr.ObjCount[0] != 3 || fr.ObjCount[1] != 1 {
		t.Errorf("ObjCount %v", fr.ObjCount)
	}
	objs1 := []*media.ObjectMeta{obj(1, 0, 10, 10), obj(2, 1, 20, 20), obj(3, 0, 70, 70)}
	f1 := frame(1, 0, 100, 100, objs1...)
	a.Process(f1)
	if n := f1.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta).ObjInROI["Out"]; n != 1 {
		t.Errorf("inverse ROI: %d objects, want 1", n)
	}
	if got := objs1[2].User[media.AnalyticsKey].(*media.AnalyticsObjInfo).ROIs; len(got) != 1 || got[0] != "Out" {
		t.Errorf("outside object: %v", got)
	}
	a.EndStream(1)
	if a.Streams() != 1 {
		t.Errorf("%d streams after EndStream", a.Streams())
	}
}

func TestOvercrowdingTimeThreshold(t *testing.T) {
	c := mustParse(t, "[property]\n[overcrowding-stream-0]\nroi-OC=0;0;100;0;100;100;0;100\nobject-threshold=2\ntime-threshold=120\n")
	a := New(c, 0)
	// Frames every 40 ms: two objects in from frame 3 to 9; on from frame 6 (120 ms later).
	for n := int64(0); n < 12; n++ {
		objs := []*media.ObjectMeta{obj(1, 0, 50, 50)}
		if n >= 3 && n < 10 {
			objs = append(objs, obj(2, 0, 60, 60))
		}
		fm := frame(0, n, 200, 200, objs...)
		a.Process(fm)
		fr := fm.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta)
		want := n >= 6 && n < 10
		if fr.Overcrowding["OC"] != want {
			t.Errorf("frame %d: overcrowding %v, want %v (count %d)", n, fr.Overcrowding["OC"], want, fr.OvercrowdingCount["OC"])
		}
	}
}

func TestLineCrossingJitterAndReload(t *testing.T) {
	c := mustParse(t, "[property]\n[line-crossing-stream-0]\nline-crossing-Down=50;0;50;100;0;50;100;50\nmode=loose\n")
	a := New(c, 0)
	ys := []float32{40, 45, 50, 50, 55, 49, 51, 60, 40, 60}
	// 45→55 crosses down (the stop on the line does not count twice);
	// 55→49 goes back (not Down), 49→51 crosses down again, 60→40 up, 40→60 down.
	var crossings []int64
	for n, y := range ys {
		o := obj(1, 0, 20, y)
		fm := frame(0, int64(n), 100, 100, o)
		a.Process(fm)
		if len(o.User[media.AnalyticsKey].(*media.AnalyticsObjInfo).Lines) > 0 {
			crossings = append(crossings, int64(n))
		}
	}
	if fmt.Sprint(crossings) != "[4 6 9]" {
		t.Errorf("crossings at frames %v, want [4 6 9]", crossings)
	}
	// Reload: the count carries over by label; a new line starts at 0.
	c2 := mustParse(t, "[property]\n[line-crossing-stream-0]\nline-crossing-Down=50;0;50;100;0;50;100;50\nline-crossing-Up=50;100;50;0;0;50;100;50\nmode=loose\n")
	a.SetConfig(c2)
	for n, y := range []float32{60, 40, 60} {
		fm := frame(0, int64(10+n), 100, 100, obj(1, 0, 20, y))
		a.Process(fm)
		if n == 2 {
			fr := fm.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta)
			if fr.LineCumulative["Down"] != 4 || fr.LineCumulative["Up"] != 1 {
				t.Errorf("after reload: %v", fr.LineCumulative)
			}
		}
	}
}

func TestDirection(t *testing.T) {
	c := mustParse(t, "[property]\n[direction-detection-stream-0]\ndirection-East=0;0;10;0\ndirection-South=0;0;0;10\nmode=strict\n")
	a := New(c, 0)
	var last *media.AnalyticsObjInfo
	for n := 0; n < 5; n++ {
		o1, o2 := obj(1, 0, float32(10+5*n), 50), obj(2, 0, float32(10+5*n), float32(10+5*n))
		fm := frame(0, int64(n), 200, 200, o1, o2)
		a.Process(fm)
		r1, r2 := o1.User[media.AnalyticsKey].(*media.AnalyticsObjInfo), o2.User[media.AnalyticsKey].(*media.AnalyticsObjInfo)
		if n > 0 && r1.Direction != "East" {
			t.Errorf("frame %d: moving east, direction %q", n, r1.Direction)
		}
		if r2.Direction != "" {
			t.Errorf("frame %d: diagonal object has direction %q in strict mode", n, r2.Direction)
		}
		last = r1
	}
	_ = last
}

func TestOSDDrawing(t *testing.T) {
	c := mustParse(t, "[property]\nosd-mode=2\ndisplay-obj-cnt=1\n[roi-filtering-stream-0]\nroi-A=0;0;100;0;100;100\n"+
		"[overcrowding-stream-0]\nroi-B=0;0;100;0;100;100;0;100\nobject-threshold=1\n"+
		"[line-crossing-stream-0]\nline-crossing-L=50;0;50;100;0;50;100;50\n[direction-detection-stream-0]\ndirection-D=0;0;10;0\n")
	a := New(c, 0)
	fm := frame(0, 0, 200, 200, obj(1, 0, 10, 10))
	a.Process(fm)
	if len(fm.Display) != 1 {
		t.Fatalf("%d display metas", len(fm.Display))
	}
	d := fm.Display[0]
	// Triangle (3) + square (4) + crossing line (1) lines; direction + line arrows.
	if len(d.Lines) != 8 || len(d.Arrows) != 2 {
		t.Errorf("%d lines, %d arrows", len(d.Lines), len(d.Arrows))
	}
	var texts []string
	for _, tx := range d.Texts {
		texts = append(texts, tx.Text)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"ROI A: 1", "OC B: 1/1 OVERCROWDED", "LC L: 0 (+0)", "class 0: 1"} {
		if !strings.Contains(all, want) {
			t.Errorf("texts %q lack %q", all, want)
		}
	}
	// osd-mode 0 draws nothing.
	c.OSDMode = 0
	a.SetConfig(c)
	fm = frame(0, 1, 200, 200)
	a.Process(fm)
	if len(fm.Display) != 0 {
		t.Error("osd-mode 0 drew")
	}
}

func TestObjCountWindow(t *testing.T) {
	c := mustParse(t, "[property]\nobj-cnt-win-in-ms=100\n")
	a := New(c, 0)
	counts := []int{3, 1, 1, 1, 1}
	var got []int
	for n, k := range counts {
		var objs []*media.ObjectMeta
		for i := 0; i < k; i++ {
			objs = append(objs, obj(int64(i), 0, 1, 1))
		}
		fm := frame(0, int64(n), 100, 100, objs...)
		a.Process(fm)
		got = append(got, fm.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta).ObjCount[0])
	}
	// 40 ms frames, 100 ms window: frame 0's 3 stays for frames 1 and 2.
	if fmt.Sprint(got) != "[3 3 3 1 1]" {
		t.Errorf("windowed counts %v", got)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "none.txt"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("err %v", err)
	}
	p := filepath.Join(t.TempDir(), "ok.yml")
	os.WriteFile(p, []byte("property:\n  enable: 0\n"), 0o644)
	c, err := LoadConfig(p)
	if err != nil || c.Enable {
		t.Errorf("%v %+v", err, c)
	}
}

// BenchmarkProcess: 10 rules (3 ROIs, 2 overcrowding, 3 lines, 2 directions)
// and 50 tracked objects moving across them, per frame.
func BenchmarkProcess(b *testing.B) {
	c, err := ParseConfig("bench.txt", []byte(`[property]
config-width=1920
config-height=1080
osd-mode=2
[roi-filtering-stream-0]
roi-A=100;100;900;100;900;900;100;900
roi-B=800;100;1800;100;1800;900;800;900
roi-C=300;300;600;250;1000;700;500;1000;200;800
[overcrowding-stream-0]
roi-O1=0;0;960;0;960;1080;0;1080
roi-O2=960;0;1920;0;1920;1080;960;1080
object-threshold=10
[line-crossing-stream-0]
line-crossing-L1=960;400;960;600;100;500;1800;500
line-crossing-L2=960;600;960;400;100;500;1800;500
line-crossing-L3=500;100;700;100;600;0;600;1080
mode=balanced
[direction-detection-stream-0]
direction-E=0;0;10;0
direction-W=10;0;0;0
`))
	if err != nil {
		b.Fatal(err)
	}
	if c.Rules() != 10 {
		b.Fatalf("%d rules", c.Rules())
	}
	a := New(c, 0)
	objs := make([]*media.ObjectMeta, 50)
	fm := &media.FrameMeta{Width: 1920, Height: 1080}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range objs {
			x := float32((k*37 + i*3) % 1900)
			y := float32((k*53 + i*2) % 1060)
			objs[k] = &media.ObjectMeta{ClassID: k % 3, TrackID: int64(k), Rect: media.Rect{Left: x, Top: y, Width: 20, Height: 20}}
		}
		fm.FrameNumber, fm.PTS = int64(i), time.Duration(i)*33*time.Millisecond
		fm.Objects, fm.Display, fm.User = objs, nil, nil
		a.Process(fm)
	}
}
