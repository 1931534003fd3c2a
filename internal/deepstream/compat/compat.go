// Package compat writes the generated tables of docs/deepstream.md (the
// DeepStream compatibility table) from the loaders' own key tables and the
// element registry, so that the document says what the code does: run
// `VIDFLOW_UPDATE_DOCS=1 go test ./internal/deepstream/compat` after
// changing a key or an element kind.
package compat

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/elements/infer"
	"github.com/vidflow/vidflow/internal/elements/publish"
	"github.com/vidflow/vidflow/internal/elements/track"
)

// Sections are the generated parts of the document, by marker name.
func Sections(reg *element.Registry) map[string]string {
	return map[string]string{
		"nvinfer":  inferTable(),
		"tracker":  trackerTable(),
		"broker":   brokerTable(),
		"elements": elementTable(reg),
	}
}

func esc(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func inferTable() string {
	var b strings.Builder
	b.WriteString("| Group | Key | Status | Notes |\n|---|---|---|---|\n")
	for _, k := range infer.KeyDocs() {
		status := "supported"
		if !k.Effect {
			status = "accepted, no effect"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", k.Group, k.Key, status, esc(k.Doc))
	}
	return b.String()
}

func trackerTable() string {
	var b strings.Builder
	b.WriteString("| Section | Key | Status |\n|---|---|---|\n")
	for _, k := range track.KeyDocs() {
		switch {
		case k.Key == "":
			fmt.Fprintf(&b, "| %s | (all) | accepted, no effect: vidflow's trackers have no visual tracking, re-identification, 3D or multi-view |\n", k.Section)
		case k.Effect:
			fmt.Fprintf(&b, "| %s | `%s` | supported |\n", k.Section, k.Key)
		default:
			fmt.Fprintf(&b, "| %s | `%s` | accepted, no effect |\n", k.Section, k.Key)
		}
	}
	return b.String()
}

func brokerTable() string {
	var b strings.Builder
	b.WriteString("| Key | Status |\n|---|---|\n")
	for _, k := range publish.BrokerKeyDocs() {
		status := "supported"
		if k.Why != "" {
			status = "accepted, no effect: " + esc(k.Why)
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", k.Key, status)
	}
	return b.String()
}

// dsKinds are DeepStream's element kinds (and the GStreamer ones its
// samples link), with a note for those that are neither vidflow kinds
// nor registered as unavailable.
var dsKinds = map[string]string{
	"nvurisrcbin": "", "uridecodebin": "", "filesrc": "", "h264parse": "", "h265parse": "", "nvv4l2decoder": "",
	"nvstreammux": "", "nvstreamdemux": "", "nvinfer": "", "nvinferserver": "", "nvtracker": "", "nvdsanalytics": "",
	"nvdspreprocess": "", "nvdspostprocess": "", "nvdsmetamux": "", "nvvideoconvert": "", "capsfilter": "",
	"nvmultistreamtiler": "", "nvdsosd": "", "nvosdbin": "", "nvsegvisual": "", "nvmsgconv": "", "nvmsgbroker": "",
	"nvmsgbrokersinkbin": "", "nveglglessink": "", "nv3dsink": "", "fakesink": "", "nvrtspoutsinkbin": "",
	"nvdsvideotemplate": "", "tee": "", "queue": "", "appsrc": "", "appsink": "", "nvv4l2camerasrc": "", "nvarguscamerasrc": "",
	"nvmultiurisrcbin": "BatchCapture with URIs or a source list, `vidflow serve` (its REST API): the sources and the batcher it contains",
	"nvv4l2h264enc":    "encoding is inside encodesink (Flow.Encode; Service Maker graphs: absorbed)",
	"nvv4l2h265enc":    "encoding is inside encodesink (Flow.Encode; Service Maker graphs: absorbed)",
	"filesink":         "encodesink (Flow.Encode; Service Maker graphs translate filesink to it)",
	"nvdslogger":       "per-element frame rates are in Pipeline.Stats and `vidflow run`'s table",
	"nvjpegenc":        "the live view's JPEG snapshots (`vidflow serve`); no element",
}

var unavailableRE = regexp.MustCompile(`not available in vidflow: (.*)$`)

func elementTable(reg *element.Registry) string {
	names := make([]string, 0, len(dsKinds))
	for k := range dsKinds {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| DeepStream kind | Status | Properties accepted with no effect |\n|---|---|---|\n")
	for _, n := range names {
		spec, err := reg.Lookup(n)
		switch {
		case err == nil:
			status := "supported"
			if spec.Kind != n {
				status = "supported (vidflow kind `" + spec.Kind + "`)"
			}
			var ignored []string
			for _, p := range spec.Props {
				if p.Ignored {
					ignored = append(ignored, "`"+p.Name+"`")
				}
			}
			fmt.Fprintf(&b, "| `%s` | %s: %s | %s |\n", n, status, esc(firstSentence(spec.Doc)), strings.Join(ignored, ", "))
		case unavailableRE.MatchString(err.Error()):
			fmt.Fprintf(&b, "| `%s` | not possible here: %s | |\n", n, esc(unavailableRE.FindStringSubmatch(err.Error())[1]))
		default:
			fmt.Fprintf(&b, "| `%s` | no element of that name: %s | |\n", n, esc(dsKinds[n]))
		}
	}
	return b.String()
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

// Apply replaces each marked part of doc (between "<!-- BEGIN name -->"
// and "<!-- END name -->") with its section.
func Apply(doc string, sections map[string]string) (string, error) {
	for name, text := range sections {
		begin, end := "<!-- BEGIN "+name+" -->\n", "<!-- END "+name+" -->"
		i := strings.Index(doc, begin)
		j := strings.Index(doc, end)
		if i < 0 || j < i {
			return "", fmt.Errorf("docs/deepstream.md has no %q ... %q markers", strings.TrimSpace(begin), end)
		}
		doc = doc[:i+len(begin)] + text + doc[j:]
	}
	return doc, nil
}
