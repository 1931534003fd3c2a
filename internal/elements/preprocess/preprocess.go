// Package preprocess holds nvdspreprocess: it reads DeepStream's
// preprocess config and gives each frame the regions (ROIs) its groups
// name for its source, for the nvinfer elements of target-unique-ids that
// read them (input-tensor-meta: 1). DeepStream's element also prepares the
// tensors (scaling, normalisation) with a custom library; here nvinfer
// prepares each region with its own config's settings, so the tensor keys
// are accepted with no effect.
package preprocess

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/config"
	"github.com/vidflow/vidflow/media"
)

// Register adds nvdspreprocess to r.
func Register(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind: "nvdspreprocess",
		Doc: "Gives each frame the regions of interest of a DeepStream preprocess config ([group-N]: src-ids, process-on-roi, " +
			"roi-params-src-N) for the nvinfer elements of its target-unique-ids that set input-tensor-meta: they infer on those regions.",
		Role: element.RoleTransform,
		Props: []element.PropSpec{
			{Name: "config-file", Type: element.String, Doc: "the preprocess config (INI or YAML)"},
			{Name: "enable", Type: element.Bool, Default: true, Doc: "false passes frames through untouched"},
			{Name: "unique-id", Type: element.Int, Default: 0, Doc: "overrides the config's unique-id"},
			{Name: "process-on-frame", Type: element.Bool, Default: true, Doc: "overrides the config's: false works on objects (for a secondary nvinfer)"},
			{Name: "gpu-id", Type: element.Int, Default: 0, Ignored: true},
		},
		New: newElement,
	})
}

// Group is a [group-N] of the config.
type Group struct {
	SrcIDs []int // -1: every source
	OnROI  bool  // else the whole frame
	ROIs   map[int][]media.Rect
	// Object mode (process-on-frame 0): which objects.
	ClassIDs   []int // nil: any class
	AllObjects bool  // process-on-all-objects; else only objects inside the ROIs (with process-on-roi)
	MinW, MinH int
	MaxW, MaxH int // 0: no limit
}

// Config is a preprocess config.
type Config struct {
	Enable         bool
	UniqueID       int
	TargetIDs      []int
	OnObjects      bool // process-on-frame 0: the objects of OperateOnGIEID (the groups choose which)
	OperateOnGIEID int  // -1: any
	Groups         []Group
	Ignored        []string // keys accepted with no effect
	Unknown        []string // warnings
}

// propertyKeys are [property]'s keys; false: accepted with no effect
// (tensor preparation is nvinfer's here).
var propertyKeys = map[string]bool{"enable": true, "target-unique-ids": true, "unique-id": true, "process-on-frame": true,
	"gpu-id": false, "network-input-order": false, "maintain-aspect-ratio": false, "symmetric-padding": false,
	"processing-width": false, "processing-height": false, "scaling-buf-pool-size": false, "tensor-buf-pool-size": false,
	"network-input-shape": false, "network-color-format": false, "tensor-data-type": false, "tensor-name": false,
	"scaling-pool-memory-type": false, "scaling-pool-compute-hw": false, "scaling-filter": false, "custom-lib-path": false,
	"custom-tensor-preparation-function": false, "operate-on-gie-id": true}

var groupKeys = map[string]bool{"src-ids": true, "process-on-roi": true, "custom-input-transformation-function": false,
	"draw-roi": false, "roi-color": false, "operate-on-class-ids": true, "input-object-min-width": true,
	"input-object-min-height": true, "input-object-max-width": true, "input-object-max-height": true,
	"process-on-all-objects": true}

