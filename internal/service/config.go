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
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/deepstream"
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
	// Preprocess is DeepStream's nvdspreprocess before the detector
	// (nil: none): the detector infers on its regions of each frame, which
	// /api/v1/roi/update replaces while it runs.
	Preprocess *PreprocessConfig `yaml:"preprocess"`
	// Infer is the detector (nil: none).
	Infer *InferConfig `yaml:"infer"`
	// Tracker gives objects persistent ids (nil or enable: false: none).
	Tracker *TrackerConfig `yaml:"tracker"`
	// Analytics runs DeepStream nvdsanalytics (ROIs, lines, crowding)
	// when the build has it (nil: none).
	Analytics *AnalyticsConfig `yaml:"analytics"`
	// RecordOn starts smart recordings on events (an object class, an
	// analytics line crossing) of streams with smart-record set (nil:
	// recordings start over REST only). See recording.go.
	RecordOn *RecordOnConfig `yaml:"record-on"`
	// Outputs are where the drawn video goes besides the live view: files
	// and RTSP streams. None: only the live view (and the metadata).
	Outputs []OutputConfig `yaml:"outputs"`
	// REST is the HTTP server: address, port, auth.
	REST RESTConfig `yaml:"rest"`
	// LiveView is the browser page's MJPEG view of each stream.
	LiveView LiveViewConfig `yaml:"live-view"`
	// Cluster, when set, makes this service one node of a cluster on
	// etcd and NATS JetStream (see docs/cluster.md); nil: a single node.
	Cluster *ClusterConfig `yaml:"cluster"`

	dir string // the config file's folder: relative paths start there
}

// Sensor is one stream of a source list.
type Sensor = deepstream.Stream

// SourceList is DeepStream's source-list YAML (see deepstream.SourceList):
// sensors and the source-config properties; ip-address, port,
// max-batch-size, width and height are taken as the service's when it
// does not set them itself.
type SourceList = deepstream.SourceList

// InferConfig is the model.
type InferConfig struct {
	// Config is a DeepStream nvinfer config file (YAML or INI).
	Config string `yaml:"config"`
	// Interval skips that many batches between inferences.
	Interval int `yaml:"interval"`
	// Props are more nvinfer properties (overriding the config's keys).
	Props map[string]any `yaml:"props"`
}

// PreprocessConfig is nvdspreprocess.
type PreprocessConfig struct {
	// Config is a DeepStream nvdspreprocess config file (INI or YAML):
	// its groups' roi-params-src-<N> are the regions of source N.
	Config string `yaml:"config"`
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
	// width and height of the tiled picture; overwrite, fragment-duration
	// of files.
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
	// whose host does not accept a TCP connection (422). Default false: it
	// has the service dial whatever host and port a client names; when on
	// it is rate-limited (see docs/service.md).
	CheckReachable *bool `yaml:"check-reachable"`
	// CORSOrigins are the web origins ("https://vst.example:8080") whose
	// pages may call the API; none by default, and never "*".
	CORSOrigins []string `yaml:"cors-origins"`
	// AllowSchemes are the URL schemes stream/add takes (rtsp, rtsps,
	// http, https, testsrc). Default rtsp, rtsps and testsrc: http(s)
	// would let a client have the service fetch any URL.
	AllowSchemes []string `yaml:"allow-schemes"`
	// AllowFolders are the folders (with their subfolders) whose files
	// stream/add may open. None by default: file streams over the API
	// are refused. The config's own sources are trusted and not checked.
	AllowFolders []string `yaml:"allow-folders"`
}

func (r RESTConfig) checkReachable() bool { return r.CheckReachable != nil && *r.CheckReachable }

// The schemes rest.allow-schemes may name; files are rest.allow-folders'.
var apiSchemes = []string{"rtsp", "rtsps", "http", "https", "testsrc"}

