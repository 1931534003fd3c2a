// The CUDA driver API (libcuda) and NVRTC, opened at run time like the
// runtime in gpu.c: vidflow's own kernels are compiled from source for the
// device found, loaded into its primary context (the one the runtime and
// ONNX Runtime use) and launched on runtime streams.
#include "gpu.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Values from cuda.h and nvrtc.h.
enum {
	CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
	CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
	NVRTC_SUCCESS = 0,
};

static struct {
	void *lib;
	int (*init)(unsigned);
	int (*device_get)(int *, int);
	int (*attribute)(int *, int, int);
	int (*primary_retain)(void **, int);
	int (*ctx_push)(void *);
	int (*ctx_pop)(void **);
	int (*module_load_data)(void **, const void *);
	int (*module_get_function)(void **, void *, const char *);
	int (*module_unload)(void *);
	int (*launch)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **);
	int (*error_string)(int, const char **);
	int (*error_name)(int, const char **);
	int (*ctx_set_flags)(unsigned); // CUDA 12.1; NULL before
} drv;

static struct {
	void *lib;
	const char *name;
	const char *(*error_string)(int);
	int (*version)(int *, int *);
	int (*create)(void **, const char *, const char *, int, const char *const *, const char *const *);
	int (*compile)(void *, int, const char *const *);
	int (*destroy)(void **);
	int (*log_size)(void *, size_t *);
	int (*log)(void *, char *);
	int (*ptx_size)(void *, size_t *);
	int (*ptx)(void *, char *);
	int (*cubin_size)(void *, size_t *);
	int (*cubin)(void *, char *);
	int (*num_archs)(int *);
	int (*archs)(int *);
} rtc;

#define DSYM(s, lib, field, sym, libname)                                       \
	do {                                                                    \
		*(void **)(&s.field) = dlsym(lib, sym);                         \
		if (!s.field) {                                                 \
			snprintf(err, errlen, "%s has no %s", libname, sym);    \
			return -1;                                              \
		}                                                               \
	} while (0)

int vf_cu_load(char *err, size_t errlen) {
	if (drv.lib)
		return 0;
	void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
	if (!lib) {
		snprintf(err, errlen, "the CUDA driver library libcuda.so.1 cannot be loaded: %s", dlerror());
		return -1;
	}
	const char *n = "libcuda.so.1";
	DSYM(drv, lib, init, "cuInit", n);
	DSYM(drv, lib, device_get, "cuDeviceGet", n);
	DSYM(drv, lib, attribute, "cuDeviceGetAttribute", n);
	DSYM(drv, lib, primary_retain, "cuDevicePrimaryCtxRetain", n);
	DSYM(drv, lib, ctx_push, "cuCtxPushCurrent_v2", n);
	DSYM(drv, lib, ctx_pop, "cuCtxPopCurrent_v2", n);
	DSYM(drv, lib, module_load_data, "cuModuleLoadData", n);
	DSYM(drv, lib, module_get_function, "cuModuleGetFunction", n);
	DSYM(drv, lib, module_unload, "cuModuleUnload", n);
	DSYM(drv, lib, launch, "cuLaunchKernel", n);
	DSYM(drv, lib, error_string, "cuGetErrorString", n);
	DSYM(drv, lib, error_name, "cuGetErrorName", n);
	*(void **)(&drv.ctx_set_flags) = dlsym(lib, "cuCtxSetFlags");
	int rc = drv.init(0);
	if (rc) {
		snprintf(err, errlen, "cuInit: %s", vf_cu_error(rc));
		return -1;
	}
	drv.lib = lib;
	return 0;
}

// vf_cu_lib is the driver library vf_cu_load opened, or NULL.
void *vf_cu_lib(void) { return drv.lib; }

// vf_cu_error describes a CUresult (the driver must be loaded).
const char *vf_cu_error(int rc) {
	static __thread char buf[256];
	const char *name = "?", *s = "unknown error";
	if (drv.error_name)
		drv.error_name(rc, &name);
	if (drv.error_string)
		drv.error_string(rc, &s);
	snprintf(buf, sizeof buf, "%s: %s (CUresult %d)", name ? name : "?", s ? s : "?", rc);
	return buf;
}

