package service

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is a `vidflow serve` configuration: the streams at start (a
// DeepStream source list, inline or in a file of its own), the analytics
// (model, tracker, nvdsanalytics), the outputs, the batch and the REST
// server. Load reads it from YAML; Check validates it and fills defaults.
type Config struct {
	// Name names the pipeline (default "vidflow-serve").
	Name string `yaml:"name"`
	// Sources are the streams at start and the sources' and batcher's
	// properties, in DeepStream's source-list form; in YAML either inline
	// (source-list:, source-config:) or the path of a source-list file.
	Sources SourceList `yaml:"sources"`
	// MaxBatchSize bounds the streams at once (nvmultiurisrcbin's
	// max-batch-size); adding more is refused. Default 8.
	MaxBatchSize int `yaml:"max-batch-size"`
	// Width and Height are the batch's frame size (every stream is scaled
	// to it). Default 1280×720.
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// Infer is the detector (nil: none).
	Infer *InferConfig `yaml:"infer"`
	// Tracker gives objects persistent ids (nil or enable: false: none).
	Tracker *TrackerConfig `yaml:"tracker"`
	// Analytics runs DeepStream nvdsanalytics (ROIs, lines, crowding)
	// when the build has it (nil: none).
	Analytics *AnalyticsConfig `yaml:"analytics"`
	// Outputs are where the drawn video goes besides the live view: files
	// and RTSP streams. None: only the live view (and the metadata).
	Outputs []OutputConfig `yaml:"outputs"`
	// REST is the HTTP server: address, port, auth.
	REST RESTConfig `yaml:"rest"`
	// LiveView is the browser page's MJPEG view of each stream.
	LiveView LiveViewConfig `yaml:"live-view"`

	dir string // the config file's folder: relative paths start there
}

// Sensor is one stream of a source list.
type Sensor struct {
	URI        string `yaml:"uri" json:"uri"`
	SensorID   string `yaml:"sensor-id" json:"sensor-id"`
	SensorName string `yaml:"sensor-name" json:"sensor-name"`
}

// SourceList is DeepStream's source-list YAML: sensors and the
// source-config properties (nvmultiurisrcbin's: file-loop, latency,
// rtsp-reconnect-*, batched-push-timeout, ...; ip-address, port,
// max-batch-size, width and height are taken as the service's when it
// does not set them itself).
type SourceList struct {
	File         string   `yaml:"-"` // the file it came from, if any
	SourceList   []Sensor `yaml:"source-list"`
	SourceConfig struct {
		SourceBin  string         `yaml:"source-bin"`
		Properties map[string]any `yaml:"properties"`
	} `yaml:"source-config"`
}

// UnmarshalYAML takes the inline form or a file name.
func (s *SourceList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s.File = n.Value
		return nil
	}
	type plain SourceList
	var p plain
	if err := decodeStrict(n, &p); err != nil {
		return err
	}
	*s = SourceList(p)
	return nil
}

