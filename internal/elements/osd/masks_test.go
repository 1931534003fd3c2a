package osd

import (
	"testing"

	"github.com/vidflow/vidflow/media"
)

// A frame's segmentation map is drawn over the whole frame and an
// object's instance mask over its box, in the class colours at half
// opacity; -1 and pixels under the mask's threshold stay as they were.
func TestMasks(t *testing.T) {
	const w, h = 8, 8
	s := media.PackedSurface(media.RGB, w, h, make([]byte, w*h*3))
	fm := &media.FrameMeta{Width: w, Height: h, User: map[string]any{
		media.SegmentationKey: &media.SegmentationMeta{Classes: 2, Width: 2, Height: 2, ClassMap: []int32{0, -1, -1, -1}},
	}}
	o := media.NewObject(1, "", 1, media.Rect{Left: 4, Top: 4, Width: 4, Height: 4})
	o.User = map[string]any{media.InstanceMaskKey: &media.InstanceMask{Width: 2, Height: 1, Data: []float32{0.2, 0.9}, Threshold: 0.5}}
	fm.Objects = []*media.ObjectMeta{o}
	opt := DefaultOptions()
	opt.Boxes, opt.Labels = false, false
	if err := NewRenderer(opt).Draw(&s, fm); err != nil {
		t.Fatal(err)
	}
	at := func(x, y int) [3]byte {
		i := y*s.Strides[0] + x*3
		return [3]byte{s.Data[i], s.Data[i+1], s.Data[i+2]}
	}
	half := func(c media.Color) [3]byte {
		p := toPaint(c)
		return [3]byte{blend(0, p.r, maskAlpha), blend(0, p.g, maskAlpha), blend(0, p.b, maskAlpha)}
	}
	for _, c := range []struct {
		x, y int
		want [3]byte
	}{
		{0, 0, half(ClassColor(0))}, {3, 3, half(ClassColor(0))}, // class 0's quarter
		{4, 0, [3]byte{}}, {0, 4, [3]byte{}}, // -1
		{4, 4, [3]byte{}}, // the mask's left half is under its threshold
		{6, 4, half(ClassColor(1))}, {7, 7, half(ClassColor(1))},
	} {
		if got := at(c.x, c.y); got != c.want {
			t.Errorf("(%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	// NoMasks leaves them out; a map smaller than it says is ignored.
	s2 := media.PackedSurface(media.RGB, w, h, make([]byte, w*h*3))
	opt.NoMasks = true
	fm.User[media.SegmentationKey] = &media.SegmentationMeta{Width: 4, Height: 4, ClassMap: []int32{0}}
	if err := NewRenderer(opt).Draw(&s2, fm); err != nil {
		t.Fatal(err)
	}
	opt.NoMasks = false
	o.User = nil
	if err := NewRenderer(opt).Draw(&s2, fm); err != nil {
		t.Fatal(err)
	}
	for _, b := range s2.Data {
		if b != 0 {
			t.Fatal("drew with NoMasks or from a short map")
		}
	}
}
