package tiler

import (
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

func TestGrid(t *testing.T) {
	cases := []struct{ rows, cols, n, wantR, wantC int }{
		{0, 0, 1, 1, 1}, {0, 0, 2, 1, 2}, {0, 0, 3, 2, 2}, {0, 0, 4, 2, 2}, {0, 0, 5, 2, 3},
		{0, 0, 9, 3, 3}, {0, 0, 10, 3, 4}, {0, 3, 7, 3, 3}, {2, 0, 7, 2, 4}, {3, 5, 2, 3, 5}, {0, 0, 0, 1, 1},
	}
	for _, c := range cases {
		if r, co := Grid(c.rows, c.cols, c.n); r != c.wantR || co != c.wantC {
			t.Errorf("Grid(%d, %d, %d) = %d×%d, want %d×%d", c.rows, c.cols, c.n, r, co, c.wantR, c.wantC)
		}
	}
}

func TestTiles(t *testing.T) {
	r := &run{tiler: &tiler{w: 100, h: 51, show: -1}}
	// Tiles cover the frame exactly, without overlap.
	rows, cols := 3, 3
	covered := make([]int, 100*51)
	for k := 0; k < rows*cols; k++ {
		tl := r.tileAt(k, rows, cols)
		for y := tl.y; y < tl.y+tl.h; y++ {
			for x := tl.x; x < tl.x+tl.w; x++ {
				covered[y*100+x]++
			}
		}
	}
	for i, c := range covered {
		if c != 1 {
			t.Fatalf("pixel %d covered %d times", i, c)
		}
	}
	if _, ok := r.slot(9, 3, 3); ok {
		t.Error("stream 9 has a tile in a 3×3 grid")
	}
	r.show = 4
	if k, ok := r.slot(4, 3, 3); !ok || k != 0 {
		t.Errorf("show-source 4: stream 4 in slot %d, %v", k, ok)
	}
	if _, ok := r.slot(2, 3, 3); ok {
		t.Error("show-source 4 shows stream 2")
	}
}

func TestMove(t *testing.T) {
	o := media.NewObject(1, "x", 1, media.Rect{Left: 10, Top: 20, Width: 30, Height: 40})
	d := &media.DisplayMeta{}
	d.AddText(media.DisplayText{X: 10, Y: 20}).AddRect(media.DisplayRect{Left: 1, Top: 2, Width: 3, Height: 4}).
		AddArrow(media.DisplayArrow{X1: 2, Y1: 2, X2: 4, Y2: 4}).AddCircle(media.DisplayCircle{XC: 10, YC: 10, Radius: 10})
	fm := &media.FrameMeta{Objects: []*media.ObjectMeta{o, nil}, Display: []*media.DisplayMeta{d, nil}}
	om := &media.FrameMeta{}
	move(fm, om, 100, 50, 0.5, 0.25)
	if len(om.Objects) != 1 || om.Objects[0].Rect != (media.Rect{Left: 105, Top: 55, Width: 15, Height: 10}) {
		t.Errorf("object moved to %+v", om.Objects[0].Rect)
	}
	if len(om.Display) != 1 || d.Texts[0].X != 105 || d.Texts[0].Y != 55 || d.Rects[0] != (media.DisplayRect{Left: 100.5, Top: 50.5, Width: 1.5, Height: 1}) ||
		d.Arrows[0].X2 != 102 || d.Arrows[0].Y2 != 51 || d.Circles[0].XC != 105 || d.Circles[0].Radius != 3 {
		t.Errorf("display moved to %+v", d)
	}
}

func TestProps(t *testing.T) {
	spec, err := kinds().Lookup("tiler")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []element.Props{{"rows": -1}, {"width": 8}, {"show-source": -2}, {"buffer-pool-size": 0}, {"columns": 100}} {
		c, err := element.NewConfig(spec, "t", bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.New(c); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func kinds() *element.Registry {
	r := element.NewRegistry()
	Register(r)
	return r
}
