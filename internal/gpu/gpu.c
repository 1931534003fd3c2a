#include "gpu.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// ---- CUDA runtime ----

static struct {
	void *lib, *driver;
	const char *(*error_string)(int);
	int (*device_count)(int *);
	int (*set_device)(int);
	int (*malloc_)(void **, size_t);
	int (*free_)(void *);
	int (*host_alloc)(void **, size_t, unsigned);
	int (*free_host)(void *);
	int (*memcpy_async)(void *, const void *, size_t, int, void *);
	int (*memset_)(void *, int, size_t);
	int (*memcpy_)(void *, const void *, size_t, int);
	int (*memcpy2d)(void *, size_t, const void *, size_t, size_t, size_t, int);
	int (*stream_create)(void **, unsigned);
	int (*stream_sync)(void *);
	int (*stream_destroy)(void *);
	int (*event_create)(void **, unsigned);
	int (*event_record)(void *, void *);
	int (*stream_wait_event)(void *, void *, unsigned);
	int (*event_destroy)(void *);
	int (*mem_info)(size_t *, size_t *);
	int (*runtime_version)(int *);
	int (*driver_version)(int *);
	int (*cu_init)(unsigned);
	int (*cu_device_get)(int *, int);
	int (*cu_device_name)(char *, int, int);
} cu;

#define SYM(lib, field, name)                                                  \
	do {                                                                   \
		*(void **)(&cu.field) = dlsym(lib, name);                      \
		if (!cu.field) {                                               \
			snprintf(err, errlen, "%s has no %s", libname, name);  \
			return -1;                                             \
		}                                                              \
	} while (0)

int vf_cuda_load(const char *libname, char *err, size_t errlen) {
	if (cu.lib)
		return 0;
	void *lib = dlopen(libname, RTLD_NOW | RTLD_GLOBAL);
	if (!lib) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	SYM(lib, error_string, "cudaGetErrorString");
	SYM(lib, device_count, "cudaGetDeviceCount");
	SYM(lib, set_device, "cudaSetDevice");
	SYM(lib, malloc_, "cudaMalloc");
	SYM(lib, free_, "cudaFree");
	SYM(lib, host_alloc, "cudaHostAlloc");
	SYM(lib, free_host, "cudaFreeHost");
	SYM(lib, memcpy_async, "cudaMemcpyAsync");
	SYM(lib, memset_, "cudaMemset");
	SYM(lib, memcpy_, "cudaMemcpy");
	SYM(lib, memcpy2d, "cudaMemcpy2D");
	SYM(lib, stream_create, "cudaStreamCreateWithFlags");
	SYM(lib, stream_sync, "cudaStreamSynchronize");
	SYM(lib, stream_destroy, "cudaStreamDestroy");
	SYM(lib, event_create, "cudaEventCreateWithFlags");
	SYM(lib, event_record, "cudaEventRecord");
	SYM(lib, stream_wait_event, "cudaStreamWaitEvent");
	SYM(lib, event_destroy, "cudaEventDestroy");
	SYM(lib, mem_info, "cudaMemGetInfo");
	SYM(lib, runtime_version, "cudaRuntimeGetVersion");
	SYM(lib, driver_version, "cudaDriverGetVersion");
	// The driver API only names devices; its absence is not an error.
	cu.driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
	if (cu.driver) {
		*(void **)(&cu.cu_init) = dlsym(cu.driver, "cuInit");
		*(void **)(&cu.cu_device_get) = dlsym(cu.driver, "cuDeviceGet");
		*(void **)(&cu.cu_device_name) = dlsym(cu.driver, "cuDeviceGetName");
	}
	cu.lib = lib;
	return 0;
}

