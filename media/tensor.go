package media

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/vidflow/vidflow/internal/gpu"
)

// DType is a tensor's element type.
type DType int

// Element types.
const (
	DTypeInvalid DType = iota
	Uint8
	Int8
	Int32
	Int64
	Float32
	Float64
)

var dtypeNames = [...]string{"invalid", "uint8", "int8", "int32", "int64", "float32", "float64"}
var dtypeSizes = [...]int{0, 1, 1, 4, 8, 4, 8}

func (d DType) String() string {
	if d >= 0 && int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Size is the size of one element in bytes.
func (d DType) Size() int {
	if d >= 0 && int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

// Element is the set of Go types a tensor can hold.
type Element interface {
	uint8 | int8 | int32 | int64 | float32 | float64
}

func dtypeOf[T Element]() DType {
	var z T
	switch any(z).(type) {
	case uint8:
		return Uint8
	case int8:
		return Int8
	case int32:
		return Int32
	case int64:
		return Int64
	case float32:
		return Float32
	}
	return Float64
}

// refOwner keeps a tensor's memory alive: a frame, or an imported DLPack
// tensor's holder.
type refOwner interface {
	Ref()
	Unref()
}

// Tensor is an n-dimensional array of one element type on one device. Its
// memory is Go memory (NewTensor), a frame's pixels (Buffer.Extract), a
// producer's memory (FromDLPack, on the CPU or a CUDA GPU) or GPU memory
// (NewDeviceTensor: inference outputs on a GPU). Strides are in elements.
type Tensor struct {
	dtype    DType
	shape    []int
	strides  []int
	layout   string
	data     []byte         // host memory
	dev      unsafe.Pointer // CUDA device memory (data is nil)
	devID    int
	owner    refOwner
	released atomic.Bool
}

// NewDeviceTensor makes a tensor over CUDA device memory of GPU device,
// compact row-major. free, if not nil, is called when the last user
// (Release, DLPack consumers) is done with it.
func NewDeviceTensor(dtype DType, ptr unsafe.Pointer, device int, shape []int, layout string, free func()) (*Tensor, error) {
	if dtype.Size() == 0 || ptr == nil {
		return nil, fmt.Errorf("NewDeviceTensor: invalid dtype %v or nil memory", dtype)
	}
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("NewDeviceTensor: negative dimension %d at axis %d", d, i)
		}
	}
	if layout != "" && len(layout) != len(shape) {
		return nil, fmt.Errorf("NewDeviceTensor: layout %q names %d axes, shape %v has %d", layout, len(layout), shape, len(shape))
	}
	t := &Tensor{dtype: dtype, shape: append([]int(nil), shape...), strides: compactStrides(shape), layout: layout, dev: ptr, devID: device}
	if free != nil {
		t.owner = newHolder(free)
	}
	return t, nil
}

// DevicePointer is the CUDA device memory of a GPU tensor (nil on the CPU).
func (t *Tensor) DevicePointer() unsafe.Pointer { return t.dev }

// NewTensor makes a tensor over data without copying it. shape's product
// must equal len(data); layout names the axes ("HWC", "NCHW") or is empty.
func NewTensor[T Element](data []T, shape []int, layout string) (*Tensor, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("NewTensor: negative dimension %d at axis %d", d, i)
		}
		n *= d
	}
	if n != len(data) {
		return nil, fmt.Errorf("NewTensor: shape %v needs %d elements, data has %d", shape, n, len(data))
	}
	if layout != "" && len(layout) != len(shape) {
		return nil, fmt.Errorf("NewTensor: layout %q names %d axes, shape %v has %d", layout, len(layout), shape, len(shape))
	}
	dt := dtypeOf[T]()
	var b []byte
	if len(data) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), len(data)*dt.Size())
	}
	return &Tensor{dtype: dt, shape: append([]int(nil), shape...), strides: compactStrides(shape), layout: layout, data: b}, nil
}

