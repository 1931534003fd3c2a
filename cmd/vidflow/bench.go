package main

import (
	"io"

	"github.com/vidflow/vidflow/cmd/vidflow/internal/bench"
)

// benchMain is `vidflow bench`; the harness is package bench.
func benchMain(args []string, out io.Writer) error {
	o, err := bench.Parse(args, out)
	if err != nil {
		return err
	}
	return bench.Run(o, out)
}
