package publish

import (
	"context"
	"testing"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/engine"
)

// deepstream-test4's tail as written: nvmsgconv (its property names)
// turns the objects into messages, nvmsgbroker (its names: conn-str,
// proto-lib, topic) delivers exactly those; an nvmsgbroker without
// nvmsgconv upstream sends nothing, as in DeepStream.
func TestMsgConvAndBrokerSeparate(t *testing.T) {
	const frames, objects = 6, 3
	run := func(withConv bool) []*Message {
		t.Helper()
		g := engine.NewGraph("t", testKinds())
		if _, err := g.Add("testsrc", "src", element.Props{"num-buffers": frames, "objects": objects, "truth": true, "width": 64, "height": 48}); err != nil {
			t.Fatal(err)
		}
		chain := []string{"src"}
		if withConv {
			if _, err := g.Add("nvmsgconv", "conv", element.Props{"payload-type": 0, "msg2p-newapi": true, "frame-interval": 1, "comp-id": 2}); err != nil {
				t.Fatal(err)
			}
			chain = append(chain, "conv")
		}
		n, err := g.Add("nvmsgbroker", "broker", element.Props{"conn-str": "localhost;1883;ds-topic",
			"proto-lib": "/opt/nvidia/deepstream/deepstream/lib/libnvds_mqtt_proto.so", "sync": false})
		if err != nil {
			t.Fatal(err)
		}
		s := n.Elem.(*Sink)
		if s.kind != "mqtt" || s.opts.Topic != "ds-topic" {
			t.Errorf("broker %s topic %q, want mqtt ds-topic", s.kind, s.opts.Topic)
		}
		fb := &fakeBroker{}
		s.SetAdapter(func() (Adapter, error) { return fb, nil })
		for i := 1; i < len(chain)+1; i++ {
			to := "broker"
			if i < len(chain) {
				to = chain[i]
			}
			if err := g.Link(chain[i-1], to); err != nil {
				t.Fatal(err)
			}
		}
		r, err := engine.Start(context.Background(), g, func(element.Message) {})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Wait(); err != nil {
			t.Fatal(err)
		}
		return fb.got()
	}
	if got := run(true); len(got) != frames*objects || got[0].Kind != "object" {
		t.Errorf("%d messages through nvmsgconv ! nvmsgbroker, want %d objects", len(got), frames*objects)
	}
	if got := run(false); len(got) != 0 {
		t.Errorf("nvmsgbroker alone sent %d messages, want none", len(got))
	}
}