// NewTensorOf wraps raw bytes as a tensor of the given type and shape.
func NewTensorOf(dtype DType, data []byte, shape []int, layout string) (*Tensor, error) {
	if dtype.Size() == 0 {
		return nil, fmt.Errorf("NewTensorOf: invalid dtype %v", dtype)
	}
	n := dtype.Size()
	for _, d := range shape {
		n *= d
	}
	if n != len(data) {
		return nil, fmt.Errorf("NewTensorOf: %v shape %v needs %d bytes, data has %d", dtype, shape, n, len(data))
	}
	return &Tensor{dtype: dtype, shape: append([]int(nil), shape...), strides: compactStrides(shape), layout: layout, data: data}, nil
}

func compactStrides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// Shape returns the dimensions.
func (t *Tensor) Shape() []int { return append([]int(nil), t.shape...) }

// Strides returns the strides, in elements.
func (t *Tensor) Strides() []int { return append([]int(nil), t.strides...) }

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Layout returns the axis names given when the tensor was made ("" if none).
func (t *Tensor) Layout() string { return t.layout }

// Device is where the tensor's memory is: "cpu", or "cuda:N" for GPU N.
func (t *Tensor) Device() string {
	if t.dev != nil {
		return fmt.Sprintf("cuda:%d", t.devID)
	}
	return "cpu"
}

// Bytes returns the tensor's host memory, from its first element to its
// last, without copying; nil for a GPU tensor (Clone copies it to the host).
func (t *Tensor) Bytes() []byte { return t.data }

// Len is the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// Contiguous reports whether elements are laid out row-major without gaps.
func (t *Tensor) Contiguous() bool {
	want := compactStrides(t.shape)
	for i := range want {
		if t.shape[i] > 1 && t.strides[i] != want[i] {
			return false
		}
	}
	return true
}

// span is the byte length from the first to one past the last element.
func (t *Tensor) span() int {
	if t.Len() == 0 {
		return 0
	}
	last := 0
	for i, d := range t.shape {
		last += (d - 1) * t.strides[i]
	}
	return (last + 1) * t.dtype.Size()
}

// Data returns the elements of a contiguous tensor of type T without copying.
func Data[T Element](t *Tensor) ([]T, error) {
	if dt := dtypeOf[T](); dt != t.dtype {
		return nil, fmt.Errorf("tensor of %v read as %v", t.dtype, dt)
	}
	if !t.Contiguous() {
		return nil, fmt.Errorf("tensor with strides %v is not contiguous; Clone it first", t.strides)
	}
	if t.dev != nil {
		return nil, fmt.Errorf("tensor is on %s: Clone copies it to the host; DLPack hands it to GPU libraries", t.Device())
	}
	if len(t.data) == 0 {
		return nil, nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&t.data[0])), t.Len()), nil
}

// Clone returns a contiguous deep copy in Go memory; a GPU tensor is
// copied to the host (nil if that copy fails: see CloneErr).
func (t *Tensor) Clone() *Tensor {
	c, _ := t.CloneErr()
	return c
}

