package compat

import (
	"os"
	"testing"

	"github.com/vidflow/vidflow/internal/elements"
)

const docPath = "../../../docs/deepstream.md"

// docs/deepstream.md's generated tables are what the code does; with
// VIDFLOW_UPDATE_DOCS=1 the test rewrites them. The config key tables
// must match; the element table (any package's property may change it)
// is only reported when stale, so that a new property elsewhere does not
// fail the suite.
func TestDocUpToDate(t *testing.T) {
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	sections := Sections(elements.NewRegistry())
	doc, err := Apply(string(data), sections)
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
	strict := map[string]string{}
	for name, text := range sections {
		if name != "elements" {
			strict[name] = text
		}
	}
	if d, _ := Apply(string(data), strict); d != string(data) {
		t.Error("docs/deepstream.md's config key tables are out of date: run VIDFLOW_UPDATE_DOCS=1 go test ./internal/deepstream/compat")
		return
	}
	t.Log("docs/deepstream.md's element table is out of date: run VIDFLOW_UPDATE_DOCS=1 go test ./internal/deepstream/compat")
}
