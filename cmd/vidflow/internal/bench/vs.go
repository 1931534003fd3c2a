package bench

import (
	"fmt"
	"path/filepath"
	"strings"
)

// inferVs is the infer scenario with -vs: the bare models of -config and
// of -vs (the INT8 and float detectors, say) at each batch size, run one
// after the other -repeat times — interleaved, so that a shared machine's
// load falls on both alike — each keeping its best run, and their ratio:
// frames/s, and CPU time a frame (less sensitive to other processes, which
// take wall time but not this process's CPU time).
func (b *bench) inferVs(batches []int) error {
	if b.frame == nil {
		var err error
		if b.frame, b.fw, b.fh, err = firstFrame(b.clips([]string{"720p"})[0]); err != nil {
			return fmt.Errorf("infer floor: %w", err)
		}
	}
	k := max(b.o.sessions, 1)
	configs := []string{b.o.config, b.o.vs}
	for _, n := range batches {
		best := make([]*benchRow, len(configs))
		runs := make([][]float64, len(configs))
		for range max(b.o.repeat, 1) {
			for i, cfg := range configs {
				l0 := loadAvg()[0]
				saved := b.o.config
				b.o.config = cfg
				row, err := b.bareLoop(n, b.o.threads, k)
				b.o.config = saved
				if err != nil {
					return err
				}
				row.Load = [2]float64{l0, loadAvg()[0]}
				row.Name = fmt.Sprintf("%s %dx%d (floor)", configLabel(cfg), k, b.o.threads)
				row.Note = cfg + "; " + row.Note
				runs[i] = append(runs[i], row.FPS)
				if best[i] == nil || row.FPS > best[i].FPS {
					best[i] = row
				}
			}
		}
		for i, r := range best {
			if len(runs[i]) > 1 {
				r.Runs = runs[i]
			}
			b.add(r)
		}
		a, v := best[0], best[1]
		cpuA, cpuV := 1000*a.CPUCores/a.FPS, 1000*v.CPUCores/v.FPS
		b.vsLines = append(b.vsLines, fmt.Sprintf("infer -vs, batch %d, %dx%d: %s %.1f frames/s vs %s %.1f: %.2fx; CPU a frame %.1f vs %.1f ms: %.2fx (best of %d interleaved runs each; all runs %v vs %v)",
			a.Batch, k, b.o.threads, configLabel(configs[0]), a.FPS, configLabel(configs[1]), v.FPS, a.FPS/v.FPS,
			cpuA, cpuV, cpuV/cpuA, max(b.o.repeat, 1), fmtRuns(runs[0]), fmtRuns(runs[1])))
	}
	return nil
}

// configLabel names a config in the table: config_infer_primary_int8.yml
// is "int8", config_infer_primary.yml "float", others their base name.
func configLabel(cfg string) string {
	base := strings.TrimSuffix(filepath.Base(cfg), filepath.Ext(cfg))
	switch base {
	case "config_infer_primary":
		return "float"
	case "config_infer_primary_int8":
		return "int8"
	}
	return base
}

func fmtRuns(r []float64) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = fmt.Sprintf("%.1f", v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