int vf_nvrtc_load(const char *const *names, int n, char *err, size_t errlen) {
	if (rtc.lib)
		return 0;
	size_t used = 0;
	void *lib = NULL;
	const char *libname = NULL;
	err[0] = 0;
	for (int i = 0; i < n && !lib; i++) {
		lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (lib)
			libname = names[i];
		else if (used < errlen)
			used += snprintf(err + used, errlen - used, "%s%s", used ? "; " : "", dlerror());
	}
	if (!lib)
		return -1;
	const char *nm = libname;
	DSYM(rtc, lib, error_string, "nvrtcGetErrorString", nm);
	DSYM(rtc, lib, version, "nvrtcVersion", nm);
	DSYM(rtc, lib, create, "nvrtcCreateProgram", nm);
	DSYM(rtc, lib, compile, "nvrtcCompileProgram", nm);
	DSYM(rtc, lib, destroy, "nvrtcDestroyProgram", nm);
	DSYM(rtc, lib, log_size, "nvrtcGetProgramLogSize", nm);
	DSYM(rtc, lib, log, "nvrtcGetProgramLog", nm);
	DSYM(rtc, lib, ptx_size, "nvrtcGetPTXSize", nm);
	DSYM(rtc, lib, ptx, "nvrtcGetPTX", nm);
	// CUBIN output (CUDA 11.1) and the list of architectures (11.2) make
	// NVRTC "too old" when missing: vidflow wants a binary for the device.
	DSYM(rtc, lib, cubin_size, "nvrtcGetCUBINSize", nm);
	DSYM(rtc, lib, cubin, "nvrtcGetCUBIN", nm);
	DSYM(rtc, lib, num_archs, "nvrtcGetNumSupportedArchs", nm);
	DSYM(rtc, lib, archs, "nvrtcGetSupportedArchs", nm);
	rtc.name = strdup(libname); // names[] is the caller's, freed after the call
	rtc.lib = lib;
	return 0;
}

const char *vf_nvrtc_name(void) { return rtc.name ? rtc.name : ""; }

int vf_nvrtc_version(int *major, int *minor) { return rtc.version(major, minor); }

// vf_nvrtc_best_arch returns the newest architecture NVRTC supports that
// is not newer than want (major*10+minor), 0 when none.
int vf_nvrtc_best_arch(int want) {
	int n = 0, best = 0;
	if (rtc.num_archs(&n) || n <= 0 || n > 256)
		return 0;
	int archs[256];
	if (rtc.archs(archs))
		return 0;
	for (int i = 0; i < n; i++)
		if (archs[i] <= want && archs[i] > best)
			best = archs[i];
	return best;
}

// vf_cu_device_arch is the compute capability of device ordinal dev, as
// major*10+minor.
int vf_cu_device_arch(int dev, int *arch) {
	int d, major = 0, minor = 0, rc;
	if ((rc = drv.device_get(&d, dev)))
		return rc;
	if ((rc = drv.attribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d)))
		return rc;
	if ((rc = drv.attribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d)))
		return rc;
	*arch = major * 10 + minor;
	return 0;
}

