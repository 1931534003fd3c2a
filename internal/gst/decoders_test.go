package gst

import (
	"slices"
	"testing"
)

func TestFactories(t *testing.T) {
	if !HasFactory("fakesink") || HasFactory("no-such-element") {
		t.Error("HasFactory")
	}
	r, ok := FactoryRank("videotestsrc")
	if !ok {
		t.Fatal("no videotestsrc")
	}
	if !SetFactoryRank("videotestsrc", r+1) {
		t.Fatal("SetFactoryRank")
	}
	if r2, _ := FactoryRank("videotestsrc"); r2 != r+1 {
		t.Errorf("rank %d after setting %d", r2, r+1)
	}
	SetFactoryRank("videotestsrc", r)
	if _, ok := FactoryRank("no-such-element"); ok || SetFactoryRank("no-such-element", 1) {
		t.Error("a rank for a missing factory")
	}
	if f := PluginFactories("coreelements", ""); !slices.Contains(f, "fakesink") || !slices.Contains(f, "queue") {
		t.Errorf("coreelements: %v", f)
	}
	if f := PluginFactories("coreelements", "Sink"); !slices.Contains(f, "fakesink") || slices.Contains(f, "fakesrc") {
		t.Errorf("coreelements sinks: %v", f)
	}
	if f := PluginFactories("no-such-plugin", ""); f != nil {
		t.Errorf("no-such-plugin: %v", f)
	}
}

func TestWatchDecoders(t *testing.T) {
	p := launch(t, "videotestsrc num-buffers=2 ! jpegenc ! decodebin name=d ! appsink name=out sync=false")
	if n, err := p.WatchDecoders(AnyDecoder); err != nil || n != 1 {
		t.Fatalf("watched %d bins: %v", n, err)
	}
	s := sink(t, p, "out")
	if err := p.Play(); err != nil {
		t.Fatal(err)
	}
	smp, err := s.Pull(-1)
	if err != nil {
		t.Fatal(err)
	}
	smp.Release()
	d := p.Decoders()
	if d.Factory != "jpegdec" || d.Plugin != "jpeg" || d.Refused || d.Caps == "" {
		t.Errorf("%+v", d)
	}
	if d := launch(t, "fakesrc ! fakesink").Decoders(); d != (DecoderInfo{}) {
		t.Errorf("unwatched: %+v", d)
	}
}
