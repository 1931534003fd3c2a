package infer

import (
	"slices"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/internal/elements/infer/parsers"
)

// filter drops the boxes DeepStream's filterDetectionOutput drops: classes
// filtered out or unknown, scores under the class's pre-cluster-threshold,
// sizes outside detected-min/max-w/h and boxes outside the class's
// roi-top/bottom-offset band (all in network-input pixels). It compacts
// dets in place.
func (c *Config) filter(dets []bbox.Detection, classes, netH int) []bbox.Detection {
	kept := dets[:0]
	for _, d := range dets {
		if d.ClassID < 0 || (classes > 0 && d.ClassID >= classes) || slices.Contains(c.FilterOutClassIDs, d.ClassID) {
			continue
		}
		a := c.Class(d.ClassID)
		w, h := d.X2-d.X1, d.Y2-d.Y1
		switch {
		case !(d.Score >= a.PreClusterThreshold), w <= 0, h <= 0:
			continue
		case w < float32(a.DetectedMinW), h < float32(a.DetectedMinH):
			continue
		case a.DetectedMaxW > 0 && w > float32(a.DetectedMaxW), a.DetectedMaxH > 0 && h > float32(a.DetectedMaxH):
			continue
		case a.ROITopOffset > 0 && d.Y1 < float32(a.ROITopOffset):
			continue
		case a.ROIBottomOffset > 0 && d.Y2 > float32(netH-a.ROIBottomOffset):
			continue
		}
		kept = append(kept, d)
	}
	return kept
}

// cluster groups the boxes of each class as cluster-mode says and keeps
// at most topk of each class, best first. counts is scratch of at least
// the number of classes (grown when short). It works in place.
func (c *Config) cluster(dets []bbox.Detection, counts []int) ([]bbox.Detection, []int) {
	if c.ClusterMode == ClusterDBSCAN || c.ClusterMode == ClusterDBSCANNMS {
		dets = c.dbscan(dets)
	}
	parsers.SortByScore(dets)
	for _, d := range dets {
		if d.ClassID >= len(counts) {
			counts = append(counts, make([]int, d.ClassID+1-len(counts))...)
		}
	}
	clear(counts)
	nms := c.ClusterMode == ClusterNMS || c.ClusterMode == ClusterDBSCANNMS
	kept := 0
	for i := range dets {
		d := dets[i]
		a := c.Class(d.ClassID)
		if a.TopK >= 0 && counts[d.ClassID] >= a.TopK {
			continue
		}
		if nms {
			suppressed := false
			for j := 0; j < kept; j++ {
				if dets[j].ClassID == d.ClassID && parsers.IoU(dets[j], d) > a.NMSIoUThreshold {
					suppressed = true
					break
				}
			}
			if suppressed {
				continue
			}
		}
		counts[d.ClassID]++
		dets[kept] = d
		kept++
	}
	return dets[:kept], counts
}

// dbscan clusters each class's boxes by DBSCAN with distance 1 − IoU:
// boxes within eps of each other are neighbours, a box with at least
// minBoxes neighbours (itself included) is a core box, and each cluster
// becomes one box, the score-weighted mean of its members, scored by its
// best member. Clusters scoring under post-cluster-threshold and boxes in
// no cluster are dropped. (DeepStream's own DBSCAN differs in details; it
// is not published.)
func (c *Config) dbscan(dets []bbox.Detection) []bbox.Detection {
	n := len(dets)
	label := make([]int, n) // 0 unvisited, -1 noise, k>0 cluster k
	next := 0
	var queue []int
	for i := range dets {
		if label[i] != 0 {
			continue
		}
		a := c.Class(dets[i].ClassID)
		nb := neighbours(dets, i, a.Eps, queue[:0])
		if len(nb) < max(a.MinBoxes, 1) || dets[i].Score < a.DBSCANMinScore {
			label[i] = -1
			continue
		}
		next++
		label[i] = next
		queue = nb
		for q := 0; q < len(queue); q++ {
			j := queue[q]
			if label[j] == -1 {
				label[j] = next
			}
			if label[j] != 0 {
				continue
			}
			label[j] = next
			if more := neighbours(dets, j, a.Eps, nil); len(more) >= max(a.MinBoxes, 1) {
				queue = append(queue, more...)
			}
		}
	}
	out := dets[:0:0]
	for k := 1; k <= next; k++ {
		var m bbox.Detection
		var wsum float32
		for i, d := range dets {
			if label[i] != k {
				continue
			}
			if wsum == 0 {
				m.ClassID = d.ClassID
			}
			m.X1 += d.X1 * d.Score
			m.Y1 += d.Y1 * d.Score
			m.X2 += d.X2 * d.Score
			m.Y2 += d.Y2 * d.Score
			wsum += d.Score
			m.Score = max(m.Score, d.Score)
		}
		if wsum <= 0 || m.Score < c.Class(m.ClassID).PostClusterThreshold {
			continue
		}
		m.X1, m.Y1, m.X2, m.Y2 = m.X1/wsum, m.Y1/wsum, m.X2/wsum, m.Y2/wsum
		out = append(out, m)
	}
	return out
}

// neighbours appends to dst the boxes of i's class within eps (1 − IoU) of
// box i, i included.
func neighbours(dets []bbox.Detection, i int, eps float32, dst []int) []int {
	for j, d := range dets {
		if d.ClassID == dets[i].ClassID && 1-parsers.IoU(dets[i], d) <= eps {
			dst = append(dst, j)
		}
	}
	return dst
}
