package vidflow

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vidflow/vidflow/internal/gst"

	// GStreamer-based sources and sinks.
	_ "github.com/vidflow/vidflow/internal/elements/sinks"
	_ "github.com/vidflow/vidflow/internal/elements/sources"
)

type sensor struct{ uri, id, name string }

// readSourceList reads a DeepStream source-list YAML: the sensors and the
// source-config properties.
func readSourceList(path string) ([]sensor, Props, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("source list: %w", err)
	}
	var doc struct {
		SourceList []struct {
			URI        string `yaml:"uri"`
			SensorID   string `yaml:"sensor-id"`
			SensorName string `yaml:"sensor-name"`
		} `yaml:"source-list"`
		CameraList   []map[string]any `yaml:"camera-list"`
		SourceConfig struct {
			SourceBin  string         `yaml:"source-bin"`
			Properties map[string]any `yaml:"properties"`
		} `yaml:"source-config"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("source list %s: %w", path, err)
	}
	if len(doc.CameraList) > 0 {
		return nil, nil, fmt.Errorf("source list %s: camera-list (V4L2/CSI cameras) is not supported; use a gstsrc element", path)
	}
	var list []sensor
	for i, s := range doc.SourceList {
		if s.URI == "" {
			return nil, nil, fmt.Errorf("source list %s: entry %d has no uri", path, i)
		}
		list = append(list, sensor{uri: s.URI, id: s.SensorID, name: s.SensorName})
	}
	if len(list) == 0 {
		return nil, nil, fmt.Errorf("source list %s: source-list is empty", path)
	}
	props := Props{}
	for k, v := range doc.SourceConfig.Properties {
		props[k] = v
	}
	// Properties of nvmultiurisrcbin's REST server have no place here.
	for _, k := range []string{"ip-address", "port", "uri-list", "sensor-id-list", "sensor-name-list", "mode", "disable-audio", "async-handling"} {
		delete(props, k)
	}
	return list, props, nil
}

// MediaInfo describes a media file or stream: duration, whether it is live
// or seekable, its video and audio streams (codec, size, frame rate).
// Frames() estimates the number of video frames.
type MediaInfo = gst.MediaInfo

// Discover reads a file's or stream's MediaInfo through GStreamer's
// discoverer (Service Maker's MediaInfo.discover); a bare path is a file.
func Discover(uri string) (*MediaInfo, error) { return gst.Discover(uri, 10*time.Second) }
