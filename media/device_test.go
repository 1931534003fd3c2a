package media

import (
	"strings"
	"testing"
	"unsafe"
)

// Device frames need no GPU to be described: checked planes, a kDLCUDA
// view at the frame's pitch, host frames unchanged by HostSurface.
func TestDeviceFrameViews(t *testing.T) {
	var cell [128]byte
	fake := unsafe.Pointer(&cell[0]) // stands for device memory: never read here
	if _, err := NewDeviceFrame(RGB, 4, 2, DevicePlanes{Ptrs: [3]unsafe.Pointer{fake}, Pitches: [3]int{8}}, nil); err == nil || !strings.Contains(err.Error(), "pitch") {
		t.Errorf("a pitch too small: %v", err)
	}
	if _, err := NewDeviceFrame(NV12, 4, 2, DevicePlanes{Ptrs: [3]unsafe.Pointer{fake}, Pitches: [3]int{4}}, nil); err == nil {
		t.Error("NV12 without its UV plane accepted")
	}
	f, err := NewDeviceFrame(RGBA, 4, 2, DevicePlanes{Device: 1, Ptrs: [3]unsafe.Pointer{fake}, Pitches: [3]int{64}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch([]*Frame{f}, nil)
	v, err := b.Extract(0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Device() != "cuda:1" || v.DevicePointer() != fake || v.Strides()[0] != 64 || v.Layout() != "HWC" {
		t.Errorf("view on %s at %p, strides %v", v.Device(), v.DevicePointer(), v.Strides())
	}
	if !f.OnDevice() || f.Device != "cuda:1" {
		t.Errorf("device frame on %q", f.Device)
	}
	b.Release()
	h := NewFrame(PackedSurface(RGB, 2, 2, make([]byte, 12)), nil)
	if s, err := h.HostSurface(); err != nil || s != &h.Surface {
		t.Errorf("HostSurface of a host frame: %v", err)
	}
	h.Unref()
	if BT709.Resolve(100) != BT709 || MatrixAuto.Resolve(576) != BT601 || MatrixAuto.Resolve(1080) != BT709 || MatrixAuto.Resolve(2160) != BT2020 {
		t.Error("matrix defaults are not GStreamer's")
	}
}
