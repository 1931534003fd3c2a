// cuda.c — one CUDA context for GStreamer's CUDA elements and vidflow.
//
// GStreamer's nvcodec elements (nvh264dec, cudaupload, cudaconvert...) make
// a CUDA context of their own unless they are given one, and memory of one
// context is not usable by kernels of another. vidflow wraps the device's
// primary context (the one the CUDA runtime, ONNX Runtime and its own
// kernels use) into a GstCudaContext and gives it to every pipeline: set
// on the pipeline before it starts (bins pass contexts to elements added
// later, such as decodebin's decoder) and answered to the elements'
// need-context messages. libgstcuda-1.0 (gst-plugins-bad 1.22) ships
// without headers on Debian, so it is opened at run time and its
// functions declared here.
#include "vf.h"

#include <dlfcn.h>
#include <stdio.h>

#define VF_CUDA_CONTEXT_TYPE "gst.cuda.context"

static struct {
  GMutex lock;
  GstContext *context;  // persistent "gst.cuda.context", or NULL
  int device;
} shared;

int vf_cuda_share(void *cu_ctx, int cu_device, int device, char *err, size_t errlen) {
  void *lib = dlopen("libgstcuda-1.0.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (lib == NULL) {
    snprintf(err, errlen, "libgstcuda-1.0.so.0 (gst-plugins-bad's CUDA library) cannot be loaded: %s", dlerror());
    return -1;
  }
  gboolean (*load)(void) = (gboolean(*)(void))dlsym(lib, "gst_cuda_load_library");
  GstObject *(*wrap)(void *, int) = (GstObject * (*)(void *, int)) dlsym(lib, "gst_cuda_context_new_wrapped");
  GstContext *(*as_context)(GstObject *) = (GstContext * (*)(GstObject *)) dlsym(lib, "gst_context_new_cuda_context");
  if (load == NULL || wrap == NULL || as_context == NULL) {
    snprintf(err, errlen, "libgstcuda-1.0.so.0 has no gst_cuda_context_new_wrapped (GStreamer 1.22 or later is needed)");
    return -1;
  }
  if (!load()) {
    snprintf(err, errlen, "GStreamer's CUDA library could not load libcuda");
    return -1;
  }
  g_mutex_lock(&shared.lock);
  if (shared.context == NULL) {
    GstObject *c = wrap(cu_ctx, cu_device);
    if (c == NULL) {
      g_mutex_unlock(&shared.lock);
      snprintf(err, errlen, "GStreamer could not wrap GPU %d's primary CUDA context", device);
      return -1;
    }
    shared.context = as_context(c);  // holds its own reference
    gst_object_unref(c);
    shared.device = device;
  }
  g_mutex_unlock(&shared.lock);
  return 0;
}

// vf_cuda_context returns a reference to the shared context, or NULL.
static GstContext *vf_cuda_context(void) {
  g_mutex_lock(&shared.lock);
  GstContext *c = shared.context ? gst_context_ref(shared.context) : NULL;
  g_mutex_unlock(&shared.lock);
  return c;
}

void vf_cuda_give(GstElement *pipe) {
  GstContext *c = vf_cuda_context();
  if (c == NULL) return;
  gst_element_set_context(pipe, c);
  gst_context_unref(c);
}

gboolean vf_cuda_answer(GstMessage *m) {
  const gchar *type = NULL;
  if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_NEED_CONTEXT || !gst_message_parse_context_type(m, &type) ||
      g_strcmp0(type, VF_CUDA_CONTEXT_TYPE) != 0 || !GST_IS_ELEMENT(GST_MESSAGE_SRC(m)))
    return FALSE;
  GstContext *c = vf_cuda_context();
  if (c == NULL) return FALSE;
  gst_element_set_context(GST_ELEMENT(GST_MESSAGE_SRC(m)), c);
  gst_context_unref(c);
  return TRUE;
}

gboolean vf_cuda_foreign(GstMessage *m) {
  if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_HAVE_CONTEXT) return FALSE;
  GstContext *c = NULL;
  gst_message_parse_have_context(m, &c);
  gboolean foreign = c != NULL && g_strcmp0(gst_context_get_context_type(c), VF_CUDA_CONTEXT_TYPE) == 0 &&
                     shared.context != NULL && c != shared.context;
  if (c != NULL) gst_context_unref(c);
  return foreign;
}
