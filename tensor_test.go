package vidflow_test

import (
	"context"
	"strings"
	"testing"
	"unsafe"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/internal/dlpack"
	"github.com/vidflow/vidflow/internal/dlpack/dlpacktest"
	"github.com/vidflow/vidflow/media"
)

func TestNewTensorErrors(t *testing.T) {
	if _, err := media.NewTensor([]float32{1, 2, 3}, []int{2, 2}, ""); err == nil || !strings.Contains(err.Error(), "shape [2 2] needs 4 elements, data has 3") {
		t.Errorf("shape mismatch: %v", err)
	}
	if _, err := media.NewTensor([]uint8{1, 2}, []int{1, 2}, "HWC"); err == nil || !strings.Contains(err.Error(), `layout "HWC" names 3 axes`) {
		t.Errorf("layout mismatch: %v", err)
	}
}

func TestTensorDLPackRoundTripNoCopy(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, 6}
	tn, err := media.NewTensor(data, []int{2, 3}, "HW")
	if err != nil {
		t.Fatal(err)
	}
	p := tn.DLPack()
	back, err := media.FromDLPack(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.DType() != media.Float32 || len(back.Shape()) != 2 || back.Shape()[0] != 2 || back.Shape()[1] != 3 {
		t.Fatalf("round trip gave %v %v", back.DType(), back.Shape())
	}
	got, err := media.Data[float32](back)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &data[0] {
		t.Error("round trip copied the data")
	}
	got[4] = 42 // writes through to the original
	if data[4] != 42 {
		t.Error("write through the imported tensor did not reach the original")
	}
	if dlpack.Exported() != 1 {
		t.Errorf("%d tensors exported, want 1", dlpack.Exported())
	}
	back.Release()
	back.Release() // harmless
	if dlpack.Exported() != 0 {
		t.Errorf("deleter not called: %d exported", dlpack.Exported())
	}
}

func TestDLPackToCConsumer(t *testing.T) {
	data := make([]uint8, 1000)
	var want uint64
	for i := range data {
		data[i] = uint8(i * 7)
		want += uint64(data[i])
	}
	tn, _ := media.NewTensor(data, []int{10, 100}, "")
	sum, ptr, n := dlpacktest.Consume(tn.DLPack())
	if sum != want || n != 1000 {
		t.Errorf("C consumer summed %d over %d elements, want %d over 1000", sum, n, want)
	}
	if ptr != uintptr(unsafe.Pointer(&data[0])) {
		t.Error("C consumer saw a copy, not the Go memory")
	}
	if dlpack.Exported() != 0 {
		t.Errorf("C consumer's deleter call left %d exported", dlpack.Exported())
	}
}

