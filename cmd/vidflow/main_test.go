package main

import (
	"bytes"
	"strings"
	"testing"
)

// -h prints the usage and is no error (exit 0), for run and serve alike.
func TestHelpExitsZero(t *testing.T) {
	for _, c := range []struct{ cmd, want string }{{"run", "-source"}, {"serve", "usage: vidflow serve"}} {
		var out bytes.Buffer
		if err := run([]string{c.cmd, "-h"}, &out); err != nil {
			t.Errorf("%s -h: %v", c.cmd, err)
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%s -h printed %q", c.cmd, out.String())
		}
	}
}
