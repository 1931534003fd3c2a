#include <stdint.h>
#include "../dlpack.h"
uint64_t vf_test_consume(DLManagedTensor* t, uintptr_t* data, int64_t* elems);
DLManagedTensor* vf_test_produce(int n, uint8_t code, uint8_t bits, uint16_t lanes, int device);
int vf_test_deleted(void);
void vf_test_device(DLManagedTensor* t, int* type, int* id);