func TestDLPackFromCProducer(t *testing.T) {
	before := dlpacktest.Deleted()
	tn, err := media.FromDLPack(dlpacktest.Produce(64*48*3, dlpack.CodeUInt, 8, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	b := tn.Bytes()
	if len(b) != 64*48*3 || b[250] != 250 || b[251] != 0 {
		t.Fatalf("imported bytes wrong: len %d", len(b))
	}
	// The C memory becomes a frame; it lives until the tensor, its view and
	// the buffer are all released.
	hwc, err := tn.Reshape([]int{48, 64, 3}, "HWC")
	if err != nil {
		t.Fatal(err)
	}
	buf, err := hwc.Wrap(media.RGB)
	if err != nil {
		t.Fatal(err)
	}
	tn.Release()
	hwc.Release()
	if dlpacktest.Deleted() != before {
		t.Fatal("deleter called while a buffer still uses the memory")
	}
	frame, _ := buf.Extract(0)
	if &frame.Bytes()[0] != &b[0] {
		t.Error("Wrap copied the C memory")
	}
	buf.Release()
	if dlpacktest.Deleted() != before+1 {
		t.Errorf("releasing the last user did not call the C deleter")
	}
}

func TestDLPackRejectsUnsupported(t *testing.T) {
	cases := []struct {
		code, bits uint8
		lanes      uint16
		device     int
		want       string
	}{
		{dlpack.CodeFloat, 32, 1, 4, "unsupported device OpenCL (4)"},
		{5, 64, 1, 1, "unsupported dtype complex64"},
		{dlpack.CodeUInt, 16, 1, 1, "unsupported dtype uint16"},
		{dlpack.CodeFloat, 32, 4, 1, "4 lanes"},
	}
	for _, c := range cases {
		before := dlpacktest.Deleted()
		p := dlpacktest.Produce(64, c.code, c.bits, c.lanes, c.device)
		_, err := media.FromDLPack(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromDLPack(code %d bits %d lanes %d device %d): %v, want %q", c.code, c.bits, c.lanes, c.device, err, c.want)
		}
		if dlpacktest.Deleted() != before {
			t.Error("a rejected tensor was deleted; the caller still owns it")
		}
		dlpacktest.Consume(p) // the caller frees it
	}
	if _, err := media.FromDLPack(nil); err == nil {
		t.Error("FromDLPack(nil): no error")
	}
}

// A frame extracted in a retriever and exported through DLPack outlives
// the buffer until the consumer's deleter runs, without a copy.
func TestExtractedFrameLivesUntilDeleter(t *testing.T) {
	var exported []unsafe.Pointer
	var addrs []uintptr
	r := retrieverFunc(func(b *media.Buffer) error {
		tn, err := b.Extract(0)
		if err != nil {
			return err
		}
		if s := tn.Shape(); len(s) != 3 || s[0] != 48 || s[1] != 64 || s[2] != 3 || tn.Layout() != "HWC" {
			t.Errorf("Extract shape %v layout %q, want [48 64 3] HWC", s, tn.Layout())
		}
		exported = append(exported, tn.DLPack())
		addrs = append(addrs, uintptr(unsafe.Pointer(&tn.Bytes()[0])))
		return nil
	})
	err := vidflow.NewFlow(vidflow.NewPipeline("x")).Capture([]string{"testsrc://?num-buffers=5&width=64&height=48"}).Retrieve(r).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if media.LiveFrames() != 5 {
		t.Errorf("%d frames alive, want the 5 held by DLPack consumers", media.LiveFrames())
	}
	for i, p := range exported {
		sum, ptr, _ := dlpacktest.Consume(p)
		if ptr != addrs[i] || sum == 0 {
			t.Errorf("frame %d: consumer saw %x (sum %d), frame was at %x", i, ptr, sum, addrs[i])
		}
	}
	if media.LiveFrames() != 0 || dlpack.Exported() != 0 {
		t.Errorf("after the deleters: %d frames alive, %d exported", media.LiveFrames(), dlpack.Exported())
	}
}

func TestTensorWrapInjectsWithoutCopy(t *testing.T) {
	pixels := make([]uint8, 32*16*3)
	for i := range pixels {
		pixels[i] = uint8(i)
	}
	tn, _ := media.NewTensor(pixels, []int{16, 32, 3}, "HWC")
	if _, err := tn.Wrap(media.RGBA); err == nil || !strings.Contains(err.Error(), "want [H W 4]") {
		t.Errorf("Wrap(RGBA) of a 3-channel tensor: %v", err)
	}
	buf, err := tn.Wrap(media.RGB)
	if err != nil {
		t.Fatal(err)
	}
	got, err := buf.Extract(0)
	if err != nil {
		t.Fatal(err)
	}
	if &got.Bytes()[0] != &pixels[0] {
		t.Error("Wrap copied the pixels")
	}
	c := got.Clone()
	if &c.Bytes()[0] == &pixels[0] || c.Bytes()[100] != 100 {
		t.Error("Clone did not copy")
	}
	buf.Release()
	if media.LiveBuffers() != 0 || media.LiveFrames() != 0 {
		t.Error("wrapped buffer leaked")
	}
}

// A CUDA tensor from another library (kDLCUDA) is taken as a GPU tensor:
// its memory is not read on the host, it goes back out as kDLCUDA without
// a copy, and the producer's deleter runs once every user is done.
func TestDLPackCUDATensor(t *testing.T) {
	before := dlpacktest.Deleted()
	p := dlpacktest.Produce(64, dlpack.CodeFloat, 32, 1, dlpack.DeviceCUDA)
	tn, err := media.FromDLPack(p)
	if err != nil {
		t.Fatal(err)
	}
	if tn.Device() != "cuda:0" || tn.Bytes() != nil || tn.DevicePointer() == nil {
		t.Fatalf("device %s, %d host bytes", tn.Device(), len(tn.Bytes()))
	}
	if _, err := media.Data[float32](tn); err == nil || !strings.Contains(err.Error(), "cuda:0") {
		t.Errorf("host view of a GPU tensor: %v", err)
	}
	if _, err := tn.Wrap(media.RGB); err == nil {
		t.Error("a GPU tensor was wrapped as a frame")
	}
	out := tn.DLPack()
	if typ, id := dlpacktest.Device(out); typ != dlpack.DeviceCUDA || id != 0 {
		t.Errorf("exported as device %d:%d, want CUDA", typ, id)
	}
	tn.Release()
	if dlpacktest.Deleted() != before {
		t.Fatal("deleter ran while a consumer holds the tensor")
	}
	dlpacktest.Consume(out) // the consumer's deleter: the last user
	if dlpacktest.Deleted() != before+1 {
		t.Error("the producer's deleter did not run")
	}
}
