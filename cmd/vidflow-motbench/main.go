// Command vidflow-motbench measures the tracking quality of vidflow's
// trackers (IOU, SORT, ByteTrack) on the deterministic synthetic benchmark
// and prints MOTA, IDF1, ID switches, false positives and misses, as a
// Markdown table; or evaluates MOTChallenge files.
//
//	vidflow-motbench                         # the benchmark of docs/osd-tracking.md
//	vidflow-motbench -seed 7 -frames 3000    # another sequence
//	vidflow-motbench -write out/             # also write gt.txt, det.txt and <tracker>.txt
//	vidflow-motbench -gt gt.txt -hyp a.txt -hyp b.txt   # evaluate tracker outputs
//	vidflow-motbench -gt gt.txt -det det.txt            # run the trackers on detections
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vidflow/vidflow/internal/elements/track"
	"github.com/vidflow/vidflow/internal/elements/track/mot"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vidflow-motbench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("vidflow-motbench", flag.ContinueOnError)
	o := mot.DefaultSynth()
	seed := fs.Uint64("seed", o.Seed, "seed of the synthetic sequence")
	fs.IntVar(&o.Frames, "frames", o.Frames, "frames of the synthetic sequence")
	fs.IntVar(&o.Objects, "objects", o.Objects, "objects in view at a time")
	fs.Float64Var(&o.Noise, "noise", o.Noise, "detector box noise, fraction of the box size")
	fs.Float64Var(&o.Miss, "miss", o.Miss, "detector miss rate of fully visible objects")
	fs.Float64Var(&o.FalsePositives, "fp", o.FalsePositives, "spurious detections per frame")
	threshold := fs.Float64("iou", 0.5, "IoU for a match")
	gtFile := fs.String("gt", "", "ground truth (MOTChallenge text) to evaluate against")
	detFile := fs.String("det", "", "detections (MOTChallenge text) to run the trackers on, with -gt")
	size := fs.String("size", "1920x1080", "frame size for -det")
	write := fs.String("write", "", "directory to write the synthetic gt.txt, det.txt and each tracker's output to")
	var hyps files
	fs.Var(&hyps, "hyp", "tracker output (MOTChallenge text) to evaluate, with -gt; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Seed = *seed

	var gt, det mot.Sequence
	var w, h int
	switch {
	case *gtFile != "":
		var err error
		if gt, err = readFile(*gtFile, true); err != nil {
			return err
		}
		if len(hyps) > 0 {
			fmt.Fprintln(out, "| output | MOTA | IDF1 | MOTP | ID switches | FP | FN | IDP | IDR |")
			fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
			for _, hf := range hyps {
				hyp, err := readFile(hf, false)
				if err != nil {
					return err
				}
				m := mot.Evaluate(gt, hyp, *threshold)
				fmt.Fprintf(out, "| %s | %.1f%% | %.1f%% | %.3f | %d | %d | %d | %.1f%% | %.1f%% |\n",
					filepath.Base(hf), 100*m.MOTA, 100*m.IDF1, m.MOTP, m.IDSwitches, m.FP, m.FN, 100*m.IDP, 100*m.IDR)
			}
			return nil
		}
		if *detFile == "" {
			return fmt.Errorf("-gt needs -hyp (outputs to evaluate) or -det (detections to track)")
		}
		if det, err = readFile(*detFile, false); err != nil {
			return err
		}
		if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || w <= 0 || h <= 0 {
			return fmt.Errorf("-size %q: want WIDTHxHEIGHT", *size)
		}
		fmt.Fprintf(out, "%s against %s, IoU %.2f\n\n", filepath.Base(*detFile), filepath.Base(*gtFile), *threshold)
	case len(hyps) > 0 || *detFile != "":
		return fmt.Errorf("-hyp and -det need -gt")
	default:
		if o.Frames < 1 || o.Frames > 1_000_000 {
			return fmt.Errorf("-frames %d out of range", o.Frames)
		}
		gt, det = mot.Synthetic(o)
		w, h = o.Width, o.Height
		n := 0
		for _, f := range gt {
			n += len(f)
		}
		fmt.Fprintf(out, "Synthetic benchmark: seed %d, %d frames of %dx%d, %d ground-truth boxes, %.0f%% box noise, %.0f%% misses, %.1f false positives/frame, IoU %.2f\n\n",
			o.Seed, o.Frames, o.Width, o.Height, n, 100*o.Noise, 100*o.Miss, o.FalsePositives, *threshold)
	}
	if *write != "" {
		if err := os.MkdirAll(*write, 0o755); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(*write, "gt.txt"), gt); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(*write, "det.txt"), det); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "| tracker | detector interval | MOTA | IDF1 | MOTP | ID switches | FP | FN | mostly tracked | µs/frame |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|")
	for _, iv := range mot.Intervals {
		for _, alg := range track.Algorithms {
			cfg, err := track.Preset(alg)
			if err != nil {
				return err
			}
			start := time.Now()
			hyp, err := mot.Run(cfg, det, w, h, iv)
			if err != nil {
				return err
			}
			per := time.Since(start) / time.Duration(max(1, len(det)))
			m := mot.Evaluate(gt, hyp, *threshold)
			fmt.Fprintf(out, "| %s | %d | %.1f%% | %.1f%% | %.3f | %d | %d | %d | %d/%d | %.0f |\n",
				alg, iv, 100*m.MOTA, 100*m.IDF1, m.MOTP, m.IDSwitches, m.FP, m.FN, m.MostlyTracked, m.GTTracks, float64(per.Nanoseconds())/1000)
			if *write != "" && iv == 0 {
				if err := writeFile(filepath.Join(*write, alg+".txt"), hyp); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func readFile(path string, gt bool) (mot.Sequence, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seq, err := mot.Read(f, gt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return seq, nil
}

func writeFile(path string, seq mot.Sequence) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := mot.Write(f, seq); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
