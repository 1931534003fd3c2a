package sources

import (
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/element"
)

// Every testsrc property a client can send is bounded, so that one
// testsrc:// URI cannot exhaust memory; the error names the property.
func TestTestsrcBounded(t *testing.T) {
	r := element.NewRegistry()
	registerTestsrc(r)
	spec, err := r.Lookup("testsrc")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		props element.Props
		field string
	}{
		{element.Props{"objects": 200000000}, `"objects"`},
		{element.Props{"objects": -1}, `"objects"`},
		{element.Props{"pool-size": 1 << 30}, `"pool-size"`},
		{element.Props{"width": 8192, "height": 8192}, `"width"`},
		{element.Props{"width": 100000}, `"width"`},
		{element.Props{"height": 8}, `"height"`},
		{element.Props{"framerate": 1e9}, `"framerate"`},
		{element.Props{"num-buffers": -2}, `"num-buffers"`},
	} {
		cfg, err := element.NewConfig(spec, "t", c.props)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = newTestSrc(cfg)
		if err == nil || !strings.Contains(err.Error(), "property "+c.field) {
			t.Errorf("%v: %v, want an error naming property %s", c.props, err, c.field)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%v took %v", c.props, time.Since(start))
		}
	}
	cfg, _ := element.NewConfig(spec, "t", element.Props{"width": 1920, "height": 1080, "objects": 100, "pool-size": 8})
	if _, err := newTestSrc(cfg); err != nil {
		t.Errorf("1920x1080, 100 objects: %v", err)
	}
}
