package preprocess

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

// SetProperty replaces a source's regions while the element runs, as
// DeepStream's roi/update does: "roi-params-src-<N>" with the config
// key's value ("left;top;width;height;..." or a []media.Rect). Every
// group that takes source N with process-on-roi=1 gets them, from the
// next batch on (the config is replaced whole, never changed under the
// running element).
func (e *preprocessElement) SetProperty(name string, value any) error {
	name = element.NormalizeName(name)
	id, err := strconv.Atoi(strings.TrimPrefix(name, "roi-params-src-"))
	if !strings.HasPrefix(name, "roi-params-src-") || err != nil || id < 0 {
		return fmt.Errorf("property %q cannot change while running (roi-params-src-<source id> can)", name)
	}
	rois, err := regions(value)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cfg := *e.cur.Load()
	cfg.Groups = slices.Clone(cfg.Groups)
	found := false
	for i, g := range cfg.Groups {
		if !g.OnROI || (!slices.Contains(g.SrcIDs, id) && !slices.Contains(g.SrcIDs, -1)) {
			continue
		}
		g.ROIs = maps.Clone(g.ROIs)
		g.ROIs[id] = rois
		cfg.Groups[i] = g
		found = true
	}
	if !found {
		return fmt.Errorf("%s: no [group-N] of %s takes source %d with process-on-roi=1, so it has no regions to replace", name, e.file, id)
	}
	e.cur.Store(&cfg)
	return nil
}

// Property reads back roi-params-src-<N>: the source's regions in force,
// as the config writes them.
func (e *preprocessElement) Property(name string) (any, error) {
	name = element.NormalizeName(name)
	id, err := strconv.Atoi(strings.TrimPrefix(name, "roi-params-src-"))
	if !strings.HasPrefix(name, "roi-params-src-") || err != nil {
		return nil, fmt.Errorf("property %q cannot be read while running (roi-params-src-<source id> can)", name)
	}
	for _, g := range e.cur.Load().Groups {
		if g.OnROI && (slices.Contains(g.SrcIDs, id) || slices.Contains(g.SrcIDs, -1)) {
			var parts []string
			for _, r := range g.ROIs[id] {
				parts = append(parts, fmt.Sprintf("%g;%g;%g;%g", r.Left, r.Top, r.Width, r.Height))
			}
			return strings.Join(parts, ";"), nil
		}
	}
	return "", nil
}

// regions reads a roi-params-src value.
func regions(value any) ([]media.Rect, error) {
	switch v := value.(type) {
	case []media.Rect:
		for i, r := range v {
			if r.Left < 0 || r.Top < 0 || r.Width <= 0 || r.Height <= 0 {
				return nil, fmt.Errorf("region %d (%v) has no area", i, r)
			}
		}
		return slices.Clone(v), nil
	case string:
		var vals []int
		for _, f := range strings.Split(strings.Trim(v, "; "), ";") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return nil, fmt.Errorf("%q: want left;top;width;height for each region (whole numbers)", v)
			}
			vals = append(vals, n)
		}
		if len(vals)%4 != 0 {
			return nil, fmt.Errorf("%d values: want left;top;width;height for each region", len(vals))
		}
		var out []media.Rect
		for i := 0; i < len(vals); i += 4 {
			out = append(out, media.Rect{Left: float32(vals[i]), Top: float32(vals[i+1]), Width: float32(vals[i+2]), Height: float32(vals[i+3])})
		}
		return regions(out)
	}
	return nil, fmt.Errorf("want \"left;top;width;height;...\" or []media.Rect, got %T", value)
}