func decodeStrict(n *yaml.Node, v any) error {
	// Node.Decode has no KnownFields: go through bytes.
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// InferConfig is the model.
type InferConfig struct {
	// Config is a DeepStream nvinfer config file (YAML or INI).
	Config string `yaml:"config"`
	// Interval skips that many batches between inferences.
	Interval int `yaml:"interval"`
	// Props are more nvinfer properties (overriding the config's keys).
	Props map[string]any `yaml:"props"`
}

// TrackerConfig is the tracker.
type TrackerConfig struct {
	// Enable turns it on (default true when the section is there).
	Enable *bool `yaml:"enable"`
	// Algorithm: iou, sort or bytetrack (default).
	Algorithm string `yaml:"algorithm"`
	// Config is a DeepStream tracker YAML file (ll-config-file).
	Config string `yaml:"config"`
	// Props are more nvtracker properties.
	Props map[string]any `yaml:"props"`
}

func (t *TrackerConfig) enabled() bool { return t != nil && (t.Enable == nil || *t.Enable) }

// AnalyticsConfig is nvdsanalytics.
type AnalyticsConfig struct {
	// Config is a DeepStream nvdsanalytics config file (INI).
	Config string `yaml:"config"`
}

// OutputConfig is one output of the drawn (and tiled) video.
type OutputConfig struct {
	// Encode is a file (.mp4, .mkv, .mov, .jpg), udp://127.0.0.1:port or
	// rtsp://localhost:port/mount (an RTSP server); see Flow.Encode.
	Encode string `yaml:"encode"`
	// Props are encoder options: codec, bitrate, iframeinterval, preset,
	// width and height of the tiled picture.
	Props map[string]any `yaml:"props"`
}

// RESTConfig is the HTTP server.
type RESTConfig struct {
	// Address to listen on (default 127.0.0.1; nvmultiurisrcbin's ip-address).
	Address string `yaml:"address"`
	// Port (default 9000, as DeepStream's; 0 picks a free one).
	Port *int `yaml:"port"`
	// AuthToken, when set, is required as "Authorization: Bearer <token>"
	// on every endpoint but health and the OpenAPI description.
	AuthToken string `yaml:"auth-token"`
	// AuthTokenEnv names an environment variable holding the token
	// (keeps it out of the file).
	AuthTokenEnv string `yaml:"auth-token-env"`
	// CheckReachable makes stream/add refuse rtsp:// and http(s):// URLs
	// whose host does not accept a TCP connection (422). Default true.
	CheckReachable *bool `yaml:"check-reachable"`
}

// LiveViewConfig is the MJPEG live view.
type LiveViewConfig struct {
	// Enable (default true).
	Enable *bool `yaml:"enable"`
	// FPS bounds the JPEGs per second per stream (default 5).
	FPS float64 `yaml:"fps"`
	// Width of the JPEGs (default 640; height keeps the aspect ratio).
	Width int `yaml:"width"`
	// Quality of the JPEGs, 1..100 (default 70).
	Quality int `yaml:"quality"`
}

func (l LiveViewConfig) enabled() bool { return l.Enable == nil || *l.Enable }

// Load reads a config file; relative paths in it start at its folder.
// Values may use ${VAR} (${VIDFLOW_CACHE} defaults to ~/.cache/vidflow).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, dir)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a config from YAML; dir is where relative paths start.
func Parse(data []byte, dir string) (*Config, error) {
	c := &Config{dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is all defaults
		return nil, err
	}
	if c.Sources.File != "" {
		path := c.path(c.Sources.File)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("sources: %w", err)
		}
		var sl SourceList
		d := yaml.NewDecoder(bytes.NewReader(b))
		d.KnownFields(true)
		if err := d.Decode(&sl); err != nil {
			return nil, fmt.Errorf("sources %s: %w", path, err)
		}
		sl.File = path
		c.Sources = sl
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Source and batcher properties of source-config: which go where.
var (
	// restProps are nvmultiurisrcbin's REST server properties and the
	// ones the service sets itself.
	restProps = map[string]bool{"ip-address": true, "port": true, "max-batch-size": true, "width": true, "height": true}
	// streamProps go to every stream's source (nvurisrcbin).
	streamProps = map[string]bool{"file-loop": true, "latency": true, "select-rtp-protocol": true,
		"rtsp-reconnect-interval": true, "init-rtsp-reconnect-interval": true, "rtsp-reconnect-attempts": true,
		"drop-frame-interval": true}
	// droppedProps have no place in vidflow's batcher or sources.
	droppedProps = map[string]bool{"uri-list": true, "sensor-id-list": true, "sensor-name-list": true, "mode": true,
		"disable-audio": true, "async-handling": true, "drop-pipeline-eos": true, "gpu-id": true, "cudadec-memtype": true,
		"batch-size": true, "format": true, "smart-record": true, "smart-rec-dir-path": true, "smart-rec-file-prefix": true,
		"smart-rec-cache": true, "smart-rec-container": true, "smart-rec-mode": true, "smart-rec-default-duration": true,
		"low-latency-mode": true, "udp-buffer-size": true, "dec-skip-frames": true, "source-type": true}
)

func normName(k string) string { return strings.ReplaceAll(strings.ToLower(k), "_", "-") }

// Check validates the config and fills its defaults.
func (c *Config) Check() error {
	if c.Name == "" {
		c.Name = "vidflow-serve"
	}
	props := map[string]any{}
	for k, v := range c.Sources.SourceConfig.Properties {
		props[normName(k)] = v
	}
	c.Sources.SourceConfig.Properties = props
	if b := c.Sources.SourceConfig.SourceBin; b != "" && b != "nvmultiurisrcbin" && b != "nvurisrcbin" {
		return fmt.Errorf("sources: source-config: source-bin %q: want nvmultiurisrcbin or nvurisrcbin", b)
	}
	// nvmultiurisrcbin's properties stand for the service's own settings.
	fromProps := func(key string, dst *int, name string) error {
		v, ok := props[key]
		if !ok {
			return nil
		}
		n, err := toInt(v)
		if err != nil {
			return fmt.Errorf("sources: source-config: %s: %v", key, err)
		}
		if *dst != 0 && *dst != n {
			return fmt.Errorf("%s is %d but sources' source-config says %s: %d; set one", name, *dst, key, n)
		}
		*dst = n
		return nil
	}
	if err := errors.Join(fromProps("max-batch-size", &c.MaxBatchSize, "max-batch-size"),
		fromProps("width", &c.Width, "width"), fromProps("height", &c.Height, "height")); err != nil {
		return err
	}
	if v, ok := props["ip-address"]; ok {
		a := fmt.Sprint(v)
		if c.REST.Address != "" && c.REST.Address != a {
			return fmt.Errorf("rest: address is %q but sources' source-config says ip-address: %q; set one", c.REST.Address, a)
		}
		c.REST.Address = a
	}
	if v, ok := props["port"]; ok {
		n, err := toInt(v)
		if err != nil {
			return fmt.Errorf("sources: source-config: port: %v", err)
		}
		if c.REST.Port != nil && *c.REST.Port != n {
			return fmt.Errorf("rest: port is %d but sources' source-config says port: %d; set one", *c.REST.Port, n)
		}
		c.REST.Port = &n
	}
	for k := range props {
		if droppedProps[k] {
			delete(props, k)
		}
	}
	if c.MaxBatchSize == 0 {
		c.MaxBatchSize = 8
	}
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = 1280, 720
	}
	switch {
	case c.MaxBatchSize < 1 || c.MaxBatchSize > 1024:
		return fmt.Errorf("max-batch-size %d out of range (1..1024)", c.MaxBatchSize)
	case c.Width < 16 || c.Height < 16 || c.Width > 8192 || c.Height > 8192:
		return fmt.Errorf("width and height %dx%d out of range (16..8192)", c.Width, c.Height)
	case len(c.Sources.SourceList) > c.MaxBatchSize:
		return fmt.Errorf("sources: %d streams but max-batch-size is %d", len(c.Sources.SourceList), c.MaxBatchSize)
	}
	ids := map[string]int{}
	for i := range c.Sources.SourceList {
		s := &c.Sources.SourceList[i]
		if s.URI == "" {
			return fmt.Errorf("sources: source-list entry %d has no uri", i)
		}
		s.URI = c.uri(s.URI)
		if s.SensorID == "" {
			s.SensorID = strconv.Itoa(i)
		}
		if j, dup := ids[s.SensorID]; dup {
			return fmt.Errorf("sources: source-list entries %d and %d have the same sensor-id %q", j, i, s.SensorID)
		}
		ids[s.SensorID] = i
		if err := checkURI(s.URI); err != nil {
			return fmt.Errorf("sources: source-list entry %d: %v", i, err)
		}
	}
	if c.Infer != nil {
		if c.Infer.Config == "" {
			return errors.New("infer: no config (a DeepStream nvinfer config file)")
		}
		c.Infer.Config = c.path(c.Infer.Config)
		if _, err := os.Stat(c.Infer.Config); err != nil {
			return fmt.Errorf("infer: config %q doesn't exist", c.Infer.Config)
		}
		if c.Infer.Interval < 0 {
			return fmt.Errorf("infer: interval must not be negative, got %d", c.Infer.Interval)
		}
	}
	if c.Tracker.enabled() {
		switch c.Tracker.Algorithm {
		case "", "iou", "sort", "bytetrack":
		default:
			return fmt.Errorf("tracker: algorithm %q: want iou, sort or bytetrack", c.Tracker.Algorithm)
		}
		if c.Tracker.Config != "" {
			c.Tracker.Config = c.path(c.Tracker.Config)
			if _, err := os.Stat(c.Tracker.Config); err != nil {
				return fmt.Errorf("tracker: config %q doesn't exist", c.Tracker.Config)
			}
		}
	}
	if c.Analytics != nil {
		if c.Analytics.Config == "" {
			return errors.New("analytics: no config (a DeepStream nvdsanalytics config file)")
		}
		c.Analytics.Config = c.path(c.Analytics.Config)
		if _, err := os.Stat(c.Analytics.Config); err != nil {
			return fmt.Errorf("analytics: config %q doesn't exist", c.Analytics.Config)
		}
	}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		switch {
		case o.Encode == "":
			return fmt.Errorf("outputs: entry %d has no encode destination", i)
		case strings.Contains(o.Encode, "://"):
		default:
			o.Encode = c.path(o.Encode)
		}
	}
	if c.REST.Address == "" {
		c.REST.Address = "127.0.0.1"
	}
	if c.REST.Port == nil {
		p := 9000
		c.REST.Port = &p
	}
	if *c.REST.Port < 0 || *c.REST.Port > 65535 {
		return fmt.Errorf("rest: port %d out of range", *c.REST.Port)
	}
	if c.REST.AuthTokenEnv != "" {
		t := os.Getenv(c.REST.AuthTokenEnv)
		if t == "" {
			return fmt.Errorf("rest: auth-token-env: $%s is empty or unset", c.REST.AuthTokenEnv)
		}
		if c.REST.AuthToken != "" && c.REST.AuthToken != t {
			return errors.New("rest: both auth-token and auth-token-env are set; set one")
		}
		c.REST.AuthToken = t
	}
	lv := &c.LiveView
	if lv.FPS == 0 {
		lv.FPS = 5
	}
	if lv.Width == 0 {
		lv.Width = 640
	}
	if lv.Quality == 0 {
		lv.Quality = 70
	}
	switch {
	case lv.FPS < 0 || lv.FPS > 60:
		return fmt.Errorf("live-view: fps %v out of range (0..60]", lv.FPS)
	case lv.Width < 16 || lv.Width > 8192:
		return fmt.Errorf("live-view: width %d out of range (16..8192)", lv.Width)
	case lv.Quality < 1 || lv.Quality > 100:
		return fmt.Errorf("live-view: quality %d out of range (1..100)", lv.Quality)
	}
	return nil
}

