package publish

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
)

// BrokerConfig is what vidflow takes from a DeepStream adapter config
// (nvmsgbroker's config / msg-broker-config: cfg_mqtt.txt, cfg_kafka.txt,
// ... with a [message-broker] group). Keys that have no effect here are
// in Ignored, keys no DeepStream adapter has in Unknown (both as
// warnings: DeepStream's adapters skip what they do not know).
type BrokerConfig struct {
	Path               string
	Username, Password string
	ClientID           string
	TLS                bool
	CAFile             string
	CertFile, KeyFile  string
	Ignored            []string
	Unknown            []string
}

// brokerKeys are the [message-broker] keys of DeepStream's adapters
// (Kafka, MQTT, Redis, AMQP, Azure): set applies those vidflow uses; nil
// marks one accepted with no effect, with why.
var brokerKeys = map[string]struct {
	set func(b *BrokerConfig, v string)
	why string
}{
	"username":  {set: func(b *BrokerConfig, v string) { b.Username = v }},
	"password":  {set: func(b *BrokerConfig, v string) { b.Password = v }},
	"client-id": {set: func(b *BrokerConfig, v string) { b.ClientID = v }},
	"enable-tls": {set: func(b *BrokerConfig, v string) {
		b.TLS = v == "1" || strings.EqualFold(v, "true")
	}},
	"tls-cafile":            {set: func(b *BrokerConfig, v string) { b.CAFile = v }},
	"tls-certfile":          {set: func(b *BrokerConfig, v string) { b.CertFile = v }},
	"tls-keyfile":           {set: func(b *BrokerConfig, v string) { b.KeyFile = v }},
	"tls-capath":            {why: "give the CA file as tls-cafile"},
	"partition-key":         {why: "Kafka records are keyed by the sensor id (sensor.id, DeepStream's sample value) always"},
	"share-connection":      {why: "each sink has its own connection"},
	"proto-cfg":             {why: "librdkafka settings: vidflow's Kafka client is franz-go"},
	"producer-proto-cfg":    {why: "librdkafka settings: vidflow's Kafka client is franz-go"},
	"consumer-proto-cfg":    {why: "librdkafka settings: vidflow's Kafka consumer (message-consumer) is franz-go"},
	"consumer-group-id":     {why: "a message consumer reads every partition without a group: each vidflow process sees every command"},
	"loop-timeout":          {why: "mosquitto's loop: vidflow's MQTT client is Eclipse Paho"},
	"keep-alive":            {why: "MQTT keep-alive is 10 s"},
	"set-threaded":          {why: "mosquitto's threading"},
	"subscribe-topic":       {why: "the consumer's topics are its subscribe-topic-list"},
	"hostname":              {why: "the host comes from the connection string"},
	"port":                  {why: "the port comes from the connection string"},
	"payloadkey":            {why: "Redis entries have the fields id, sensor, kind and payload"},
	"consumergroup":         {why: "vidflow consumes Kafka only"},
	"consumername":          {why: "vidflow consumes Kafka only"},
	"streamsize":            {why: "use the redis-maxlen property"},
	"exchange":              {why: "AMQP is not supported"},
	"topic":                 {why: "the topic is the sink's topic property (or the connection string's)"},
	"amqp-framesize":        {why: "AMQP is not supported"},
	"amqp-heartbeat":        {why: "AMQP is not supported"},
	"connection_str":        {why: "Azure IoT is not supported"},
	"shared_access_key":     {why: "Azure IoT is not supported"},
	"custom_msg_properties": {why: "Azure IoT is not supported"},
}

// ReadBrokerConfig reads a DeepStream adapter config file.
func ReadBrokerConfig(path string) (*BrokerConfig, error) {
	data, err := config.ReadFile(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("msg-broker-config: %w", err)
	}
	return ParseBrokerConfig(path, data)
}

// ParseBrokerConfig is ReadBrokerConfig of data, the contents of path.
func ParseBrokerConfig(path string, data []byte) (*BrokerConfig, error) {
	f, err := config.Parse(path, data)
	if err != nil {
		return nil, err
	}
	b := &BrokerConfig{Path: path}
	known := config.Keys(brokerKeys)
	found := false
	for _, s := range f.Sections {
		if s.Name != "message-broker" {
			b.Unknown = append(b.Unknown, s.Errorf(path, "unknown group (DeepStream's adapters read [message-broker])").Error()+": ignored")
			continue
		}
		found = true
		for _, v := range s.Values {
			k, ok := brokerKeys[v.Key]
			switch {
			case !ok:
				b.Unknown = append(b.Unknown, v.Errorf("unknown key%s", config.Suggest(v.Key, known)).Error()+": ignored")
			case k.set == nil:
				b.Ignored = append(b.Ignored, fmt.Sprintf("%s: no effect in vidflow (%s)", v.Key, k.why))
			default:
				k.set(b, v.String())
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: no [message-broker] group: not a DeepStream adapter config", path)
	}
	sort.Strings(b.Ignored)
	return b, nil
}

// BrokerKeyDoc is one [message-broker] key for the compatibility table:
// Why is empty for the keys vidflow uses.
type BrokerKeyDoc struct{ Key, Why string }

// BrokerKeyDocs lists the adapter config keys vidflow knows, sorted.
func BrokerKeyDocs() []BrokerKeyDoc {
	out := make([]BrokerKeyDoc, 0, len(brokerKeys))
	for k, v := range brokerKeys {
		out = append(out, BrokerKeyDoc{Key: k, Why: v.why})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