const char *vf_cuda_error(int code) { return cu.error_string ? cu.error_string(code) : "CUDA not loaded"; }
int vf_cuda_device_count(int *n) { return cu.device_count(n); }
int vf_cuda_set_device(int dev) { return cu.set_device(dev); }
int vf_cuda_malloc(void **p, size_t n) { return cu.malloc_(p, n); }
int vf_cuda_free(void *p) { return cu.free_(p); }
int vf_cuda_host_alloc(void **p, size_t n) { return cu.host_alloc(p, n, 0); }
int vf_cuda_free_host(void *p) { return cu.free_host(p); }
int vf_cuda_memcpy_async(void *dst, const void *src, size_t n, int kind, void *stream) {
	return cu.memcpy_async(dst, src, n, kind, stream);
}
int vf_cuda_memset(void *p, int v, size_t n) { return cu.memset_(p, v, n); }
int vf_cuda_memcpy(void *dst, const void *src, size_t n, int kind) { return cu.memcpy_(dst, src, n, kind); }
int vf_cuda_memcpy2d(void *dst, size_t dp, const void *src, size_t sp, size_t w, size_t h, int kind) {
	return cu.memcpy2d(dst, dp, src, sp, w, h, kind);
}
int vf_cuda_stream_create(void **s) { return cu.stream_create(s, 1 /* cudaStreamNonBlocking */); }
int vf_cuda_stream_sync(void *s) { return cu.stream_sync(s); }
int vf_cuda_stream_destroy(void *s) { return cu.stream_destroy(s); }
int vf_cuda_event_create(void **e) { return cu.event_create(e, 2 /* cudaEventDisableTiming */); }
int vf_cuda_event_record(void *e, void *s) { return cu.event_record(e, s); }
int vf_cuda_stream_wait_event(void *s, void *e) { return cu.stream_wait_event(s, e, 0); }
int vf_cuda_event_destroy(void *e) { return cu.event_destroy(e); }
int vf_cuda_mem_info(size_t *f, size_t *t) { return cu.mem_info(f, t); }
int vf_cuda_versions(int *runtime, int *driver) {
	int rc = cu.runtime_version(runtime);
	return rc ? rc : cu.driver_version(driver);
}
int vf_cuda_device_name(int dev, char *name, int len) {
	int d;
	if (!cu.cu_init || !cu.cu_device_get || !cu.cu_device_name || cu.cu_init(0) || cu.cu_device_get(&d, dev))
		return -1;
	return cu.cu_device_name(name, len, d);
}

// ---- ONNX Runtime ----

// Ordinals of the functions used, in the OrtApi function table (stable:
// the table only grows at its end).
enum {
	GetErrorMessage = 2,
	CreateEnv = 3,
	CreateSession = 7,
	CreateSessionOptions = 10,
	EnableProfiling = 14,
	SetSessionGraphOptimizationLevel = 23,
	SetIntraOpNumThreads = 24,
	CreateTensorWithDataAsOrtValue = 49,
	CreateMemoryInfo = 68,
	GetAllocatorWithDefaultOptions = 78,
	ReleaseStatus = 93,
	ReleaseMemoryInfo = 94,
	ReleaseSession = 95,
	ReleaseValue = 96,
	ReleaseSessionOptions = 100,
	SessionEndProfiling = 110,
	GetAvailableProviders = 125,
	ReleaseAvailableProviders = 126,
	RunWithBinding = 133,
	CreateIoBinding = 134,
	ReleaseIoBinding = 135,
	BindInput = 136,
	BindOutput = 137,
	SessionOptionsAppendExecutionProvider_CUDA_V2 = 204,
	CreateCUDAProviderOptions = 205,
	UpdateCUDAProviderOptions = 206,
	ReleaseCUDAProviderOptions = 208,
};

typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} vf_api_base;

typedef struct vf_allocator {
	uint32_t version;
	void *(*Alloc)(struct vf_allocator *, size_t);
	void (*Free)(struct vf_allocator *, void *);
} vf_allocator;

static void *const *api;
static const vf_api_base *base;

typedef void *(*st0)(void);
#define F(T, i) ((T)api[i])

int vf_ort_load(const char *lib, char *err, size_t errlen) {
	if (api)
		return 0;
	void *h = dlopen(lib, RTLD_NOW);
	if (!h) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	const vf_api_base *(*get_base)(void) = (const vf_api_base *(*)(void))dlsym(h, "OrtGetApiBase");
	if (!get_base) {
		snprintf(err, errlen, "%s has no OrtGetApiBase", lib);
		return -1;
	}
	base = get_base();
	api = (void *const *)base->GetApi(20);
	if (!api) {
		snprintf(err, errlen, "ONNX Runtime %s does not offer API version 20", base->GetVersionString());
		return -1;
	}
	return 0;
}

const char *vf_ort_version(void) { return base ? base->GetVersionString() : ""; }

void vf_ort_status(void *status, char *msg, size_t len) {
	snprintf(msg, len, "%s", F(const char *(*)(void *), GetErrorMessage)(status));
	F(void (*)(void *), ReleaseStatus)(status);
}

