// The DLPack C ABI (v0.8), as published by the DLPack project: the structs
// every DLPack producer and consumer share.
#ifndef VIDFLOW_DLPACK_H
#define VIDFLOW_DLPACK_H
#include <stdint.h>

typedef enum {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,
  kDLOneAPI = 14,
} DLDeviceType;

typedef struct {
  DLDeviceType device_type;
  int32_t device_id;
} DLDevice;

typedef enum {
  kDLInt = 0,
  kDLUInt = 1,
  kDLFloat = 2,
  kDLOpaqueHandle = 3,
  kDLBfloat = 4,
  kDLComplex = 5,
  kDLBool = 6,
} DLDataTypeCode;

typedef struct {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
} DLDataType;

typedef struct {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
} DLTensor;

typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;

// vidflow's producer side: one malloc holding the managed tensor, its shape
// and strides; the deleter calls back into Go with ctx, then frees it.
DLManagedTensor* vf_dlpack_new(void* data, int ndim, uint8_t code, uint8_t bits, int device_type, int device_id, uintptr_t ctx);
void vf_dlpack_delete_foreign(DLManagedTensor* t);
#endif
