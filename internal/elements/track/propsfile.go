package track

import (
	"fmt"
	"os"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
)

// PropertiesFile reads the tracker INI file of DeepStream's sample apps
// (deepstream-test2's dstest2_tracker_config.txt: a [tracker] group of
// nvtracker properties, which the app sets one by one): the properties
// to give an nvtracker element, typed, with ll-config-file resolved
// against the file's folder and loaded, so that its mistakes are reported
// here. A key that is not an nvtracker property is an error naming the
// file, line and key (the apps would drop it silently).
func PropertiesFile(path string) (map[string]any, error) {
	data, err := config.ReadFile(path, config.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("tracker properties file: %w", err)
	}
	return ParsePropertiesFile(path, data)
}

// ParsePropertiesFile is PropertiesFile of data, the contents of path.
func ParsePropertiesFile(path string, data []byte) (map[string]any, error) {
	f, err := config.Parse(path, data) // INI, or the same group in YAML
	if err != nil {
		return nil, err
	}
	s := f.Section("tracker")
	if s == nil {
		return nil, f.Errorf("no [tracker] group (want [tracker] with ll-config-file=..., tracker-width=..., as deepstream-test2's file)")
	}
	specs := map[string]element.PropSpec{}
	for _, p := range Props {
		specs[p.Name] = p
	}
	props := map[string]any{}
	for _, v := range s.Values {
		spec, ok := specs[element.NormalizeName(v.Key)]
		if !ok {
			return nil, v.Errorf("not an nvtracker property%s", config.Suggest(v.Key, config.Keys(specs)))
		}
		var val any
		switch spec.Type {
		case element.Int:
			val, err = v.Int()
		case element.Bool:
			val, err = v.Bool()
		default:
			val = v.String()
			if spec.Name == "ll-config-file" {
				val, err = v.Path()
			}
		}
		if err != nil {
			return nil, err
		}
		props[spec.Name] = val
	}
	if file, ok := props["ll-config-file"].(string); ok {
		if _, err := os.Stat(file); err != nil {
			return nil, &config.Error{File: path, Line: s.Line, Section: s.Name, Key: "ll-config-file",
				Err: config.Reason(config.ErrMissingFile, "%q does not exist", file)}
		}
		if _, err := LoadConfig(file); err != nil {
			return nil, s.Errorf(path, "ll-config-file: %v", err)
		}
	}
	return props, nil
}
