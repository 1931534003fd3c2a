package vidflow

import (
	// Packages osd and tiler register the on-screen display (nvdsosd) and
	// the tiler (nvmultistreamtiler).
	_ "github.com/vidflow/vidflow/internal/elements/osd"
	_ "github.com/vidflow/vidflow/internal/elements/tiler"
)

// OSD draws the metadata on the frames: each object's box in its class
// colour with its label, track id and confidence, and the DisplayMeta that
// probes added (texts, rectangles, lines, arrows, circles), clipped to the
// frame, with TrueType fonts (DeepStream's nvdsosd; properties
// display-text, display-bbox, display-clock, font, font-size,
// border-width, ...). Frames must be RGB, RGBA or GRAY8, as Batch makes
// them. Render and Encode put an OSD before their sink by default; call
// OSD to draw for Retrieve or Publish, or to choose where.
//
// The OSD draws in place. Frames shared by the branches of a Fork are
// copied first (copy-on-write, the default), so an OSD on one branch
// leaves the others' pictures undrawn.
func (f *Flow) OSD(opts ...Option) *Flow {
	name, ok := f.step("osd", "nvdsosd", "osd", collect(opts))
	if !ok {
		return f.next(nil, false)
	}
	return f.next([]string{name}, f.batched)
}

// Tile composes each batch into one frame, a grid with stream k in tile k,
// scaling every frame and its objects' boxes and display elements into its
// tile (DeepStream's nvmultistreamtiler; Width and Height size the output,
// default 1920×1080, TileGrid the grid, default about square). The
// result is a batch of one frame holding all the objects, which keep
// their metadata but no longer say which stream they came from: tile last,
// before OSD and the sink. Render and Encode tile batches of several
// streams by default.
func (f *Flow) Tile(opts ...Option) *Flow {
	name, ok := f.step("tile", "nvmultistreamtiler", "tiler", collect(opts))
	if !ok {
		return f.next(nil, false)
	}
	out := f.next([]string{name}, f.batched)
	out.size = 1
	return out
}

// TileGrid sets Tile's rows and columns (0 chooses from the number of streams).
func TileGrid(rows, columns int) Option {
	return optionFunc(func(o *options) { o.props["rows"], o.props["columns"] = rows, columns })
}
