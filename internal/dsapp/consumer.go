package dsapp

import (
	"strings"

	"github.com/vidflow/vidflow/internal/c2d"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/internal/msgconv"
)

// Consumer is an enabled [message-consumer%d]: cloud-to-device messages,
// whose recording commands start and stop the smart recordings of the
// sources with smart-record set (deepstream-app's
// start_cloud_to_device_messaging).
type Consumer struct {
	Group      string
	Line       int
	ProtoLib   string
	ConnStr    string
	ConfigFile string // the adapter config (cfg_kafka.txt); "" for none
	Topics     []string
	// Sensors maps the commands' sensor.id to a source's index (Sources),
	// from sensor-list-file's enabled [sensor<N>] groups (id=...); nil
	// without one: sensor.id is then the index itself ("0", "1", ...), as
	// deepstream-app reads it.
	Sensors map[string]int
}

// readMessageConsumers reads the enabled [message-consumer%d] groups.
func readMessageConsumers(a *App, f *config.File) error {
	for _, s := range groups(f, "message-consumer") {
		k := &keys{a: a, f: f, s: s}
		on, err := k.enabled(false)
		if err != nil || !on {
			if err != nil {
				return err
			}
			continue
		}
		c := Consumer{Group: s.Name, Line: s.Line}
		if v, ok := k.get("proto-lib"); ok {
			c.ProtoLib = v.String()
		}
		v, ok := k.get("conn-str")
		if !ok {
			return s.Errorf(sectionFile(f, s), "needs conn-str (the Kafka broker: host;port, or kafka://host:port)")
		}
		c.ConnStr = v.String()
		if v, ok := k.get("config-file"); ok && v.String() != "" {
			if c.ConfigFile, err = path(v); err != nil {
				return err
			}
		}
		tv, ok := k.get("subscribe-topic-list")
		if ok {
			for _, t := range strings.Split(tv.String(), ";") {
				if t = strings.TrimSpace(t); t != "" {
					c.Topics = append(c.Topics, t)
				}
			}
		}
		if len(c.Topics) == 0 {
			return s.Errorf(sectionFile(f, s), "needs subscribe-topic-list (topic1;topic2: at least one topic)")
		}
		if err := c2d.Check(c2d.Config{ConnStr: c.ConnStr, ProtoLib: c.ProtoLib, Topics: c.Topics}); err != nil {
			return v.Errorf("%v", err)
		}
		if v, ok := k.get("sensor-list-file"); ok && v.String() != "" {
			if c.Sensors, err = sensorList(v); err != nil {
				return err
			}
		}
		if err := k.check("enable", "proto-lib", "conn-str", "config-file", "subscribe-topic-list", "sensor-list-file"); err != nil {
			return err
		}
		a.Consumers = append(a.Consumers, c)
	}
	return nil
}

// sensorList reads a sensor-list-file: a message converter config whose
// enabled [sensor<N>] groups' ids name stream N.
func sensorList(v config.Value) (map[string]int, error) {
	p, err := path(v)
	if err != nil {
		return nil, err
	}
	mc, err := msgconv.LoadConfig(p)
	if err != nil {
		return nil, v.Errorf("%v", err)
	}
	out := map[string]int{}
	for n, s := range mc.Sensors {
		if s.ID == "" {
			continue
		}
		if m, dup := out[s.ID]; dup {
			return nil, v.Errorf("%s: [sensor%d] and [sensor%d] have the same id %q", p, m, n, s.ID)
		}
		out[s.ID] = n
	}
	if len(out) == 0 {
		return nil, v.Errorf("%s: no enabled [sensor<N>] group with an id", p)
	}
	return out, nil
}
