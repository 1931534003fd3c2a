package publish

import (
	"context"
	"fmt"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/msgconv"
	"github.com/vidflow/vidflow/media"
)

// MessagesKey is the FrameMeta.User key under which nvmsgconv leaves the
// messages it made of the frame (a []msgconv.Message) for nvmsgbroker,
// as DeepStream's nvmsgconv attaches NVDS_PAYLOAD_META.
const MessagesKey = "nvmsgconv-payloads"

// registerSplit adds DeepStream's nvmsgconv and nvmsgbroker as the
// separate elements deepstream-test4 links (tee ! queue ! nvmsgconv !
// nvmsgbroker), with their own property names: nvmsgconv turns each
// frame's metadata into messages in the frame's metadata, nvmsgbroker
// delivers them (nvmsgbrokersinkbin does both in one element).
func registerSplit(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind: "nvmsgconv",
		Doc: "Turns each frame's metadata into DeepStream event messages (full or minimal JSON) left in the frame's metadata " +
			"for an nvmsgbroker downstream (DeepStream's NVDS_PAYLOAD_META).",
		Role: element.RoleTransform,
		Props: []element.PropSpec{
			{Name: "config", Type: element.String, Default: "", Doc: "converter config: [sensorN], [placeN], [analyticsN] (INI or YAML)"},
			{Name: "payload-type", Type: element.Int, Default: 0, Doc: "0: full JSON, one message per object or event; 1: minimal JSON, one per frame"},
			{Name: "frame-interval", Type: element.Int, Default: 30, Doc: "objects are reported every n-th frame of a stream; events as they happen"},
			{Name: "msg2p-newapi", Type: element.Bool, Default: false, Doc: "true: report the frames' objects; false (DeepStream's default): only events that probes attach (deepstream-test4) and analytics"},
			{Name: "msg2p-lib", Type: element.String, Default: "", Ignored: true, Doc: "custom payloads come from probes' events"},
			{Name: "comp-id", Type: element.Int, Default: 0, Ignored: true},
			{Name: "debug-payload-dir", Type: element.String, Default: "", Ignored: true},
			{Name: "multiple-payloads", Type: element.Bool, Default: false, Ignored: true},
			{Name: "dummy-payload", Type: element.Bool, Default: false, Ignored: true},
		},
		New: newMsgConv,
	})
	r.MustRegister(element.KindSpec{
		Kind: "nvmsgbroker",
		Doc: "Delivers the messages an upstream nvmsgconv made to NATS JetStream, Kafka, MQTT or Redis Streams " +
			"(as nvmsgbrokersinkbin does: bounded outbox, retries, optional spool); without nvmsgconv upstream it sends nothing, as in DeepStream.",
		Role: element.RoleSink,
		Props: []element.PropSpec{
			{Name: "conn-str", Type: element.String, Default: "", Doc: "as nvmsgbrokersinkbin's msg-broker-conn-str: a URL, or DeepStream's host;port[;topic] with proto-lib"},
			{Name: "proto-lib", Type: element.String, Default: "", Doc: "read to interpret a host;port connection string (libnvds_mqtt_proto.so → MQTT)"},
			{Name: "config", Type: element.String, Default: "", Doc: "DeepStream adapter config ([message-broker]: username, password, client-id, TLS files)"},
			{Name: "topic", Type: element.String, Default: "vidflow", Doc: "the topic; unset, the connection string's third part, else vidflow"},
			{Name: "comp-id", Type: element.Int, Default: 0, Ignored: true},
			{Name: "sync", Type: element.Bool, Default: false, Ignored: true},
			{Name: "async", Type: element.Bool, Default: false, Ignored: true},
			{Name: "new-api", Type: element.Bool, Default: false, Ignored: true},
			{Name: "sleep-time", Type: element.Int, Default: 0, Ignored: true},
			{Name: "qos", Type: element.Bool, Default: false, Ignored: true},
		},
		New: func(c *element.Config) (element.Element, error) { return newBroker(r, c) },
	})
}

type msgConvElement struct {
	opts msgconv.Options
}

func newMsgConv(c *element.Config) (element.Element, error) {
	o := msgconv.Options{Payload: msgconv.PayloadType(c.Int("payload-type")), FrameInterval: c.Int("frame-interval"),
		ObjectsOff: !c.Bool("msg2p-newapi")}
	if p := c.String("config"); p != "" {
		var err error
		if o.Config, err = msgconv.LoadConfig(p); err != nil {
			return nil, err
		}
	}
	if _, err := msgconv.New(o); err != nil {
		return nil, fmt.Errorf("property \"payload-type\": %w", err)
	}
	return &msgConvElement{opts: o}, nil
}

// Run converts every frame, leaving its messages in FrameMeta.User.
func (e *msgConvElement) Run(ctx context.Context, p element.Ports) error {
	conv, err := msgconv.New(e.opts)
	if err != nil {
		return err
	}
	m := &element.Map{
		Fn: func(_ context.Context, b *media.Buffer) error {
			for _, fm := range b.Meta().Frames {
				msgs, err := conv.Convert(fm, nil)
				if err != nil {
					p.Warn("%v", err)
				}
				if len(msgs) == 0 {
					continue
				}
				if fm.User == nil {
					fm.User = map[string]any{}
				}
				prev, _ := fm.User[MessagesKey].([]msgconv.Message)
				fm.User[MessagesKey] = append(prev, msgs...)
			}
			return nil
		},
		OnEvent: func(it element.Item) {
			if it.Event == element.EventStreamEOS {
				conv.EndStream(it.Source)
			}
		},
	}
	return m.Run(ctx, p)
}

// newBroker makes nvmsgbroker: nvmsgbrokersinkbin's sink under
// nvmsgbroker's property names, taking its messages from the metadata.
func newBroker(r *element.Registry, c *element.Config) (element.Element, error) {
	spec, err := r.Lookup("nvmsgbrokersinkbin")
	if err != nil {
		return nil, err
	}
	props := element.Props{"msg-broker-conn-str": c.String("conn-str"), "msg-broker-proto-lib": c.String("proto-lib"),
		"msg-broker-config": c.String("config")}
	if c.IsSet("topic") {
		props["topic"] = c.String("topic")
	}
	sc, err := element.NewConfig(spec, c.Element, props)
	if err != nil {
		return nil, err
	}
	e, err := newSink(sc)
	if err != nil {
		return nil, err
	}
	s := e.(*Sink)
	s.fromMeta = true
	return s, nil
}

// metaMessages appends the messages nvmsgconv left in the frame.
func metaMessages(fm *media.FrameMeta, dst []msgconv.Message) []msgconv.Message {
	msgs, _ := fm.User[MessagesKey].([]msgconv.Message)
	return append(dst, msgs...)
}