// vf_nvrtc_compile compiles src with opts into *image (malloc'ed; CUBIN
// when cubin, else PTX text with its NUL). On failure err holds NVRTC's
// error and the compile log.
int vf_nvrtc_compile(const char *src, const char *name, const char *const *opts, int nopts, int cubin, void **image,
		     size_t *size, char *err, size_t errlen) {
	void *prog = NULL;
	int rc = rtc.create(&prog, src, name, 0, NULL, NULL);
	if (rc != NVRTC_SUCCESS) {
		snprintf(err, errlen, "nvrtcCreateProgram: %s", rtc.error_string(rc));
		return -1;
	}
	rc = rtc.compile(prog, nopts, opts);
	if (rc != NVRTC_SUCCESS) {
		size_t n = 0;
		int used = snprintf(err, errlen, "nvrtcCompileProgram: %s", rtc.error_string(rc));
		if (rtc.log_size(prog, &n) == NVRTC_SUCCESS && n > 1) {
			char *log = malloc(n);
			if (log && rtc.log(prog, log) == NVRTC_SUCCESS && used > 0 && (size_t)used < errlen)
				snprintf(err + used, errlen - used, ":\n%s", log);
			free(log);
		}
		rtc.destroy(&prog);
		return -1;
	}
	size_t n = 0;
	rc = cubin ? rtc.cubin_size(prog, &n) : rtc.ptx_size(prog, &n);
	char *out = rc == NVRTC_SUCCESS && n > 0 ? malloc(n) : NULL;
	if (out)
		rc = cubin ? rtc.cubin(prog, out) : rtc.ptx(prog, out);
	rtc.destroy(&prog);
	if (!out || rc != NVRTC_SUCCESS) {
		free(out);
		snprintf(err, errlen, "%s: %s", cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX", rc ? rtc.error_string(rc) : "empty");
		return -1;
	}
	*image = out;
	*size = n;
	return 0;
}

// The primary context of a device is retained once and kept for the
// process: the runtime and ONNX Runtime work in it too.
static void *primary[64];

// How threads wait for the GPU in the primary contexts (VIDFLOW_CUDA_SYNC,
// sync.go): set on each context as it is first retained, whoever made it.
static unsigned sched_flags;
static int sched_set;

void vf_cu_set_sched(unsigned flags) {
	sched_flags = flags;
	sched_set = 1;
}

static int push(int dev) {
	if (dev < 0 || dev >= 64)
		return 101; // CUDA_ERROR_INVALID_DEVICE
	int rc, d;
	if (!primary[dev]) {
		void *ctx;
		if ((rc = drv.device_get(&d, dev)) || (rc = drv.primary_retain(&ctx, d)))
			return rc;
		if (sched_set) {
			if (!drv.ctx_set_flags)
				return 3; // CUDA_ERROR_NOT_INITIALIZED: a driver before CUDA 12.1
			if ((rc = drv.ctx_push(ctx)))
				return rc;
			rc = drv.ctx_set_flags(sched_flags);
			void *c;
			drv.ctx_pop(&c);
			if (rc)
				return rc;
		}
		primary[dev] = ctx;
	}
	return drv.ctx_push(primary[dev]);
}

static void pop(void) {
	void *c;
	drv.ctx_pop(&c);
}

// vf_cu_primary gives the primary context of a device (retained for the
// process) and its CUdevice, for sharing with GStreamer's CUDA elements.
int vf_cu_primary(int dev, void **ctx, int *cudev) {
	int rc = push(dev);
	if (rc)
		return rc;
	pop();
	*ctx = primary[dev];
	return drv.device_get(cudev, dev);
}

// Pushing and popping around each call keeps the context current on the
// OS thread the call runs on: Go moves goroutines between threads.
int vf_cu_module_load(int dev, const void *image, void **module) {
	int rc = push(dev);
	if (rc)
		return rc;
	rc = drv.module_load_data(module, image);
	pop();
	return rc;
}

int vf_cu_module_function(int dev, void *module, const char *name, void **fn) {
	int rc = push(dev);
	if (rc)
		return rc;
	rc = drv.module_get_function(fn, module, name);
	pop();
	return rc;
}

int vf_cu_module_unload(int dev, void *module) {
	int rc = push(dev);
	if (rc)
		return rc;
	rc = drv.module_unload(module);
	pop();
	return rc;
}

// vf_cu_launch launches fn with nargs parameters laid out in args at
// offsets (cuLaunchKernel copies them before returning).
int vf_cu_launch(int dev, void *fn, const unsigned *grid, const unsigned *block, unsigned shared, void *stream, void *args,
		 const size_t *offsets, int nargs) {
	void *params[64];
	if (nargs > 64)
		return 1; // CUDA_ERROR_INVALID_VALUE
	for (int i = 0; i < nargs; i++)
		params[i] = (char *)args + offsets[i];
	int rc = push(dev);
	if (rc)
		return rc;
	rc = drv.launch(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], shared, stream, params, NULL);
	pop();
	return rc;
}

