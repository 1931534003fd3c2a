package dsapp

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
)

// ErrOtherApp marks a config of another NVIDIA application than
// deepstream-app (deepstream-parallel-infer's branch groups): it reads
// like one, but its groups mean what that application's own code makes
// of them.
var ErrOtherApp = errors.New("not a deepstream-app config")

// parallelRE are deepstream-parallel-infer's groups: deepstream-app has a
// single primary-gie, tracker and nvds-analytics, and no branches.
var parallelRE = regexp.MustCompile(`^(branch\d+|primary-gie\d+|tracker\d+|nvds-analytics\d+|meta-mux)$`)

// fromYAML turns the groups of deepstream-app's YAML form into those of
// its INI form, which read reads. They are the same groups and keys
// (config.ParseYAML already reads "sink0:" maps as "[sink0]" groups, a
// YAML list as "a;b;c"), except for the sources: YAML has one "source:"
// group whose csv-file-path names a CSV file, a header line of source
// keys then a line per source (deepstream-app's
// parse_config_file_yaml); each line becomes a [source<N>] group, so that
// "-set source0.uri=..." works as with INI. The result is a new File, as
// config.File's name index must see its groups replaced.
func fromYAML(f *config.File) (*config.File, error) {
	for _, s := range f.Sections {
		if parallelRE.MatchString(s.Name) {
			return nil, &config.Error{File: f.Path, Line: s.Line, Section: s.Name, Err: fmt.Errorf("%w: a group of deepstream-parallel-infer "+
				"(NVIDIA's deepstream_parallel_inference_app: its own groups branch<N>, primary-gie<N>, meta-mux), which `vidflow app` does not run: "+
				"port its branches to a vidflow pipeline (docs/deepstream.md, Application configs)", ErrOtherApp)}
		}
	}
	out := &config.File{Path: f.Path, Format: f.Format}
	var list *config.Section
	for _, s := range f.Sections {
		if s.Name == "source" {
			list = s
			continue
		}
		out.Sections = append(out.Sections, s)
	}
	if list == nil {
		return out, nil
	}
	srcs, err := csvSources(f.Path, list, out)
	if err != nil {
		return nil, err
	}
	out.Sections = append(out.Sections, srcs...)
	return out, nil
}

// csvSources reads the CSV file of a YAML config's "source:" group.
func csvSources(path string, list *config.Section, f *config.File) ([]*config.Section, error) {
	var csv config.Value
	for _, v := range list.Values {
		if v.Key != "csv-file-path" {
			return nil, v.Errorf("unknown key (deepstream-app's YAML source group has only csv-file-path, a CSV file of the sources)")
		}
		csv = v
	}
	if csv.Key == "" {
		return nil, list.Errorf(path, "needs csv-file-path (a CSV file: a header line of source keys, then a line per source)")
	}
	p, err := csv.Path()
	if err != nil {
		return nil, err
	}
	if err := exists(csv, p); err != nil {
		return nil, err
	}
	data, err := config.ReadFile(p, config.MaxFileSize)
	if err != nil {
		return nil, csv.Errorf("%v", err)
	}
	next := 0 // the first free source<N>, after any the YAML has itself
	for _, s := range f.Sections {
		if rest, ok := strings.CutPrefix(s.Name, "source"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			next = max(next, num(s.Name, "source")+1)
		}
	}
	return parseCSV(p, filepath.Dir(path), string(data), next)
}

// parseCSV makes a [source<N>] group of each line after the header, its
// values naming the CSV file and line. As deepstream-app does, comment
// ("#") and blank lines before the header are skipped; vidflow skips
// them after it too, where deepstream-app reads an empty source.
func parseCSV(csvPath, cfgDir, text string, next int) ([]*config.Section, error) {
	var header []string
	var out []*config.Section
	for n, line := range strings.Split(text, "\n") {
		ln := n + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if header == nil {
			for _, k := range fields {
				if k == "" {
					return nil, &config.Error{File: csvPath, Line: ln, Err: errors.New("empty column name in the header line (want source keys: enable,type,uri,...)")}
				}
			}
			header = fields
			continue
		}
		if len(fields) != len(header) {
			return nil, &config.Error{File: csvPath, Line: ln, Err: fmt.Errorf("%d values for the header's %d columns (%s)", len(fields), len(header), strings.Join(header, ","))}
		}
		s := &config.Section{Name: fmt.Sprintf("source%d", next), Line: ln}
		next++
		for i, k := range header {
			v := fields[i]
			if k == "uri" {
				v = csvURI(v, cfgDir)
			}
			s.Values = append(s.Values, config.Value{File: csvPath, Section: s.Name, Key: k, Text: v, Line: ln})
		}
		out = append(out, s)
	}
	if header == nil {
		return nil, &config.Error{File: csvPath, Err: errors.New("no header line (want source keys: enable,type,uri,...)")}
	}
	return out, nil
}

// csvURI makes a relative file:// URI absolute against the YAML config's
// folder, which is what deepstream-app takes it from (not the CSV file's:
// resolveURI would take the values' file).
func csvURI(uri, cfgDir string) string {
	rest, ok := strings.CutPrefix(uri, "file://")
	if !ok || rest == "" || filepath.IsAbs(rest) || strings.HasPrefix(rest, "$") || strings.HasPrefix(rest, "~") {
		return uri
	}
	return "file://" + filepath.Join(cfgDir, rest)
}

// sectionFile is the file a group came from: a YAML config's CSV file for
// the sources it lists.
func sectionFile(f *config.File, s *config.Section) string {
	if len(s.Values) > 0 && s.Values[0].File != "" && !strings.HasSuffix(s.Values[0].File, "-set") {
		return s.Values[0].File
	}
	return f.Path
}