// CloneErr is Clone that reports a failed copy from the GPU.
func (t *Tensor) CloneErr() (*Tensor, error) {
	c := &Tensor{dtype: t.dtype, shape: t.Shape(), strides: compactStrides(t.shape), layout: t.layout}
	c.data = make([]byte, t.Len()*t.dtype.Size())
	if t.dev != nil {
		if es := t.dtype.Size(); !t.Contiguous() && len(t.shape) == 3 && t.strides[2] == 1 && t.strides[1] == t.shape[2] {
			// Rows at a pitch (a device frame's view): one 2D copy.
			row := t.shape[1] * t.shape[2] * es
			if err := gpu.CopyToHost2D(c.data, row, t.dev, t.strides[0]*es, row, t.shape[0]); err != nil {
				return nil, fmt.Errorf("tensor on %s: %v", t.Device(), err)
			}
			return c, nil
		}
		if !t.Contiguous() {
			return nil, fmt.Errorf("tensor on %s with strides %v: only contiguous GPU tensors and rows at a pitch are copied", t.Device(), t.strides)
		}
		// The CUDA runtime is opened on first use; a device tensor exists
		// only when it was.
		if err := gpu.CopyToHost(c.data, t.dev); err != nil {
			return nil, fmt.Errorf("tensor on %s: %v", t.Device(), err)
		}
		return c, nil
	}
	if t.Contiguous() {
		copy(c.data, t.data)
		return c, nil
	}
	es := t.dtype.Size()
	idx := make([]int, len(t.shape))
	for o := 0; o < len(c.data); o += es {
		off := 0
		for i, v := range idx {
			off += v * t.strides[i]
		}
		copy(c.data[o:o+es], t.data[off*es:off*es+es])
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < t.shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return c, nil
}

// Release gives back memory the tensor holds a reference to (an imported
// DLPack tensor's producer is called back). Views from Buffer.Extract and
// tensors over Go memory need no Release; calling it is harmless.
func (t *Tensor) Release() {
	if t.released.Swap(true) {
		return
	}
	if h, ok := t.owner.(*holder); ok {
		h.Unref()
	}
}

// holder counts the users of an imported tensor's memory and calls free
// when the last is done.
type holder struct {
	refs atomic.Int32
	free func()
}

func newHolder(free func()) *holder {
	h := &holder{free: free}
	h.refs.Store(1)
	return h
}

func (h *holder) Ref() { h.refs.Add(1) }
func (h *holder) Unref() {
	if h.refs.Add(-1) == 0 {
		h.free()
	}
}

// tensorFrameOwner releases the tensor memory a wrapped frame borrowed.
type tensorFrameOwner struct{ owner refOwner }

func (o tensorFrameOwner) ReleaseFrame(*Frame) { o.owner.Unref() }

// Wrap makes a one-frame Buffer of the given format over the tensor's
// memory, without copying: uint8 [H, W, C] (C = 3 for RGB, 4 for RGBA, 1
// or absent for GRAY8) or [H*3/2, W] for I420 and NV12. The buffer keeps
// the memory alive as long as it lives.
func (t *Tensor) Wrap(format ColorFormat) (*Buffer, error) {
	if t.dev != nil {
		return nil, fmt.Errorf("Wrap(%v): tensor is on %s; frames are host memory: Clone it first", format, t.Device())
	}
	if t.dtype != Uint8 {
		return nil, fmt.Errorf("Wrap(%v): tensor is %v, want uint8", format, t.dtype)
	}
	var s Surface
	sh := t.shape
	switch format {
	case RGB, RGBA, GRAY8:
		c := format.Channels()
		ok := len(sh) == 3 && sh[2] == c && t.strides[2] == 1 && t.strides[1] == c ||
			format == GRAY8 && len(sh) == 2 && t.strides[1] == 1
		if !ok {
			return nil, fmt.Errorf("Wrap(%v): tensor shape %v strides %v, want [H W %d] with packed pixels", format, sh, t.strides, c)
		}
		s = Surface{Format: format, Width: sh[1], Height: sh[0], Data: t.data}
		s.Strides[0] = t.strides[0]
	case I420, NV12:
		if len(sh) != 2 || sh[0]%3 != 0 || sh[1]%2 != 0 || !t.Contiguous() {
			return nil, fmt.Errorf("Wrap(%v): tensor shape %v, want contiguous [H*3/2 W] with even H and W", format, sh)
		}
		s = PackedSurface(format, sh[1], sh[0]*2/3, t.data)
	default:
		return nil, fmt.Errorf("Wrap: format %v is not a raw pixel format", format)
	}
	var owner FrameOwner
	if t.owner != nil {
		t.owner.Ref()
		owner = tensorFrameOwner{t.owner}
	}
	return NewBatch([]*Frame{NewFrame(s, owner)}, nil), nil
}

// Reshape returns a view of a contiguous tensor with another shape of the
// same number of elements. A view of an imported tensor holds its memory
// too: Release each.
func (t *Tensor) Reshape(shape []int, layout string) (*Tensor, error) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != t.Len() || !t.Contiguous() {
		return nil, fmt.Errorf("Reshape %v to %v: need a contiguous tensor of %d elements", t.shape, shape, n)
	}
	if layout != "" && len(layout) != len(shape) {
		return nil, fmt.Errorf("Reshape: layout %q names %d axes, shape %v has %d", layout, len(layout), shape, len(shape))
	}
	v := &Tensor{dtype: t.dtype, shape: append([]int(nil), shape...), strides: compactStrides(shape), layout: layout, data: t.data, dev: t.dev, devID: t.devID, owner: t.owner}
	if h, ok := t.owner.(*holder); ok {
		h.Ref()
	}
	return v, nil
}
