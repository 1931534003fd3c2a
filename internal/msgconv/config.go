package msgconv

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
)

// Location is a geographic position.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
	Alt float64 `json:"alt"`
}

// Coordinate is a position in a site's own frame.
type Coordinate struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	Z float64 `json:"z"`
}

// Sensor describes a camera ([sensorN] of the converter config; N is the
// stream's SourceID).
type Sensor struct {
	ID, Type, Description string
	Location              Location
	Coordinate            Coordinate
}

// Place describes where a camera is ([placeN]). SubFields are
// place-sub-field1..3: the name, lane and level of an entrance, the id,
// type and level of a parking spot, the id, name and level of an aisle.
type Place struct {
	ID, Type, Name string
	Location       Location
	Coordinate     Coordinate
	SubFields      [3]string
}

// Module describes the analytics that made the messages ([analyticsN]).
type Module struct {
	ID, Description, Source, Version string
}

// Config is the converter's static configuration (DeepStream's
// msg-conv-config file, INI or YAML): by stream, its sensor, place and
// analytics module.
type Config struct {
	Path    string
	Sensors map[int]*Sensor
	Places  map[int]*Place
	Modules map[int]*Module
}

// LoadConfig reads a converter configuration. Errors name the file, line,
// group and key.
func LoadConfig(path string) (*Config, error) {
	data, err := config.ReadFile(path, config.MaxFileSize)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("msgconv config file %q does not exist", path)
		}
		return nil, fmt.Errorf("msgconv config file %q: %w", path, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses a converter configuration (see LoadConfig).
func ParseConfig(path string, data []byte) (*Config, error) {
	f, err := config.Parse(path, data)
	if err != nil {
		return nil, err
	}
	c := &Config{Path: path, Sensors: map[int]*Sensor{}, Places: map[int]*Place{}, Modules: map[int]*Module{}}
	for _, s := range f.Sections {
		kind, n, ok := groupOf(s.Name)
		if !ok {
			return nil, s.Errorf(path, "unknown group (want sensor<N>, place<N> or analytics<N>; N is the stream number)")
		}
		enable := true
		vals := map[string]config.Value{}
		for _, v := range s.Values {
			if v.Key == "enable" {
				if enable, err = v.Bool(); err != nil {
					return nil, err
				}
				continue
			}
			vals[v.Key] = v
		}
		if err := checkKeys(s, vals, kind); err != nil {
			return nil, err
		}
		if !enable {
			continue
		}
		str := func(k string) string { return vals[k].String() }
		switch kind {
		case "sensor":
			sn := &Sensor{ID: str("id"), Type: str("type"), Description: str("description")}
			if err := location(vals, "location", &sn.Location); err != nil {
				return nil, err
			}
			if err := coordinate(vals, "coordinate", &sn.Coordinate); err != nil {
				return nil, err
			}
			c.Sensors[n] = sn
		case "place":
			pl := &Place{ID: str("id"), Type: str("type"), Name: str("name"),
				SubFields: [3]string{str("place-sub-field1"), str("place-sub-field2"), str("place-sub-field3")}}
			if err := location(vals, "location", &pl.Location); err != nil {
				return nil, err
			}
			if err := coordinate(vals, "coordinate", &pl.Coordinate); err != nil {
				return nil, err
			}
			c.Places[n] = pl
		case "analytics":
			c.Modules[n] = &Module{ID: str("id"), Description: str("description"), Source: str("source"), Version: str("version")}
		}
	}
	return c, nil
}

func groupOf(name string) (kind string, n int, ok bool) {
	for _, k := range []string{"sensor", "place", "analytics"} {
		if rest, found := strings.CutPrefix(name, k); found {
			n, err := strconv.Atoi(rest)
			return k, n, err == nil && n >= 0
		}
	}
	return "", 0, false
}

var groupKeys = map[string][]string{
	"sensor":    {"id", "type", "description", "location", "coordinate"},
	"place":     {"id", "type", "name", "location", "coordinate", "place-sub-field1", "place-sub-field2", "place-sub-field3"},
	"analytics": {"id", "description", "source", "version"},
}

func checkKeys(s *config.Section, vals map[string]config.Value, kind string) error {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		known := false
		for _, a := range groupKeys[kind] {
			known = known || a == k
		}
		if !known {
			return vals[k].Errorf("unknown key (want enable, %s)", strings.Join(groupKeys[kind], ", "))
		}
	}
	return nil
}

func triple(vals map[string]config.Value, key string) ([]float64, bool, error) {
	v, ok := vals[key]
	if !ok {
		return nil, false, nil
	}
	fs, err := v.Floats()
	if err != nil {
		return nil, false, err
	}
	if len(fs) != 3 {
		return nil, false, v.Errorf("want 3 numbers separated by ';', got %d", len(fs))
	}
	return fs, true, nil
}

func location(vals map[string]config.Value, key string, l *Location) error {
	fs, ok, err := triple(vals, key)
	if ok {
		*l = Location{fs[0], fs[1], fs[2]}
	}
	return err
}

func coordinate(vals map[string]config.Value, key string, c *Coordinate) error {
	fs, ok, err := triple(vals, key)
	if ok {
		*c = Coordinate{fs[0], fs[1], fs[2]}
	}
	return err
}