// Addr is the REST server's listen address.
func (c *Config) Addr() string {
	return net.JoinHostPort(c.REST.Address, strconv.Itoa(*c.REST.Port))
}

// StreamProps are the properties every stream's source gets.
func (c *Config) StreamProps() map[string]any {
	out := map[string]any{}
	for k, v := range c.Sources.SourceConfig.Properties {
		if streamProps[k] {
			out[k] = v
		}
	}
	return out
}

// BatcherProps are the source-config properties for the batcher.
func (c *Config) BatcherProps() map[string]any {
	out := map[string]any{}
	for k, v := range c.Sources.SourceConfig.Properties {
		if !streamProps[k] && !restProps[k] {
			out[k] = v
		}
	}
	return out
}

// path resolves a path of the config: ${VAR}, ~, relative to its folder.
func (c *Config) path(p string) string {
	p = expand(p)
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// uri resolves a stream URI: plain paths like path, URIs as they are
// (but for ${VAR} and file:// paths).
func (c *Config) uri(u string) string {
	u = expand(u)
	if strings.Contains(u, "://") {
		return u
	}
	return c.path(u)
}

// CacheDir is vidflow's cache: $VIDFLOW_CACHE or ~/.cache/vidflow.
func CacheDir() string {
	if d := os.Getenv("VIDFLOW_CACHE"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "vidflow")
}

func expand(s string) string {
	s = os.Expand(s, func(k string) string {
		if k == "VIDFLOW_CACHE" {
			return CacheDir()
		}
		return os.Getenv(k)
	})
	if s == "~" || strings.HasPrefix(s, "~/") {
		home, _ := os.UserHomeDir()
		s = filepath.Join(home, s[1:])
	}
	return s
}

// checkURI checks a stream URI's form (and that a file exists): the
// errors of a URI that can never work.
func checkURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("bad URI %q: %v", uri, err)
	}
	switch u.Scheme {
	case "", "file":
		path := uri
		if u.Scheme == "file" {
			path = u.Path
		}
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("file %q doesn't exist", path)
		}
		if st.IsDir() {
			return fmt.Errorf("%q is a folder, not a video file", path)
		}
	case "rtsp", "rtsps", "http", "https":
		if u.Host == "" {
			return fmt.Errorf("bad URI %q: no host", uri)
		}
	case "testsrc":
	default:
		return fmt.Errorf("URI %q: unsupported scheme %q (want a file path, file://, rtsp://, http(s):// or testsrc://)", uri, u.Scheme)
	}
	return nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		if x == float64(int(x)) {
			return int(x), nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%v is not an integer", v)
}
