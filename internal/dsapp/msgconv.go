package dsapp

import (
	"github.com/vidflow/vidflow/internal/config"
)

// readMessageConverter reads [message-converter]: deepstream-app's
// converter of event metadata into payloads, for the message broker sinks
// (whose own converter disable-msgconv=1 turns off). vidflow's type-6 sink
// converts and publishes in one element, so the group's settings go to
// every type-6 sink that does not set them itself.
func readMessageConverter(a *App, f *config.File) error {
	s := f.Section("message-converter")
	if s == nil {
		return nil
	}
	k := &keys{a: a, f: f, s: s, ignored: set("msg-conv-msg2p-lib", "msg-conv-comp-id", "debug-payload-dir",
		"multiple-payloads", "msg-conv-dummy-payload")}
	on, err := k.enabled(false)
	if err != nil || !on {
		return err
	}
	props := map[string]any{}
	if v, ok := k.get("msg-conv-config"); ok {
		p, err := path(v)
		if err != nil {
			return err
		}
		props["msg-conv-config"] = p
	}
	for _, key := range []string{"msg-conv-payload-type", "msg-conv-frame-interval"} {
		if _, ok := k.get(key); ok {
			n, err := k.int(key, 0)
			if err != nil {
				return err
			}
			props[key] = n
		}
	}
	if v, ok := k.get("msg-conv-msg2p-new-api"); ok {
		b, err := v.Bool()
		if err != nil {
			return err
		}
		props["msg-conv-msg2p-new-api"] = b
	}
	if err := k.check("enable", "msg-conv-config", "msg-conv-payload-type", "msg-conv-frame-interval", "msg-conv-msg2p-new-api"); err != nil {
		return err
	}
	found := false
	for i := range a.Sinks {
		sk := &a.Sinks[i]
		if sk.Type != 6 {
			continue
		}
		found = true
		for key, v := range props {
			if _, set := sk.Props[key]; !set {
				sk.Props[key] = v
			}
		}
	}
	if !found {
		return s.Errorf(f.Path, "[message-converter] converts for a message broker sink, and no [sink%%d] of type=6 is enabled")
	}
	return nil
}
