// The CUDA runtime and ONNX Runtime's C API, reached through dlopen and
// dlsym at run time: vidflow builds and runs without CUDA, and uses a GPU
// only where the libraries and a device are found. Declarations are
// vidflow's own: opaque handles are void*, enums are int.
#ifndef VF_GPU_H
#define VF_GPU_H

#include <stddef.h>
#include <stdint.h>

// ---- CUDA runtime (libcudart) and driver (libcuda) names (gpu.c) ----
int vf_cuda_load(const char *name, char *err, size_t errlen);
const char *vf_cuda_error(int code);
int vf_cuda_device_count(int *n);
int vf_cuda_set_device(int dev);
int vf_cuda_malloc(void **p, size_t n);
int vf_cuda_free(void *p);
int vf_cuda_host_alloc(void **p, size_t n);
int vf_cuda_free_host(void *p);
int vf_cuda_memcpy_async(void *dst, const void *src, size_t n, int kind, void *stream);
int vf_cuda_memset(void *p, int v, size_t n);
int vf_cuda_memcpy(void *dst, const void *src, size_t n, int kind);
int vf_cuda_stream_create(void **s);
int vf_cuda_stream_sync(void *s);
int vf_cuda_stream_destroy(void *s);
int vf_cuda_mem_info(size_t *free_b, size_t *total_b);
int vf_cuda_versions(int *runtime, int *driver);
int vf_cuda_device_name(int dev, char *name, int len);
int vf_cuda_memcpy2d(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height, int kind);
int vf_cuda_event_create(void **e);
int vf_cuda_event_record(void *e, void *stream);
int vf_cuda_stream_wait_event(void *stream, void *e);
int vf_cuda_event_destroy(void *e);

// ---- CUDA driver API kernels and NVRTC (kernel.c) ----
int vf_cu_load(char *err, size_t errlen);
void *vf_cu_lib(void);
void vf_cu_set_sched(unsigned flags);
const char *vf_cu_error(int rc);
int vf_cu_device_arch(int dev, int *arch);
int vf_cu_primary(int dev, void **ctx, int *cudev);
int vf_cu_module_load(int dev, const void *image, void **module);
int vf_cu_module_function(int dev, void *module, const char *name, void **fn);
int vf_cu_module_unload(int dev, void *module);
int vf_cu_launch(int dev, void *fn, const unsigned *grid, const unsigned *block, unsigned shared, void *stream, void *args,
		 const size_t *offsets, int nargs);
int vf_nvrtc_load(const char *const *names, int n, char *err, size_t errlen);
const char *vf_nvrtc_name(void);
int vf_nvrtc_version(int *major, int *minor);
int vf_nvrtc_best_arch(int want);
int vf_nvrtc_compile(const char *src, const char *name, const char *const *opts, int nopts, int cubin, void **image,
		     size_t *size, char *err, size_t errlen);
int vf_green_stream(int dev, unsigned sms, void **stream, char *err, size_t errlen);
int vf_green_push(int dev);
int vf_green_pop(void);
int vf_cu_selfcheck(int dev, const char *arch_opt, int cubin, char *info, size_t infolen, char *err, size_t errlen);

// ---- ONNX Runtime C API (OrtApi by its function-table ordinals) ----
int vf_ort_load(const char *lib, char *err, size_t errlen);
const char *vf_ort_version(void);
// Every call below returns an OrtStatus* (NULL on success); vf_ort_status
// copies its message and releases it.
void vf_ort_status(void *status, char *msg, size_t len);
void *vf_ort_create_env(void **env);
void *vf_ort_create_session_options(void **opts, int intra_threads, const char *profile_prefix);
void *vf_ort_append_cuda(void *opts, const char **keys, const char **values, size_t n);
void *vf_ort_create_session(void *env, const char *path, void *opts, void **sess);
void *vf_ort_create_cuda_memory_info(int device, void **info);
void *vf_ort_create_tensor(void *info, void *data, size_t bytes, const int64_t *shape, size_t ndim, int type, void **value);
void *vf_ort_create_io_binding(void *sess, void **binding);
void *vf_ort_bind_input(void *binding, const char *name, void *value);
void *vf_ort_bind_output(void *binding, const char *name, void *value);
void *vf_ort_run_with_binding(void *sess, void *binding);
void *vf_ort_end_profiling(void *sess, char *path, size_t len);
void vf_ort_release_value(void *v);
void vf_ort_release_io_binding(void *b);
void vf_ort_release_session(void *s);
void vf_ort_release_session_options(void *o);
void vf_ort_release_memory_info(void *m);
int vf_ort_has_provider(const char *name);

#endif
