package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
)

// runGraph is `vidflow run -pipeline file.yaml`: a Service Maker pipeline
// graph, with -set node.property=value (and node.type=kind) applied
// before its elements are made.
func runGraph(path string, sets []string, verbose bool, out io.Writer) error {
	p, err := vidflow.LoadPipeline("vidflow-run", path)
	if err != nil {
		return err
	}
	if err := applySets(p, sets); err != nil {
		return err
	}
	if verbose {
		for _, n := range p.GraphNotes() {
			fmt.Fprintln(out, "note:", n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p.OnMessage(func(m element.Message) {
		switch m := m.(type) {
		case *element.WarningMessage:
			fmt.Fprintf(out, "warning: %s: %s\n", m.Element, m.Text)
		case *element.InfoMessage:
			fmt.Fprintf(out, "%s: %s\n", m.Element, m.Text)
		}
	})
	fmt.Fprintf(out, "vidflow run: %s\n", path)
	err = p.Run(ctx)
	if st := p.Stats(); st != nil {
		printStats(out, st)
	}
	if err != nil && ctx.Err() != nil {
		return nil // Ctrl-C
	}
	return err
}

// applySets applies "node.property=value" (or "node.type=kind") settings.
// Values are numbers or booleans where they parse as such, text otherwise.
func applySets(p *vidflow.Pipeline, sets []string) error {
	for _, s := range sets {
		lhs, val, ok := strings.Cut(s, "=")
		node, prop, ok2 := strings.Cut(lhs, ".")
		if !ok || !ok2 || node == "" || prop == "" {
			return fmt.Errorf("-set %q: want node.property=value (or node.type=kind)", s)
		}
		if prop == "type" {
			if err := p.SetKind(node, val); err != nil {
				return fmt.Errorf("-set %q: %w", s, err)
			}
			continue
		}
		if err := p.Set(node, vidflow.Props{prop: parseValue(val)}); err != nil {
			return fmt.Errorf("-set %q: %w", s, err)
		}
	}
	return nil
}

func parseValue(v string) any {
	if i, err := strconv.Atoi(v); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(v); err == nil && (v == "true" || v == "false") {
		return b
	}
	return v
}
