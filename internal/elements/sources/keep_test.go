package sources

import (
	"errors"
	"testing"
	"time"

	"github.com/vidflow/vidflow/internal/gst"
)

// A kept pipeline stays open until release (the run's end or the stream's
// removal) or the limit, whichever comes first; release twice is harmless.
func TestKeeperClosesOnReleaseOrLimit(t *testing.T) {
	launch := func() *gst.Pipeline {
		pl, err := gst.Launch("fakesrc num-buffers=1 ! fakesink")
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	var k keeper
	a := launch()
	k.keep(a, time.Hour)
	if !k.kept() || a.Pause() != nil {
		t.Fatal("the kept pipeline is not open")
	}
	k.release()
	if k.kept() || !errors.Is(a.Pause(), gst.ErrClosed) {
		t.Fatal("release left the pipeline open")
	}
	k.release()
	b := launch()
	k.keep(b, 20*time.Millisecond)
	for deadline := time.Now().Add(5 * time.Second); k.kept() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if k.kept() || !errors.Is(b.Pause(), gst.ErrClosed) {
		t.Fatal("the limit did not close the kept pipeline")
	}
}

// Only a finished file stream decoded on the GPU is kept: the CPU path,
// looping files, live sources and smart recording close at once, as
// before.
func TestKeepsFinishedOnlyGPUFileStreams(t *testing.T) {
	pl, err := gst.Launch("fakesrc num-buffers=1 ! fakesink")
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	for _, c := range []struct {
		name string
		s    *source
		want bool
	}{
		{"CPU file", &source{watch: true}, false},
		{"device file", &source{watch: true, device: true}, true},
		{"cuda file", &source{cuda: true}, true},
		{"device, looping", &source{device: true, loop: true}, false},
		{"device, live", &source{device: true, live: true}, false},
		{"device, recording", &source{device: true, rec: &recorder{}}, false},
	} {
		st := &runState{source: c.s}
		if got := st.keepsFinished(pl); got != c.want {
			t.Errorf("%s: keeps %v, want %v", c.name, got, c.want)
		}
	}
}
