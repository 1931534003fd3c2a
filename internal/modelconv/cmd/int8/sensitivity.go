package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vidflow/vidflow/internal/modelconv"
	"github.com/vidflow/vidflow/internal/modelconv/calib"
)

// evaluator compares INT8 variants with the float model on the held-out
// frames, at the config's threshold (calib.Check's way, near misses
// counted apart).
type evaluator struct {
	p       *prepared
	threads int
	ref     [][]bboxDets
}

func newEvaluator(p *prepared, threads int) (*evaluator, error) {
	fres, err := modelconv.Convert(p.m, p.base)
	if err != nil {
		return nil, err
	}
	ref, err := detectAll(fres.ONNX, p.held, threads, calib.Threshold-calib.Margin)
	if err != nil {
		return nil, err
	}
	return &evaluator{p: p, threads: threads, ref: ref}, nil
}

// eval converts with q and measures its agreement with the float model.
func (e *evaluator) eval(q *modelconv.Int8) (*calib.Agreement, error) {
	opts := e.p.base
	opts.Int8 = q
	res, err := modelconv.Convert(e.p.m, opts)
	if err != nil {
		return nil, err
	}
	got, err := detectAll(res.ONNX, e.p.held, e.threads, calib.Threshold-calib.Margin)
	if err != nil {
		return nil, err
	}
	a := calib.NewAgreement()
	for i := range e.p.held {
		a.AddMargin(e.ref[i], got[i], calib.Threshold)
	}
	return a, nil
}

// withKept returns a copy of q that also keeps tensors in float.
func withKept(q *modelconv.Int8, tensors []string) *modelconv.Int8 {
	c := *q
	c.KeepFloat = append(slices.Clone(q.KeepFloat), tensors...)
	return &c
}

func summary(a *calib.Agreement) string {
	p, c := a.Class(0), a.Class(2)
	return fmt.Sprintf("worst %.4f  person P %.4f R %.4f  car P %.4f R %.4f  all P %.4f R %.4f  drift %.4f",
		worstOf(a), p.Precision(), p.Recall(), c.Precision(), c.Recall(), a.Class(-1).Precision(), a.Class(-1).Recall(), a.Class(-1).MeanDrift())
}

// sensitivity measures what each block costs: with the model as -keep and
// -keep-match make it (every block in INT8 by default), each block in turn
// kept in float (leave one out: the agreement it gives back) and, with
// -solo, each block quantized alone (the agreement it loses). Printed per
// block, the largest gain first.
func (o *options) sensitivity(ctx context.Context) error {
	p, err := o.prepare(ctx)
	if err != nil {
		return err
	}
	e, err := newEvaluator(p, o.threads)
	if err != nil {
		return err
	}
	start := time.Now()
	a, err := e.eval(p.q)
	if err != nil {
		return err
	}
	logf("baseline (%d tensors kept in float) on %d held-out frames, %s: %s", len(p.q.KeepFloat), len(p.held), time.Since(start).Round(time.Millisecond), summary(a))
	fmt.Printf("baseline: %s", a.Report(classes))
	baseWorst := worstOf(a)
	blocks, order := groupsOf(p.cal.Calibration, o.depth)
	type row struct {
		block string
		gain  float64
		line  string
	}
	var rows []row
	for _, b := range order {
		if !o.blockWanted(b) {
			continue
		}
		var tensors, others []string
		for _, t := range p.cal.Calibration {
			if groupOf(t, o.depth) == b {
				tensors = append(tensors, t)
			} else {
				others = append(others, t)
			}
		}
		kept, err := e.eval(withKept(p.q, tensors))
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%-48s %3d tensors  float: %s", b, blocks[b], summary(kept))
		if o.solo {
			alone, err := e.eval(&modelconv.Int8{Ranges: p.q.Ranges, Ops: p.q.Ops, InputMeans: p.q.InputMeans, KeepFloat: others})
			if err != nil {
				return err
			}
			line += fmt.Sprintf("  | alone in INT8: worst %.4f drift %.4f", worstOf(alone), alone.Class(-1).MeanDrift())
		}
		logf("%s", line)
		rows = append(rows, row{b, worstOf(kept) - baseWorst, line})
	}
	slices.SortStableFunc(rows, func(x, y row) int { return cmp.Compare(y.gain, x.gain) })
	fmt.Println("blocks kept in float one at a time, the largest gain of the worst precision/recall first:")
	for _, r := range rows {
		fmt.Printf("%+.4f  %s\n", r.gain, r.line)
	}
	return nil
}

// blockWanted reports whether -blocks selects a block for -sensitivity
// (names containing one of its comma-separated strings; "" all, "-" none).
func (o *options) blockWanted(b string) bool {
	if o.blocks == "" {
		return true
	}
	for _, s := range strings.Split(o.blocks, ",") {
		if s != "" && s != "-" && strings.Contains(b, s) {
			return true
		}
	}
	return false
}
