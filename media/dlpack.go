package media

import (
	"fmt"
	"unsafe"

	"github.com/vidflow/vidflow/internal/dlpack"
)

var dlpackCodes = map[DType][2]uint8{
	Uint8: {dlpack.CodeUInt, 8}, Int8: {dlpack.CodeInt, 8}, Int32: {dlpack.CodeInt, 32},
	Int64: {dlpack.CodeInt, 64}, Float32: {dlpack.CodeFloat, 32}, Float64: {dlpack.CodeFloat, 64},
}

// DLPack exports the tensor as a *DLManagedTensor without copying (a GPU
// tensor as kDLCUDA device memory). The memory stays valid (Go memory
// pinned, frames and GPU memory referenced) until the consumer calls the
// managed tensor's deleter, which it must do once.
func (t *Tensor) DLPack() unsafe.Pointer {
	c := dlpackCodes[t.dtype]
	var release func()
	if t.owner != nil {
		t.owner.Ref()
		release = t.owner.Unref
	}
	if t.dev != nil {
		return dlpack.ExportDevice(t.dev, dlpack.DeviceCUDA, t.devID, c[0], c[1], t.shape, t.strides, release)
	}
	var p unsafe.Pointer
	if len(t.data) > 0 {
		p = unsafe.Pointer(&t.data[0])
	}
	return dlpack.Export(p, c[0], c[1], t.shape, t.strides, release)
}

// FromDLPack takes a *DLManagedTensor from another library without copying.
// The tensor owns it from then on: Release calls its deleter (after the
// last Buffer made from it by Wrap is released too). On error the caller
// still owns p.
func FromDLPack(p unsafe.Pointer) (*Tensor, error) {
	im, err := dlpack.Import(p)
	if err != nil {
		return nil, err
	}
	dt := DTypeInvalid
	for d, c := range dlpackCodes {
		if c == [2]uint8{im.Code, im.Bits} {
			dt = d
		}
	}
	if dt == DTypeInvalid {
		names := [...]string{"int", "uint", "float"}
		return nil, fmt.Errorf("DLPack: unsupported dtype %s%d (vidflow takes uint8, int8, int32, int64, float32, float64)", names[im.Code], im.Bits)
	}
	t := &Tensor{dtype: dt, shape: im.Shape, strides: im.Strides, owner: newHolder(im.Free)}
	if im.CUDA {
		if im.Data == nil {
			im.Free()
			return nil, fmt.Errorf("DLPack: CUDA tensor with no data")
		}
		t.dev, t.devID = im.Data, im.DeviceID
		return t, nil
	}
	if n := t.span(); n > 0 {
		t.data = unsafe.Slice((*byte)(im.Data), n)
	}
	return t, nil
}
