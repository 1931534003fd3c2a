package gpu

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Without a GPU, Load says why, and nothing that needs one pretends to work.
func TestNoGPUIsAClearError(t *testing.T) {
	if Load() == nil {
		t.Skip("this machine has a CUDA GPU")
	}
	err := Load()
	if !errors.Is(err, ErrNoGPU) {
		t.Fatalf("Load: %v, want ErrNoGPU", err)
	}
	if !strings.Contains(err.Error(), "CUDA") {
		t.Errorf("Load: %v: want the cause named", err)
	}
	if Devices() != 0 {
		t.Errorf("Devices = %d", Devices())
	}
	if _, err := Alloc(0, 16); !errors.Is(err, ErrNoGPU) {
		t.Errorf("Alloc: %v", err)
	}
	if _, err := AllocHost(16); !errors.Is(err, ErrNoGPU) {
		t.Errorf("AllocHost: %v", err)
	}
	if _, err := OpenSession(SessionConfig{Model: "m.onnx"}); err == nil {
		t.Error("OpenSession without a GPU succeeded")
	}
}

// On a GPU: bytes go to the device and come back unchanged, a wrong device
// is named, and every allocation is freed.
func TestDeviceRoundTrip(t *testing.T) {
	if err := Load(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	if err := CheckDevice(Devices()); err == nil || !strings.Contains(err.Error(), "gpu-id") {
		t.Errorf("CheckDevice(%d): %v", Devices(), err)
	}
	info, err := Info(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(info)
	d0, h0 := Allocations()
	const n = 1 << 20
	h, err := AllocHost(n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range h.Bytes {
		h.Bytes[i] = byte(i * 7)
	}
	d, err := Alloc(0, n)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	back := make([]byte, n)
	if err := s.Upload(d, 0, h.Bytes); err != nil {
		t.Fatal(err)
	}
	if err := s.Download(back, d, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, h.Bytes) {
		t.Error("bytes changed on the round trip")
	}
	if err := s.Upload(d, 1, h.Bytes); err == nil {
		t.Error("an overrunning upload was accepted")
	}
	if _, err := Alloc(0, 1<<50); err == nil || !strings.Contains(err.Error(), "out of device memory") {
		t.Errorf("Alloc(1 PiB): %v, want out of device memory", err)
	}
	s.Close()
	d.Free()
	h.Free()
	if dn, hn := Allocations(); dn != d0 || hn != h0 {
		t.Errorf("allocations %d device, %d host after freeing, want %d, %d", dn, hn, d0, h0)
	}
}