// LoadConfig reads a preprocess config file.
func LoadConfig(path string) (*Config, error) {
	data, err := config.ReadFile(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("nvdspreprocess config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig is LoadConfig of data, the contents of path.
func ParseConfig(path string, data []byte) (*Config, error) {
	f, err := config.Parse(path, data)
	if err != nil {
		return nil, err
	}
	c := &Config{Enable: true, OperateOnGIEID: -1}
	u := &config.Unknown{Strict: config.StrictFromEnv()}
	if f.Section("property") == nil {
		return nil, f.Errorf("no [property] group: not an nvdspreprocess config")
	}
	for _, s := range f.Sections {
		switch {
		case s.Name == "property":
			if err := c.property(s, u); err != nil {
				return nil, err
			}
		case strings.HasPrefix(s.Name, "group-"):
			g, err := c.group(s, u)
			if err != nil {
				return nil, err
			}
			c.Groups = append(c.Groups, g)
		case s.Name == "user-configs": // the custom library's
			c.Ignored = append(c.Ignored, "[user-configs]: the custom library's settings")
		default:
			if err := u.Group(path, s, "property, group-<N>, user-configs"); err != nil {
				return nil, err
			}
		}
	}
	c.Unknown = u.Warnings
	return c, nil
}

func (c *Config) property(s *config.Section, u *config.Unknown) error {
	for _, v := range s.Values {
		used, ok := propertyKeys[v.Key]
		if !ok {
			if err := u.Key(v, config.Keys(propertyKeys)); err != nil {
				return err
			}
			continue
		}
		if !used {
			c.Ignored = append(c.Ignored, v.Key)
			continue
		}
		var err error
		switch v.Key {
		case "enable":
			c.Enable, err = v.Bool()
		case "unique-id":
			c.UniqueID, err = v.Int()
		case "target-unique-ids":
			c.TargetIDs, err = v.Ints()
		case "process-on-frame":
			var on bool
			on, err = v.Bool()
			c.OnObjects = !on
		case "operate-on-gie-id":
			c.OperateOnGIEID, err = v.Int()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) group(s *config.Section, u *config.Unknown) (Group, error) {
	g := Group{SrcIDs: []int{-1}, ROIs: map[int][]media.Rect{}}
	for _, v := range s.Values {
		key := v.Key
		if strings.HasPrefix(key, "roi-params-src-") {
			id, err := strconv.Atoi(strings.TrimPrefix(key, "roi-params-src-"))
			if err != nil || id < 0 {
				return g, v.Errorf("want roi-params-src-<source id>")
			}
			vals, err := v.Ints()
			if err != nil {
				return g, err
			}
			if len(vals)%4 != 0 {
				return g, v.Errorf("%d values: want left;top;width;height for each region", len(vals))
			}
			for i := 0; i < len(vals); i += 4 {
				if vals[i+2] <= 0 || vals[i+3] <= 0 || vals[i] < 0 || vals[i+1] < 0 {
					return g, v.Errorf("region %d (%v) has no area", i/4, vals[i:i+4])
				}
				g.ROIs[id] = append(g.ROIs[id], media.Rect{Left: float32(vals[i]), Top: float32(vals[i+1]),
					Width: float32(vals[i+2]), Height: float32(vals[i+3])})
			}
			continue
		}
		used, ok := groupKeys[key]
		switch {
		case !ok:
			if err := u.Key(v, append(config.Keys(groupKeys), "roi-params-src-<N>")); err != nil {
				return g, err
			}
		case !used:
			c.Ignored = append(c.Ignored, s.Name+"/"+key)
		case key == "src-ids":
			ids, err := v.Ints()
			if err != nil {
				return g, err
			}
			g.SrcIDs = ids
		default:
			if err := g.set(key, v); err != nil {
				return g, err
			}
		}
	}
	return g, nil
}

func (g *Group) set(key string, v config.Value) (err error) {
	switch key {
	case "process-on-roi":
		g.OnROI, err = v.Bool()
	case "process-on-all-objects":
		g.AllObjects, err = v.Bool()
	case "operate-on-class-ids":
		g.ClassIDs, err = v.Ints()
	case "input-object-min-width":
		g.MinW, err = v.Int()
	case "input-object-min-height":
		g.MinH, err = v.Int()
	case "input-object-max-width":
		g.MaxW, err = v.Int()
	case "input-object-max-height":
		g.MaxH, err = v.Int()
	}
	return err
}

// objects are the frame's objects a group of its source takes (object
// mode): of operate-on-gie-id, the group's classes and sizes, and inside
// one of its ROIs unless process-on-all-objects.
func (c *Config) objects(fm *media.FrameMeta) ([]*media.ObjectMeta, bool) {
	var out []*media.ObjectMeta
	found := false
	for _, g := range c.Groups {
		if !slices.Contains(g.SrcIDs, fm.SourceID) && !slices.Contains(g.SrcIDs, -1) {
			continue
		}
		found = true
		for _, o := range fm.Objects {
			if g.takes(o, c.OperateOnGIEID, g.ROIs[fm.SourceID]) && !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out, found
}

func (g *Group) takes(o *media.ObjectMeta, gie int, rois []media.Rect) bool {
	r := o.Rect
	switch {
	case gie >= 0 && o.ComponentID != gie:
		return false
	case g.ClassIDs != nil && !slices.Contains(g.ClassIDs, o.ClassID):
		return false
	case r.Width < float32(g.MinW), r.Height < float32(g.MinH):
		return false
	case g.MaxW > 0 && r.Width > float32(g.MaxW), g.MaxH > 0 && r.Height > float32(g.MaxH):
		return false
	case g.AllObjects || !g.OnROI:
		return true
	}
	cx, cy := r.Left+r.Width/2, r.Top+r.Height/2
	for _, q := range rois {
		if cx >= q.Left && cx < q.Right() && cy >= q.Top && cy < q.Bottom() {
			return true
		}
	}
	return false
}

// rois are the regions for a frame of source id, and whether a group
// takes the source at all.
func (c *Config) rois(id, w, h int) ([]media.Rect, bool) {
	var out []media.Rect
	found := false
	for _, g := range c.Groups {
		if !slices.Contains(g.SrcIDs, id) && !slices.Contains(g.SrcIDs, -1) {
			continue
		}
		found = true
		if !g.OnROI {
			out = append(out, media.Rect{Width: float32(w), Height: float32(h)})
			continue
		}
		out = append(out, g.ROIs[id]...)
	}
	return out, found
}

type preprocessElement struct {
	cfg  *Config // as loaded
	file string
	// cur is the config in force: cfg, or a copy with regions replaced
	// while running (runtime.go); mu serialises the replacements.
	cur atomic.Pointer[Config]
	mu  sync.Mutex
}

func newElement(c *element.Config) (element.Element, error) {
	path := c.String("config-file")
	if path == "" {
		return nil, fmt.Errorf("property \"config-file\" is not set: give the nvdspreprocess config file")
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if c.IsSet("enable") {
		cfg.Enable = c.Bool("enable")
	}
	if c.IsSet("unique-id") {
		cfg.UniqueID = c.Int("unique-id")
	}
	if c.IsSet("process-on-frame") {
		cfg.OnObjects = !c.Bool("process-on-frame")
	}
	e := &preprocessElement{cfg: cfg, file: path}
	e.cur.Store(cfg)
	return e, nil
}

func (e *preprocessElement) Run(ctx context.Context, p element.Ports) error {
	for _, w := range e.cfg.Unknown {
		p.Warn("%s", w)
	}
	if len(e.cfg.Ignored) > 0 {
		p.Warn("nvdspreprocess: no effect here (nvinfer prepares each region itself): %s", strings.Join(e.cfg.Ignored, ", "))
	}
	m := &element.Map{Fn: func(_ context.Context, b *media.Buffer) error {
		cfg := e.cur.Load()
		if !cfg.Enable {
			return nil
		}
		for _, fm := range b.Meta().Frames {
			pm := &media.PreprocessMeta{UniqueID: cfg.UniqueID, TargetIDs: cfg.TargetIDs}
			ok := false
			if cfg.OnObjects {
				pm.Objects, ok = cfg.objects(fm)
			} else {
				pm.ROIs, ok = cfg.rois(fm.SourceID, fm.Width, fm.Height)
			}
			if !ok {
				continue
			}
			if fm.User == nil {
				fm.User = map[string]any{}
			}
			fm.User[media.PreprocessKey] = pm
		}
		return nil
	}}
	return m.Run(ctx, p)
}
