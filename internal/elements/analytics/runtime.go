package analytics

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/vidflow/vidflow/element"
)

const roiGroup = "roi-filtering-stream-"

// SetProperty replaces a stream's ROI-filtering regions while the element
// runs, as the REST API's roi/update does on a pipeline with nvdsanalytics
// and no nvdspreprocess: "roi-filtering-stream-<N>" with the group's
// roi-<label> lines ("roi-RF=295;643;579;634;642;913;337;966", one a
// line, in the config's coordinates: config-width × config-height, or
// frame pixels without them). A label the stream had keeps its
// inverse-roi and class-id; a new one takes every class; labels not given
// are removed. The next frame uses them; the file is left as it is (a
// reload reads it again).
func (e *Element) SetProperty(name string, value any) error {
	name = element.NormalizeName(name)
	id, err := strconv.Atoi(strings.TrimPrefix(name, roiGroup))
	if !strings.HasPrefix(name, roiGroup) || err != nil || id < 0 {
		return fmt.Errorf("property %q cannot change while running (%s<stream id> can; reload-config rereads the file)", name, roiGroup)
	}
	text, ok := value.(string)
	if !ok {
		return fmt.Errorf("%s: want roi-<label>=x1;y1;x2;y2;... lines, got %T", name, value)
	}
	e.mu.Lock() // one replacement at a time, none lost to another
	defer e.mu.Unlock()
	old := e.cur.Load()
	var kept map[string]ROIRule
	if r := old.Streams[id]; r != nil {
		kept = map[string]ROIRule{}
		for _, q := range r.ROIs {
			kept[q.Label] = q
		}
	}
	var rois []ROIRule
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		q, err := roiLine(strings.TrimSpace(line))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if k, ok := kept[q.Label]; ok {
			q.Inverse, q.Classes = k.Inverse, k.Classes
		}
		rois = append(rois, q)
	}
	cfg := *old
	cfg.Streams = maps.Clone(old.Streams)
	if cfg.Streams == nil {
		cfg.Streams = map[int]*StreamRules{}
	}
	r := StreamRules{}
	if o := old.Streams[id]; o != nil {
		r = *o
	}
	r.ROIs = rois
	cfg.Streams[id] = &r
	e.cur.Store(&cfg)
	return nil
}

// Property reads back roi-filtering-stream-<N>: the stream's regions in
// force as roi-<label> lines.
func (e *Element) Property(name string) (any, error) {
	name = element.NormalizeName(name)
	id, err := strconv.Atoi(strings.TrimPrefix(name, roiGroup))
	if !strings.HasPrefix(name, roiGroup) || err != nil {
		return nil, fmt.Errorf("property %q cannot be read while running (%s<stream id> can)", name, roiGroup)
	}
	var lines []string
	if r := e.cur.Load().Streams[id]; r != nil {
		for _, q := range r.ROIs {
			var nums []string
			for _, p := range q.Polygon {
				nums = append(nums, strconv.FormatFloat(p.X, 'g', -1, 64), strconv.FormatFloat(p.Y, 'g', -1, 64))
			}
			lines = append(lines, "roi-"+q.Label+"="+strings.Join(nums, ";"))
		}
	}
	return strings.Join(lines, "\n"), nil
}

// roiLine reads "roi-<label>=x1;y1;x2;y2;x3;y3...".
func roiLine(line string) (ROIRule, error) {
	key, val, ok := strings.Cut(line, "=")
	label := strings.TrimPrefix(strings.TrimSpace(key), "roi-")
	if !ok || !strings.HasPrefix(strings.TrimSpace(key), "roi-") || label == "" {
		return ROIRule{}, fmt.Errorf("%q is not roi-<label>=x1;y1;x2;y2;...", line)
	}
	var nums []float64
	for _, f := range strings.Split(strings.Trim(strings.TrimSpace(val), ";"), ";") {
		n, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || n < 0 {
			return ROIRule{}, fmt.Errorf("roi-%s: %q is not a coordinate (want x1;y1;x2;y2;..., not negative)", label, f)
		}
		nums = append(nums, n)
	}
	if len(nums)%2 != 0 || len(nums) < 6 {
		return ROIRule{}, fmt.Errorf("roi-%s: a polygon needs at least 3 points (6 numbers x1;y1;x2;y2;x3;y3...), got %d numbers", label, len(nums))
	}
	q := ROIRule{Label: label}
	for i := 0; i < len(nums); i += 2 {
		q.Polygon = append(q.Polygon, Point{X: nums[i], Y: nums[i+1]})
	}
	return q, nil
}
