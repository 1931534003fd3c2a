// Package analytics holds the analytics element (DeepStream's
// nvdsanalytics): ROI filtering, overcrowding, line crossing and direction
// detection on the objects of each stream, configured by DeepStream's
// nvdsanalytics INI file (or the same groups and keys in YAML), with
// results as metadata (media.AnalyticsFrameMeta, media.AnalyticsObjInfo under User["analytics"])
// and drawings for the OSD. Rules can be reloaded while the pipeline runs.
//
// Every rule looks at an object's bottom-centre (left + width/2, top +
// height), as DeepStream does. Line crossing and direction detection need
// tracked objects (TrackID >= 0); ROI filtering and overcrowding work on
// any object.
package analytics

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// Register adds this package's element kinds to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvdsanalytics",
		Aliases: []string{"analytics"},
		Doc: "ROI filtering, overcrowding, line crossing and direction detection per stream, configured by a " +
			"DeepStream nvdsanalytics config file (INI or YAML); results in FrameMeta.User[\"analytics\"] and " +
			"ObjectMeta.User[\"analytics\"], drawn by the OSD when osd-mode asks. Reloadable while running.",
		Role: element.RoleTransform,
		Props: []element.PropSpec{
			{Name: "config-file", Type: element.String, Default: "", Doc: "nvdsanalytics config file (INI, or YAML by extension)"},
			{Name: "enable", Type: element.Bool, Default: true, Doc: "false passes frames through untouched"},
			{Name: "unique-id", Type: element.Int, Default: 0, Doc: "id put into the results"},
			{Name: "config-watch-interval", Type: element.Duration, Default: time.Duration(0), Unit: time.Millisecond,
				Doc: "when > 0, check the config file this often (ms or a duration) and reload it when it changed"},
			{Name: "gpu-id", Type: element.Int, Default: 0, Ignored: true},
		},
		New: newElement,
	})
}

// Element is the analytics element. Reload replaces its rules while it runs.
type Element struct {
	enable   bool
	uniqueID int
	watch    time.Duration

	mu   sync.Mutex
	path string
	cur  atomic.Pointer[Config]
}

func newElement(c *element.Config) (element.Element, error) {
	path := c.String("config-file")
	if path == "" {
		return nil, fmt.Errorf("property \"config-file\" is required")
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	e := &Element{enable: c.Bool("enable"), uniqueID: c.Int("unique-id"), watch: c.Duration("config-watch-interval"), path: path}
	e.cur.Store(cfg)
	return e, nil
}

// Config is the configuration in use (or that the next frame will use).
func (e *Element) Config() *Config { return e.cur.Load() }

// Reload reads a configuration (path "" rereads the current file) and, if
// it is valid, applies it from the next frame on; an invalid one is an
// error naming file, line, group and key, and the rules in use stay.
func (e *Element) Reload(path string) error {
	e.mu.Lock()
	if path == "" {
		path = e.path
	}
	e.mu.Unlock()
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.path = path
	e.mu.Unlock()
	e.cur.Store(cfg)
	return nil
}

// Run analyses every frame; a stream's state is dropped at its end.
func (e *Element) Run(ctx context.Context, p element.Ports) error {
	if !e.enable {
		return (&element.Map{}).Run(ctx, p)
	}
	an := New(e.cur.Load(), e.uniqueID)
	if e.watch > 0 {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.watchFile(wctx, p)
		}()
		defer func() { cancel(); <-done }()
	}
	m := &element.Map{
		Fn: func(_ context.Context, b *media.Buffer) error {
			if c := e.cur.Load(); c != an.Config() {
				an.SetConfig(c)
			}
			for _, fm := range b.Meta().Frames {
				an.Process(fm)
			}
			return nil
		},
		OnEvent: func(it element.Item) {
			if it.Event == element.EventStreamEOS {
				an.EndStream(it.Source)
			}
		},
	}
	return m.Run(ctx, p)
}

// watchFile reloads the config file when its size or time changes.
func (e *Element) watchFile(ctx context.Context, p element.Ports) {
	stamp := func() (string, time.Time, int64) {
		e.mu.Lock()
		path := e.path
		e.mu.Unlock()
		st, err := os.Stat(path)
		if err != nil {
			return path, time.Time{}, -1
		}
		return path, st.ModTime(), st.Size()
	}
	path, mt, size := stamp()
	t := time.NewTicker(e.watch)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p2, mt2, size2 := stamp()
		if p2 == path && mt2.Equal(mt) && size2 == size {
			continue
		}
		path, mt, size = p2, mt2, size2
		if size < 0 {
			continue
		}
		if err := e.Reload(path); err != nil {
			p.Warn("config reload failed, the rules in use stay: %v", err)
		}
	}
}