// ---- self-check ----

static const char selfcheck_src[] =
    "extern \"C\" __global__ void vf_selfcheck(int *p, int n, int v) {\n"
    "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "  if (i < n) p[i] = p[i] * 2 + v + i;\n"
    "}\n";

// vf_cu_selfcheck compiles, loads and runs a tiny kernel on device dev
// with nothing but this file and gpu.c, and checks its result: the first
// thing to run on a new machine. info says what was used.
int vf_cu_selfcheck(int dev, const char *arch_opt, int cubin, char *info, size_t infolen, char *err, size_t errlen) {
	void *image = NULL, *module = NULL, *fn = NULL, *mem = NULL;
	size_t size = 0;
	const char *opts[] = {arch_opt};
	enum { N = 1000 };
	int host[N], rc = -1;
	if (vf_nvrtc_compile(selfcheck_src, "vf_selfcheck.cu", opts, 1, cubin, &image, &size, err, errlen))
		return -1;
	if ((rc = vf_cu_module_load(dev, image, &module))) {
		snprintf(err, errlen, "cuModuleLoadData (%zu-byte %s): %s", size, cubin ? "CUBIN" : "PTX", vf_cu_error(rc));
		goto out;
	}
	if ((rc = vf_cu_module_function(dev, module, "vf_selfcheck", &fn))) {
		snprintf(err, errlen, "cuModuleGetFunction vf_selfcheck: %s", vf_cu_error(rc));
		goto out;
	}
	if ((rc = vf_cuda_set_device(dev)) || (rc = vf_cuda_malloc(&mem, sizeof host))) {
		snprintf(err, errlen, "cudaMalloc: %s", vf_cuda_error(rc));
		goto out;
	}
	for (int i = 0; i < N; i++)
		host[i] = i;
	if ((rc = vf_cuda_memcpy(mem, host, sizeof host, 1))) {
		snprintf(err, errlen, "cudaMemcpy to device: %s", vf_cuda_error(rc));
		goto out;
	}
	struct {
		void *p;
		int n, v;
	} a = {mem, N, 7};
	size_t offs[] = {offsetof(__typeof__(a), p), offsetof(__typeof__(a), n), offsetof(__typeof__(a), v)};
	unsigned grid[3] = {(N + 127) / 128, 1, 1}, block[3] = {128, 1, 1};
	if ((rc = vf_cu_launch(dev, fn, grid, block, 0, NULL, &a, offs, 3))) {
		snprintf(err, errlen, "cuLaunchKernel vf_selfcheck: %s", vf_cu_error(rc));
		goto out;
	}
	// A synchronous copy on the legacy default stream waits for the kernel.
	if ((rc = vf_cuda_memcpy(host, mem, sizeof host, 2))) {
		snprintf(err, errlen, "cudaMemcpy to host after vf_selfcheck: %s", vf_cuda_error(rc));
		goto out;
	}
	rc = 0;
	for (int i = 0; i < N && !rc; i++)
		if (host[i] != i * 2 + 7 + i) {
			snprintf(err, errlen, "vf_selfcheck computed %d at %d, want %d", host[i], i, i * 3 + 7);
			rc = -1;
		}
	if (!rc) {
		int major = 0, minor = 0;
		vf_nvrtc_version(&major, &minor);
		snprintf(info, infolen, "%s (NVRTC %d.%d) compiled vf_selfcheck with %s to %zu bytes of %s; it ran on GPU %d and computed right",
			 rtc.name, major, minor, arch_opt, size, cubin ? "CUBIN" : "PTX", dev);
	}
out:
	if (mem)
		vf_cuda_free(mem);
	if (module)
		vf_cu_module_unload(dev, module);
	free(image);
	return rc ? -1 : 0;
}
