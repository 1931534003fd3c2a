// A CUDA green context (driver API, CUDA 12.4 and later): a set of the
// GPU's SMs that work launched on its streams is confined to. The model's
// stream can run on one (VIDFLOW_MODEL_SMS, green.go), leaving the other
// SMs to the decoders' own kernels, which otherwise queue behind the
// model's. Declarations are vidflow's own: the resource structures are
// opaque, in buffers larger than any driver's.
#include "gpu.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

enum { CU_DEV_RESOURCE_TYPE_SM = 1, CU_GREEN_CTX_DEFAULT_STREAM = 1, CU_STREAM_NON_BLOCKING = 1 };

// CUdevResource, opaque: the driver writes at most its own size (144
// bytes in CUDA 12.4).
typedef struct {
	_Alignas(16) unsigned char b[2048];
} vf_devres;

static struct {
	void *lib;
	int (*device_get)(int *, int);
	int (*get_resource)(int, vf_devres *, int);
	int (*split)(vf_devres *, unsigned *, const vf_devres *, vf_devres *, unsigned, unsigned);
	int (*desc)(void **, vf_devres *, unsigned);
	int (*create)(void **, void *, int, unsigned);
	int (*stream_create)(void **, void *, unsigned, int);
	int (*from_green)(void **, void *);
	int (*push)(void *);
	int (*pop)(void **);
} g;

static void *green[64];
static void *green_ctx[64]; // green[dev] as a CUcontext, to make current
static unsigned green_sms[64];

#define GSYM(field, sym)                                                                                     \
	do {                                                                                                 \
		*(void **)(&g.field) = dlsym(lib, sym);                                                      \
		if (!g.field) {                                                                              \
			snprintf(err, errlen, "libcuda.so.1 has no %s (green contexts need a CUDA 12.4 driver)", sym); \
			return -1;                                                                           \
		}                                                                                            \
	} while (0)

static int green_load(char *err, size_t errlen) {
	if (g.lib)
		return 0;
	void *lib = vf_cu_lib(); // opened by vf_cu_load (LoadKernels)
	if (!lib) {
		snprintf(err, errlen, "the CUDA driver API is not open");
		return -1;
	}
	GSYM(device_get, "cuDeviceGet");
	GSYM(get_resource, "cuDeviceGetDevResource");
	GSYM(split, "cuDevSmResourceSplitByCount");
	GSYM(desc, "cuDevResourceGenerateDesc");
	GSYM(create, "cuGreenCtxCreate");
	GSYM(stream_create, "cuGreenCtxStreamCreate");
	GSYM(from_green, "cuCtxFromGreenCtx");
	GSYM(push, "cuCtxPushCurrent_v2");
	GSYM(pop, "cuCtxPopCurrent_v2");
	g.lib = lib;
	return 0;
}

// vf_green_stream makes a non-blocking stream on device dev's green
// context of sms SMs (at least; the driver rounds up to its granularity),
// made on the first call and kept for the process. A later call asking
// another count is an error. Returns 0, or a CUresult with err set.
int vf_green_stream(int dev, unsigned sms, void **stream, char *err, size_t errlen) {
	if (green_load(err, errlen))
		return -1;
	if (dev < 0 || dev >= 64) {
		snprintf(err, errlen, "GPU %d out of range", dev);
		return -1;
	}
	int rc, d;
	if ((rc = g.device_get(&d, dev))) {
		snprintf(err, errlen, "cuDeviceGet: %s", vf_cu_error(rc));
		return rc;
	}
	if (!green[dev]) {
		static vf_devres all, part, rest;
		unsigned groups = 1;
		void *desc = NULL;
		memset(&all, 0, sizeof all);
		memset(&part, 0, sizeof part);
		memset(&rest, 0, sizeof rest);
		if ((rc = g.get_resource(d, &all, CU_DEV_RESOURCE_TYPE_SM))) {
			snprintf(err, errlen, "cuDeviceGetDevResource: %s", vf_cu_error(rc));
			return rc;
		}
		if ((rc = g.split(&part, &groups, &all, &rest, 0, sms)) || groups != 1) {
			snprintf(err, errlen, "cuDevSmResourceSplitByCount(%u SMs): %s", sms, rc ? vf_cu_error(rc) : "no group");
			return rc ? rc : -1;
		}
		if ((rc = g.desc(&desc, &part, 1))) {
			snprintf(err, errlen, "cuDevResourceGenerateDesc: %s", vf_cu_error(rc));
			return rc;
		}
		if ((rc = g.create(&green[dev], desc, d, CU_GREEN_CTX_DEFAULT_STREAM))) {
			snprintf(err, errlen, "cuGreenCtxCreate(%u SMs): %s", sms, vf_cu_error(rc));
			return rc;
		}
		if ((rc = g.from_green(&green_ctx[dev], green[dev]))) {
			snprintf(err, errlen, "cuCtxFromGreenCtx: %s", vf_cu_error(rc));
			return rc;
		}
		green_sms[dev] = sms;
	} else if (green_sms[dev] != sms) {
		snprintf(err, errlen, "GPU %d's green context has %u SMs, asked for %u", dev, green_sms[dev], sms);
		return -1;
	}
	if ((rc = g.stream_create(stream, green[dev], CU_STREAM_NON_BLOCKING, 0))) {
		snprintf(err, errlen, "cuGreenCtxStreamCreate: %s", vf_cu_error(rc));
		return rc;
	}
	return 0;
}

// vf_green_push makes device dev's green context current on the calling
// thread, as PyTorch does around work on a green stream: the libraries
// the model runs (cuDNN, cuBLAS, ONNX Runtime's kernels) launch into the
// current context, which must be the stream's. The context was made with
// the green context (vf_green_stream, under green.go's lock), before any
// session could run on it. Returns 0 or a CUresult.
int vf_green_push(int dev) {
	if (dev < 0 || dev >= 64 || !green_ctx[dev] || !g.lib)
		return -1;
	return g.push(green_ctx[dev]);
}

// vf_green_pop undoes vf_green_push on the calling thread.
int vf_green_pop(void) {
	void *old = NULL;
	return g.pop(&old);
}
