package compat

import (
	"os"
	"testing"

	"github.com/vidflow/vidflow/internal/elements"
)

const docPath = "../../../docs/deepstream.md"

// docs/deepstream.md's generated tables are what the code does; with
// VIDFLOW_UPDATE_DOCS=1 the test rewrites them.
func TestDocUpToDate(t *testing.T) {
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Apply(string(data), Sections(elements.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	if doc == string(data) {
		return
	}
	if os.Getenv("VIDFLOW_UPDATE_DOCS") != "" {
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("docs/deepstream.md is out of date: run VIDFLOW_UPDATE_DOCS=1 go test ./internal/deepstream/compat")
}
