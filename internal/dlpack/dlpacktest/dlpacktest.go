// Package dlpacktest is a DLPack consumer and producer written in C, for
// tests that check vidflow's tensors cross the C ABI without copies (cgo is
// not allowed in _test.go files).
package dlpacktest

/*
#include "consumer.h"
*/
import "C"

import "unsafe"

// Consume reads a *DLManagedTensor in C: it returns the sum of its bytes,
// the address of its data and its element count, and calls its deleter.
func Consume(p unsafe.Pointer) (sum uint64, data uintptr, elems int64) {
	var d C.uintptr_t
	var n C.int64_t
	s := C.vf_test_consume((*C.DLManagedTensor)(p), &d, &n)
	return uint64(s), uintptr(d), int64(n)
}

// Produce makes a C-owned *DLManagedTensor of n bytes valued i%251, with
// the given dtype code, bits, lanes and DLPack device type.
func Produce(n int, code, bits uint8, lanes uint16, device int) unsafe.Pointer {
	return unsafe.Pointer(C.vf_test_produce(C.int(n), C.uint8_t(code), C.uint8_t(bits), C.uint16_t(lanes), C.int(device)))
}

// Deleted counts the calls of the deleter of tensors made by Produce.
func Deleted() int { return int(C.vf_test_deleted()) }

// Device reads a *DLManagedTensor's DLPack device type and id (without
// consuming it).
func Device(p unsafe.Pointer) (deviceType, id int) {
	var t, i C.int
	C.vf_test_device((*C.DLManagedTensor)(p), &t, &i)
	return int(t), int(i)
}
