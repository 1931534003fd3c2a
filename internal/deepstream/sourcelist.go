package deepstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
)

// SourceList is DeepStream's source-list YAML (nvmultiurisrcbin's): the
// streams, and in source-config the properties of the sources and the
// batcher (file-loop, latency, rtsp-reconnect-*, batched-push-timeout,
// width, height, max-batch-size, ...; see Route).
type SourceList struct {
	File       string   `yaml:"-"` // the file it came from, if any
	SourceList []Stream `yaml:"source-list"`
	// CameraList (V4L2/CSI cameras) is read to be refused by name.
	CameraList   []map[string]any `yaml:"camera-list"`
	SourceConfig SourceConfig     `yaml:"source-config"`
}

// SourceConfig is a source list's source-config section.
type SourceConfig struct {
	SourceBin  string         `yaml:"source-bin"`
	Properties map[string]any `yaml:"properties"`
}

// UnmarshalYAML takes the list inline, or a scalar: the name of the file
// holding it (File; ReadSourceList reads it).
func (s *SourceList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = SourceList{File: n.Value}
		return nil
	}
	// Node.Decode has no KnownFields: go through bytes, so that a
	// misspelt key is an error here as in a file of its own.
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	type plain SourceList // without this method
	var p plain
	if err := decodeStrict(b, &p); err != nil {
		return err
	}
	*s = SourceList(p)
	return nil
}

func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// MaxSourceListSize bounds a source-list file: a list of 1024 streams
// (the largest batch) is some 200 KB, and a bound keeps a mistaken path
// (a device, a log) from taking the process's memory.
const MaxSourceListSize = 1 << 20

// ReadSourceList reads a source-list file. Its errors name the file and
// the key. A file that lists no stream is an error: a file named where
// streams are expected and yielding none is a mistake (another YAML file,
// /etc/passwd), never what the operator meant.
func ReadSourceList(path string) (*SourceList, error) {
	data, err := config.ReadFile(path, MaxSourceListSize)
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return nil, err // it names the file and says what failed
	case err != nil:
		return nil, fmt.Errorf("source list: %w", err)
	}
	return ParseSourceList(path, data)
}

// ParseSourceList is ReadSourceList of data, the contents of the file
// path.
func ParseSourceList(path string, data []byte) (*SourceList, error) {
	type plain SourceList // a mapping: a file does not name another
	var p plain
	if err := decodeStrict(data, &p); err != nil {
		return nil, fmt.Errorf("source list %s: %w", path, err)
	}
	s := (*SourceList)(&p)
	s.File = path
	if err := s.check(); err != nil {
		return nil, err
	}
	if len(s.SourceList) == 0 {
		return nil, s.errorf("source-list is empty: no streams (want source-list: entries with uri:)")
	}
	return s, nil
}

// errorf makes an error naming the list's file, when it has one.
func (s *SourceList) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if s.File != "" {
		return fmt.Errorf("source list %s: %s", s.File, msg)
	}
	return errors.New(msg)
}

// check is what any source list must be: no cameras, a known source-bin,
// streams with URIs; property names normalised.
func (s *SourceList) check() error {
	if len(s.CameraList) > 0 {
		return s.errorf("camera-list (V4L2/CSI cameras) is not supported; use a gstsrc element")
	}
	if b := s.SourceConfig.SourceBin; b != "" && b != "nvmultiurisrcbin" && b != "nvurisrcbin" {
		return s.errorf("source-config: source-bin %q: want nvmultiurisrcbin or nvurisrcbin", b)
	}
	for i, st := range s.SourceList {
		if st.URI == "" {
			return s.errorf("source-list entry %d has no uri", i)
		}
	}
	props := map[string]any{}
	for k, v := range s.SourceConfig.Properties {
		k = element.NormalizeName(k)
		switch {
		case k == "uri-list" || k == "sensor-id-list" || k == "sensor-name-list":
			// nvmultiurisrcbin would make these streams: dropped, a
			// camera would be lost without a word.
			return s.errorf("source-config property %s: give the streams as source-list entries (uri, sensor-id, sensor-name)", k)
		case k == "mode" && fmt.Sprint(v) != "0":
			return s.errorf("source-config property mode %v: only video (0) is supported", v)
		}
		props[k] = v
	}
	s.SourceConfig.Properties = props
	return nil
}

// Check validates the streams: resolve (nil: none) turns each URI into
// the one to use (relative paths, variables); with ids, a stream without
// a sensor-id gets its index, as nvmultiurisrcbin numbers them. Sensor ids
// must differ, and each URI must be one that can work (CheckURI).
func (s *SourceList) Check(resolve func(string) string, ids bool) error {
	if err := s.check(); err != nil {
		return err
	}
	seen := map[string]int{}
	for i := range s.SourceList {
		st := &s.SourceList[i]
		if resolve != nil {
			st.URI = resolve(st.URI)
		}
		if st.SensorID == "" && ids {
			st.SensorID = fmt.Sprint(i)
		}
		if j, dup := seen[st.SensorID]; dup && st.SensorID != "" {
			return s.errorf("source-list entries %d and %d have the same sensor-id %q", j, i, st.SensorID)
		}
		seen[st.SensorID] = i
		if err := CheckURI(st.URI); err != nil {
			return s.errorf("source-list entry %d: %v", i, err)
		}
	}
	return nil
}

// Props are the source-config properties for vidflow's sources and
// batcher (see Route): without the REST server's (Server) and those
// vidflow has no use for.
func (s *SourceList) Props() map[string]any {
	out := map[string]any{}
	for k, v := range s.SourceConfig.Properties {
		k = element.NormalizeName(k)
		if !serverProps[k] && !unusedProps[k] {
			out[k] = v
		}
	}
	return out
}

// Server are the source-config properties of nvmultiurisrcbin's REST
// server: ip-address and port, those that are set.
func (s *SourceList) Server() map[string]any {
	out := map[string]any{}
	for k, v := range s.SourceConfig.Properties {
		if k = element.NormalizeName(k); serverProps[k] {
			out[k] = v
		}
	}
	return out
}

// IsSourceList reports whether BatchCapture's argument names a source-list
// file rather than streams: a single .yaml or .yml path.
func IsSourceList(uris []string) bool {
	return len(uris) == 1 && (strings.HasSuffix(uris[0], ".yaml") || strings.HasSuffix(uris[0], ".yml"))
}

// Streams are the streams of a batch given as URIs or as a single
// source-list file (IsSourceList), and the source-config properties of
// such a file (Props). A file must list streams.
func Streams(uris []string) ([]Stream, map[string]any, error) {
	if !IsSourceList(uris) {
		var list []Stream
		for _, u := range uris {
			list = append(list, Stream{URI: u})
		}
		return list, nil, nil
	}
	l, err := ReadSourceList(uris[0])
	if err == nil {
		err = l.Check(nil, false)
	}
	if err != nil {
		return nil, nil, err
	}
	return l.SourceList, l.Props(), nil
}
