package infer

import (
	"testing"

	"github.com/vidflow/vidflow/bbox"
)

func det(class int, score, x1, y1, x2, y2 float32) bbox.Detection {
	return bbox.Detection{ClassID: class, Score: score, X1: x1, Y1: y1, X2: x2, Y2: y2}
}

func TestFilter(t *testing.T) {
	c := DefaultConfig()
	c.FilterOutClassIDs = []int{3}
	c.ClassAttrs.DetectedMinW = 5
	c.PerClass[1] = ClassAttrs{PreClusterThreshold: 0.6, DetectedMaxH: 20, ROITopOffset: 10, TopK: -1}
	dets := []bbox.Detection{
		det(0, 0.5, 0, 0, 10, 10),   // kept
		det(0, 0.1, 0, 0, 10, 10),   // under 0.2
		det(0, 0.5, 0, 0, 4, 10),    // narrower than 5
		det(1, 0.5, 0, 20, 10, 30),  // under class 1's 0.6
		det(1, 0.7, 0, 20, 10, 30),  // kept
		det(1, 0.7, 0, 20, 10, 50),  // taller than 20
		det(1, 0.7, 0, 5, 10, 15),   // above roi-top-offset
		det(3, 0.9, 0, 0, 10, 10),   // filtered out
		det(9, 0.9, 0, 0, 10, 10),   // beyond the 5 classes
		det(0, 0.9, 10, 10, 10, 20), // empty
	}
	got := c.filter(dets, 5, 100)
	if len(got) != 2 || got[0] != dets[0] || got[1].Score != 0.7 || got[1].Y2 != 30 {
		t.Errorf("kept %+v", got)
	}
}

func TestClusterNMSPerClass(t *testing.T) {
	c := DefaultConfig()
	c.ClusterMode = ClusterNMS
	c.ClassAttrs.NMSIoUThreshold = 0.5
	c.PerClass[1] = ClassAttrs{NMSIoUThreshold: 0.9, TopK: 1}
	dets := []bbox.Detection{
		det(0, 0.9, 0, 0, 10, 10),
		det(0, 0.8, 1, 0, 11, 10),  // IoU 0.82 with the first: suppressed
		det(0, 0.7, 20, 0, 30, 10), // apart: kept
		det(1, 0.6, 0, 0, 10, 10),  // other class: kept
		det(1, 0.5, 1, 0, 11, 10),  // IoU 0.82 < 0.9, but topk 1
		det(2, 0.95, 1, 0, 11, 10), // other class
	}
	got, _ := c.cluster(dets, nil)
	want := []float32{0.95, 0.9, 0.7, 0.6}
	if len(got) != len(want) {
		t.Fatalf("kept %+v", got)
	}
	for i, w := range want {
		if got[i].Score != w {
			t.Errorf("%d: %+v, want score %v", i, got[i], w)
		}
	}
	c.ClusterMode = ClusterNone
	c.PerClass = map[int]ClassAttrs{}
	c.ClassAttrs.TopK = 2
	got, _ = c.cluster([]bbox.Detection{det(0, 0.9, 0, 0, 10, 10), det(0, 0.8, 0, 0, 10, 10), det(0, 0.7, 0, 0, 10, 10)}, nil)
	if len(got) != 2 {
		t.Errorf("none with topk 2 kept %d", len(got))
	}
}

func TestClusterDBSCAN(t *testing.T) {
	c := DefaultConfig()
	c.ClusterMode = ClusterDBSCAN
	c.ClassAttrs.Eps = 0.3
	c.ClassAttrs.MinBoxes = 2
	c.ClassAttrs.PostClusterThreshold = 0.5
	dets := []bbox.Detection{
		det(0, 0.9, 0, 0, 10, 10),
		det(0, 0.3, 1, 0, 11, 10),   // joins the first
		det(0, 0.9, 50, 50, 60, 60), // alone: noise with minBoxes 2
		det(1, 0.4, 20, 20, 30, 30), // a cluster scoring 0.45 < 0.5
		det(1, 0.45, 20, 21, 30, 31),
	}
	got, _ := c.cluster(dets, nil)
	if len(got) != 1 {
		t.Fatalf("clusters %+v", got)
	}
	g := got[0]
	if g.Score != 0.9 || g.X1 <= 0 || g.X1 >= 1 || g.X2 <= 10 || g.X2 >= 11 {
		t.Errorf("cluster box %+v", g)
	}
}