void *vf_ort_create_env(void **env) {
	// ONNX Runtime keeps one environment per process: this returns the one
	// onnxruntime_go made (with one more reference).
	return F(void *(*)(int, const char *, void **), CreateEnv)(3 /* error */, "vidflow", env);
}

void *vf_ort_create_session_options(void **opts, int intra_threads, const char *profile_prefix) {
	void *st = F(void *(*)(void **), CreateSessionOptions)(opts);
	if (st)
		return st;
	if (intra_threads > 0 && (st = F(void *(*)(void *, int), SetIntraOpNumThreads)(*opts, intra_threads)))
		return st;
	if ((st = F(void *(*)(void *, int), SetSessionGraphOptimizationLevel)(*opts, 99 /* all */)))
		return st;
	if (profile_prefix && *profile_prefix)
		st = F(void *(*)(void *, const char *), EnableProfiling)(*opts, profile_prefix);
	return st;
}

void *vf_ort_append_cuda(void *opts, const char **keys, const char **values, size_t n) {
	void *cuda = NULL;
	void *st = F(void *(*)(void **), CreateCUDAProviderOptions)(&cuda);
	if (st)
		return st;
	st = F(void *(*)(void *, const char **, const char **, size_t), UpdateCUDAProviderOptions)(cuda, keys, values, n);
	if (!st)
		st = F(void *(*)(void *, const void *), SessionOptionsAppendExecutionProvider_CUDA_V2)(opts, cuda);
	F(void (*)(void *), ReleaseCUDAProviderOptions)(cuda);
	return st;
}

void *vf_ort_create_session(void *env, const char *path, void *opts, void **sess) {
	return F(void *(*)(void *, const char *, void *, void **), CreateSession)(env, path, opts, sess);
}

void *vf_ort_create_cuda_memory_info(int device, void **info) {
	return F(void *(*)(const char *, int, int, int, void **), CreateMemoryInfo)("Cuda", 0 /* device allocator */, device,
										    0 /* default memory */, info);
}

void *vf_ort_create_tensor(void *info, void *data, size_t bytes, const int64_t *shape, size_t ndim, int type, void **value) {
	return F(void *(*)(void *, void *, size_t, const int64_t *, size_t, int, void **), CreateTensorWithDataAsOrtValue)(
	    info, data, bytes, shape, ndim, type, value);
}

void *vf_ort_create_io_binding(void *sess, void **binding) {
	return F(void *(*)(void *, void **), CreateIoBinding)(sess, binding);
}
void *vf_ort_bind_input(void *b, const char *name, void *v) {
	return F(void *(*)(void *, const char *, void *), BindInput)(b, name, v);
}
void *vf_ort_bind_output(void *b, const char *name, void *v) {
	return F(void *(*)(void *, const char *, void *), BindOutput)(b, name, v);
}
void *vf_ort_run_with_binding(void *sess, void *b) {
	return F(void *(*)(void *, void *, void *), RunWithBinding)(sess, NULL, b);
}

void *vf_ort_end_profiling(void *sess, char *path, size_t len) {
	vf_allocator *a = NULL;
	void *st = F(void *(*)(vf_allocator **), GetAllocatorWithDefaultOptions)(&a);
	if (st)
		return st;
	char *out = NULL;
	if ((st = F(void *(*)(void *, vf_allocator *, char **), SessionEndProfiling)(sess, a, &out)))
		return st;
	snprintf(path, len, "%s", out ? out : "");
	if (out)
		a->Free(a, out);
	return NULL;
}

void vf_ort_release_value(void *v) { F(void (*)(void *), ReleaseValue)(v); }
void vf_ort_release_io_binding(void *b) { F(void (*)(void *), ReleaseIoBinding)(b); }
void vf_ort_release_session(void *s) { F(void (*)(void *), ReleaseSession)(s); }
void vf_ort_release_session_options(void *o) { F(void (*)(void *), ReleaseSessionOptions)(o); }
void vf_ort_release_memory_info(void *m) { F(void (*)(void *), ReleaseMemoryInfo)(m); }

int vf_ort_has_provider(const char *name) {
	char **list = NULL;
	int n = 0, found = 0;
	void *st = F(void *(*)(char ***, int *), GetAvailableProviders)(&list, &n);
	if (st) {
		F(void (*)(void *), ReleaseStatus)(st);
		return 0;
	}
	for (int i = 0; i < n; i++)
		found |= strcmp(list[i], name) == 0;
	F(void *(*)(char **, int), ReleaseAvailableProviders)(list, n);
	return found;
}
