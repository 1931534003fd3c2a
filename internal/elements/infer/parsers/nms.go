// Package parsers turns raw model outputs into detections.
package parsers

import (
	"cmp"
	"slices"

	"github.com/vidflow/vidflow/bbox"
)

// IoU returns the intersection over union of two boxes.
func IoU(a, b bbox.Detection) float32 {
	ix1, iy1 := max(a.X1, b.X1), max(a.Y1, b.Y1)
	ix2, iy2 := min(a.X2, b.X2), min(a.Y2, b.Y2)
	if ix2 <= ix1 || iy2 <= iy1 {
		return 0
	}
	inter := (ix2 - ix1) * (iy2 - iy1)
	union := a.Area() + b.Area() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// SortByScore orders detections by descending score; ties are broken by
// class then box position so the order is deterministic.
func SortByScore(dets []bbox.Detection) {
	slices.SortFunc(dets, func(a, b bbox.Detection) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ClassID, b.ClassID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Y1, b.Y1); c != 0 {
			return c
		}
		return cmp.Compare(a.X1, b.X1)
	})
}

// NMS runs greedy class-wise non-maximum suppression in place: dets is
// sorted by descending score, a box is dropped when its IoU with an
// already kept box of the same class is above iouThreshold, and the kept
// boxes are compacted to the front. At most maxOut boxes are kept
// (maxOut <= 0: no limit). It returns the kept prefix of dets and does not
// allocate.
func NMS(dets []bbox.Detection, iouThreshold float32, maxOut int) []bbox.Detection {
	return nms(dets, iouThreshold, maxOut, true)
}

// NMSAgnostic is NMS across classes: overlapping boxes suppress each other
// whatever their class.
func NMSAgnostic(dets []bbox.Detection, iouThreshold float32, maxOut int) []bbox.Detection {
	return nms(dets, iouThreshold, maxOut, false)
}

func nms(dets []bbox.Detection, iouThreshold float32, maxOut int, classWise bool) []bbox.Detection {
	SortByScore(dets)
	kept := 0
	for i := range dets {
		if maxOut > 0 && kept == maxOut {
			break
		}
		d := dets[i]
		suppressed := false
		for j := 0; j < kept; j++ {
			if classWise && dets[j].ClassID != d.ClassID {
				continue
			}
			if IoU(dets[j], d) > iouThreshold {
				suppressed = true
				break
			}
		}
		if !suppressed {
			dets[kept] = d
			kept++
		}
	}
	return dets[:kept]
}
