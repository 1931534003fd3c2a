// Package deepstream holds what vidflow knows of DeepStream's conventions
// for streams, in one place for the Flow builder, Pipeline.AddStream, the
// stream elements and `vidflow serve`: which source element a URI needs,
// which properties go to the sources and which to the batcher, and the
// source-list YAML of nvmultiurisrcbin.
package deepstream

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// Scheme is the class of a stream URI.
type Scheme int

// The stream URIs vidflow takes.
const (
	File    Scheme = iota + 1 // a bare path or file://
	RTSP                      // rtsp://, rtsps://
	HTTP                      // http://, https://
	TestSrc                   // testsrc://?property=value&...
)

// URI is a stream URI, parsed.
type URI struct {
	Raw    string
	Scheme Scheme
	Path   string     // the file, for File
	Query  url.Values // the properties, for TestSrc
}

// ParseURI classifies a stream URI. It checks the form only; Check also
// looks at the file system.
func ParseURI(uri string) (URI, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return URI{}, fmt.Errorf("URI %q: %w", uri, err)
	}
	out := URI{Raw: uri}
	switch u.Scheme {
	case "", "file":
		out.Scheme, out.Path = File, uri
		if u.Scheme == "file" {
			if u.Host != "" && u.Host != "localhost" {
				return URI{}, fmt.Errorf("URI %q: file URL with host %q (want file:///path)", uri, u.Host)
			}
			out.Path = u.Path
		}
	case "rtsp", "rtsps", "http", "https":
		if u.Host == "" {
			return URI{}, fmt.Errorf("URI %q: no host", uri)
		}
		out.Scheme = RTSP
		if u.Scheme == "http" || u.Scheme == "https" {
			out.Scheme = HTTP
		}
	case "testsrc":
		out.Scheme, out.Query = TestSrc, u.Query()
	default:
		return URI{}, fmt.Errorf("URI %q: unsupported scheme %q (want a file path, file://, rtsp://, http(s):// or testsrc://)", uri, u.Scheme)
	}
	return out, nil
}

// Check reports what makes the URI never work: a file that does not
// exist or is a folder.
func (u URI) Check() error {
	if u.Scheme != File {
		return nil
	}
	st, err := os.Stat(u.Path)
	if err != nil {
		return fmt.Errorf("file %q doesn't exist", u.Path)
	}
	if st.IsDir() {
		return fmt.Errorf("%q is a folder, not a video file", u.Path)
	}
	return nil
}

// CheckURI is ParseURI followed by Check.
func CheckURI(uri string) error {
	u, err := ParseURI(uri)
	if err != nil {
		return err
	}
	return u.Check()
}

// Source resolves a stream URI to the element kind that reads it and its
// properties: testsrc for testsrc:// (the query's properties), else
// nvurisrcbin (uri).
func Source(uri string) (string, map[string]any, error) {
	u, err := ParseURI(uri)
	if err == nil {
		err = u.Check()
	}
	if err != nil {
		return "", nil, err
	}
	if u.Scheme == TestSrc {
		props := map[string]any{}
		for k, v := range u.Query {
			props[k] = v[len(v)-1]
		}
		return "testsrc", props, nil
	}
	return "nvurisrcbin", map[string]any{"uri": uri}, nil
}

// Stream is one stream of a batch: its URI, the sensor it comes from and
// properties of its own.
type Stream struct {
	URI        string         `yaml:"uri" json:"uri"`
	SensorID   string         `yaml:"sensor-id" json:"sensor-id"`
	SensorName string         `yaml:"sensor-name" json:"sensor-name"`
	Props      map[string]any `yaml:"-" json:"-"` // over the batch's and the URI's
}

// Source is the source element of the stream in a batch whose sources
// get props: the kind and properties of its URI, the batch's properties
// it takes (SourceProps), its own, and the sensor (nvurisrcbin, when the
// stream has a sensor id).
func (s Stream) Source(props map[string]any) (string, map[string]any, error) {
	kind, out, err := Source(s.URI)
	if err != nil {
		return "", nil, err
	}
	for k, v := range SourceProps(s.URI, props) {
		out[k] = v
	}
	for k, v := range s.Props {
		out[k] = v
	}
	if kind == "nvurisrcbin" && s.SensorID != "" {
		out["sensor-id"], out["sensor-name"] = s.SensorID, s.SensorName
	}
	return kind, out, nil
}

// SourceProps are the batch-wide source properties the stream at uri
// takes: every one for nvurisrcbin but file-loop, which only files take
// (as in DeepStream, where a batch-wide file-loop leaves live sources
// alone: a source list that loops its files must still take RTSP
// cameras); for testsrc only width and height, and those only where the
// URI's query sets neither (a synthetic stream is made at its own size;
// the batcher scales it).
func SourceProps(uri string, props map[string]any) map[string]any {
	out := map[string]any{}
	u, err := ParseURI(uri)
	if err == nil && u.Scheme == TestSrc {
		if w, ok := props["width"]; ok && !u.Query.Has("width") && !u.Query.Has("height") {
			out["width"], out["height"] = w, props["height"]
		}
		return out
	}
	for k, v := range props {
		out[k] = v
	}
	if err == nil && u.Scheme != File {
		delete(out, "file-loop")
	}
	return out
}

// Resolve returns uri with a bare path passed through path (to make it
// relative to a config file, say); URLs stay as they are.
func Resolve(uri string, path func(string) string) string {
	if strings.Contains(uri, "://") {
		return uri
	}
	return path(uri)
}

// defaultPorts are the network schemes' ports when a URL names none.
var defaultPorts = map[string]string{"rtsp": "554", "rtsps": "322", "http": "80", "https": "443"}

// HostPort is the host:port a network URI connects to, "" for files and
// synthetic streams.
func HostPort(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = defaultPorts[u.Scheme]
	}
	if port == "" {
		return ""
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Redact hides a URI's password, for logs and the REST API.
func Redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		return uri
	}
	return u.Redacted()
}
