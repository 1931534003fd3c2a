#include <stdlib.h>
#include "dlpack.h"
#include "_cgo_export.h"

static void vf_dlpack_deleter(DLManagedTensor* self) {
  vfDLPackRelease((uintptr_t)self->manager_ctx);
  free(self);
}

DLManagedTensor* vf_dlpack_new(void* data, int ndim, uint8_t code, uint8_t bits, int device_type, int device_id, uintptr_t ctx) {
  DLManagedTensor* t = calloc(1, sizeof(DLManagedTensor) + 2 * (size_t)ndim * sizeof(int64_t));
  if (t == NULL) return NULL;
  int64_t* dims = (int64_t*)(t + 1);
  t->dl_tensor.data = data;
  t->dl_tensor.device.device_type = device_type;
  t->dl_tensor.device.device_id = device_id;
  t->dl_tensor.ndim = ndim;
  t->dl_tensor.dtype.code = code;
  t->dl_tensor.dtype.bits = bits;
  t->dl_tensor.dtype.lanes = 1;
  t->dl_tensor.shape = dims;
  t->dl_tensor.strides = dims + ndim;
  t->dl_tensor.byte_offset = 0;
  t->manager_ctx = (void*)ctx;
  t->deleter = vf_dlpack_deleter;
  return t;
}


void vf_dlpack_delete_foreign(DLManagedTensor* t) {
  if (t != NULL && t->deleter != NULL) t->deleter(t);
}