// MaxConfigSize bounds a serve config file: a config is a few kilobytes;
// the bound keeps a mistaken path or a hostile file from taking the
// process's memory in the YAML decoder.
const MaxConfigSize = 1 << 20

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

// LoadConfig reads a config file; relative paths in it start at its
// folder. Values may use ${VAR} (${VIDFLOW_CACHE} defaults to
// ~/.cache/vidflow).
func LoadConfig(path string) (*Config, error) {
	data, err := config.ReadFile(path, MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := ParseConfig(data, dir)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig reads a config from YAML; dir is where relative paths
// start.
func ParseConfig(data []byte, dir string) (*Config, error) {
	c := &Config{dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is all defaults
		return nil, err
	}
	if c.Sources.File != "" {
		sl, err := deepstream.ReadSourceList(c.path(c.Sources.File))
		if err != nil {
			return nil, fmt.Errorf("sources: %w", err)
		}
		c.Sources = *sl
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Load is LoadConfig.
//
// Deprecated: use LoadConfig.
func Load(path string) (*Config, error) { return LoadConfig(path) }

// Parse is ParseConfig.
//
// Deprecated: use ParseConfig.
func Parse(data []byte, dir string) (*Config, error) { return ParseConfig(data, dir) }

// ownProps are source-config properties the service sets itself: its
// batch (max-batch-size, width, height, taken as its settings) and the
// batcher's mode and format.
var ownProps = map[string]bool{"max-batch-size": true, "width": true, "height": true, "batch-size": true,
	"drop-pipeline-eos": true, "format": true}

// Check validates the config and fills its defaults.
func (c *Config) Check() error {
	if c.Name == "" {
		c.Name = "vidflow-serve"
	}
	for _, check := range []func() error{c.checkSources, c.checkBatch, c.checkModels, c.checkOutputs, c.checkREST, c.LiveView.check, c.checkCluster, c.checkRecordOn} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checkSources checks the source list and takes nvmultiurisrcbin's
// properties as the service's own settings.
func (c *Config) checkSources() error {
	if err := c.Sources.Check(c.uri, true); err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	props, server := c.Sources.Props(), c.Sources.Server()
	fromProps := func(props map[string]any, key string, dst *int, name string) error {
		v, ok := props[key]
		if !ok {
			return nil
		}
		n, err := element.ToInt(v)
		if err != nil {
			return fmt.Errorf("sources: source-config: %s: %v", key, err)
		}
		if *dst != 0 && *dst != n {
			return fmt.Errorf("%s is %d but sources' source-config says %s: %d; set one", name, *dst, key, n)
		}
		*dst = n
		return nil
	}
	if err := errors.Join(fromProps(props, "max-batch-size", &c.MaxBatchSize, "max-batch-size"),
		fromProps(props, "width", &c.Width, "width"), fromProps(props, "height", &c.Height, "height")); err != nil {
		return err
	}
	if v, ok := server["ip-address"]; ok {
		a := fmt.Sprint(v)
		if c.REST.Address != "" && c.REST.Address != a {
			return fmt.Errorf("rest: address is %q but sources' source-config says ip-address: %q; set one", c.REST.Address, a)
		}
		c.REST.Address = a
	}
	if _, ok := server["port"]; ok {
		port := 0
		if c.REST.Port != nil {
			port = *c.REST.Port
		}
		if err := fromProps(server, "port", &port, "rest: port"); err != nil {
			return err
		}
		c.REST.Port = &port
	}
	return nil
}

// checkBatch fills and checks the batch's size.
func (c *Config) checkBatch() error {
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
	return nil
}

// checkModels checks the infer, tracker and analytics sections.
func (c *Config) checkModels() error {
	if c.Infer != nil {
		if c.Infer.Config == "" {
			return errors.New("infer: no config (a DeepStream nvinfer config file)")
		}
		c.Infer.Config = c.path(c.Infer.Config)
		if err := checkFile("infer", c.Infer.Config); err != nil {
			return err
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
			if err := checkFile("tracker", c.Tracker.Config); err != nil {
				return err
			}
		}
	}
	if c.Preprocess != nil {
		switch {
		case c.Preprocess.Config == "":
			return errors.New("preprocess: no config (a DeepStream nvdspreprocess config file)")
		case c.Infer == nil:
			return errors.New("preprocess: its regions are for the detector, and the config has no infer section")
		}
		c.Preprocess.Config = c.path(c.Preprocess.Config)
		if err := checkFile("preprocess", c.Preprocess.Config); err != nil {
			return err
		}
	}
	if c.Analytics != nil {
		if c.Analytics.Config == "" {
			return errors.New("analytics: no config (a DeepStream nvdsanalytics config file)")
		}
		c.Analytics.Config = c.path(c.Analytics.Config)
		if err := checkFile("analytics", c.Analytics.Config); err != nil {
			return err
		}
	}
	return nil
}

// checkFile checks a config file the section names: it exists, is a
// regular file (not /dev/zero) and within config.MaxFileSize, so that the
// loaders never read without bound.
func checkFile(section, path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("%s: config %q doesn't exist", section, path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s: config %q is not a regular file", section, path)
	case st.Size() > config.MaxFileSize:
		return fmt.Errorf("%s: config %q is %d bytes, over the limit of %d bytes", section, path, st.Size(), config.MaxFileSize)
	}
	return nil
}

// checkOutputs resolves the outputs' files.
func (c *Config) checkOutputs() error {
	for i := range c.Outputs {
		o := &c.Outputs[i]
		if o.Encode == "" {
			return fmt.Errorf("outputs: entry %d has no encode destination", i)
		}
		o.Encode = deepstream.Resolve(o.Encode, c.path)
	}
	return nil
}

// checkREST fills and checks the server's address and token.
func (c *Config) checkREST() error {
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
	if err := c.checkAPIPolicy(); err != nil {
		return err
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
	return nil
}

// checkAPIPolicy fills and checks the REST API's allow-lists.
func (c *Config) checkAPIPolicy() error {
	r := &c.REST
	if r.AllowSchemes == nil {
		r.AllowSchemes = []string{"rtsp", "rtsps", "testsrc"}
	}
	for i, sc := range r.AllowSchemes {
		sc = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(sc), "://"))
		switch {
		case sc == "file":
			return errors.New("rest: allow-schemes: files are allowed by folder (rest.allow-folders), not by scheme")
		case !slices.Contains(apiSchemes, sc):
			return fmt.Errorf("rest: allow-schemes: %q; want some of %s", sc, strings.Join(apiSchemes, ", "))
		}
		r.AllowSchemes[i] = sc
	}
	for i, d := range r.AllowFolders {
		d = c.path(d)
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return fmt.Errorf("rest: allow-folders: %q is not a folder", d)
		}
		r.AllowFolders[i] = filepath.Clean(d)
	}
	for _, o := range r.CORSOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return fmt.Errorf("rest: cors-origins: %q; want an origin such as https://host:port (no \"*\", no path)", o)
		}
	}
	return nil
}

// check fills and checks the live view's settings.
func (lv *LiveViewConfig) check() error {
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

// StreamProps are the properties every stream's source gets (see
// deepstream.Route).
func (c *Config) StreamProps() map[string]any {
	return without(deepstream.Route(c.Sources.Props()).Source, ownProps)
}

// BatcherProps are the source-config properties for the batcher.
func (c *Config) BatcherProps() map[string]any {
	return without(deepstream.Route(c.Sources.Props()).Batcher, ownProps)
}

func without(props map[string]any, drop map[string]bool) map[string]any {
	for k := range drop {
		delete(props, k)
	}
	return props
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
// (but for ${VAR}).
func (c *Config) uri(u string) string { return deepstream.Resolve(expand(u), c.path) }

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
