#include <stdlib.h>
#include "consumer.h"

// A small DLPack consumer as a C library would write it: read the tensor,
// sum its bytes, remember where the data was, call the deleter.
uint64_t vf_test_consume(DLManagedTensor* t, uintptr_t* data, int64_t* elems) {
  DLTensor* d = &t->dl_tensor;
  int64_t n = 1;
  for (int i = 0; i < d->ndim; i++) n *= d->shape[i];
  uint64_t sum = 0;
  const uint8_t* p = (const uint8_t*)d->data + d->byte_offset;
  int64_t bytes = n * (d->dtype.bits / 8);
  if (d->strides != NULL && d->ndim == 3 && d->dtype.bits == 8) {
    for (int64_t y = 0; y < d->shape[0]; y++)
      for (int64_t x = 0; x < d->shape[1]; x++)
        for (int64_t c = 0; c < d->shape[2]; c++)
          sum += p[y * d->strides[0] + x * d->strides[1] + c * d->strides[2]];
  } else {
    for (int64_t i = 0; i < bytes; i++) sum += p[i];
  }
  *data = (uintptr_t)p;
  *elems = n;
  t->deleter(t);
  return sum;
}

static int deleted = 0;
static void producer_deleter(DLManagedTensor* t) {
  deleted++;
  free(t->dl_tensor.data);
  free(t->dl_tensor.shape);
  free(t);
}

// A DLPack producer in C: n bytes valued i%251, as a [n] tensor of the
// given type and device.
DLManagedTensor* vf_test_produce(int n, uint8_t code, uint8_t bits, uint16_t lanes, int device) {
  DLManagedTensor* t = calloc(1, sizeof(DLManagedTensor));
  uint8_t* data = malloc(n);
  for (int i = 0; i < n; i++) data[i] = (uint8_t)(i % 251);
  t->dl_tensor.data = data;
  t->dl_tensor.device.device_type = (DLDeviceType)device;
  t->dl_tensor.ndim = 1;
  t->dl_tensor.dtype.code = code;
  t->dl_tensor.dtype.bits = bits;
  t->dl_tensor.dtype.lanes = lanes;
  t->dl_tensor.shape = malloc(sizeof(int64_t));
  t->dl_tensor.shape[0] = n / (bits / 8 > 0 ? bits / 8 : 1);
  t->deleter = producer_deleter;
  return t;
}

int vf_test_deleted(void) { return deleted; }

void vf_test_device(DLManagedTensor* t, int* type, int* id) {
  *type = t->dl_tensor.device.device_type;
  *id = t->dl_tensor.device.device_id;
}
