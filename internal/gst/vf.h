// vf.h — the C half of package gst: thin helpers over GStreamer 1.22 that
// keep macros, GValue handling and the per-sample hot path out of Go.
//
// Ownership rules: every GstObject/GstSample reference taken here is released
// explicitly by a vf_*_free / vf_frame_release call made from Go; nothing
// relies on a Go finalizer. Strings returned as `char *` are g_malloc'ed and
// must be g_free'd by the caller.
#ifndef VIDFLOW_GST_VF_H
#define VIDFLOW_GST_VF_H

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

// A pipeline plus its bus, with the first error message recorded by a bus
// sync handler and a bound on the number of messages left on the bus.
typedef struct {
  GstElement *pipe;
  GstBus *bus;
  GMutex lock;
  GstMessage *first_error;  // first ERROR message seen (ref), or NULL
  gint queued;              // messages passed to the bus and not yet popped
  guint64 dropped;          // non-essential messages dropped at the bound
  gboolean cuda_foreign;    // an element made a CUDA context of its own
} vf_pipeline;

// Result codes of vf_sink_pull.
enum { VF_PULL_OK = 0, VF_PULL_TIMEOUT, VF_PULL_EOS, VF_PULL_FLUSHING, VF_PULL_ERROR, VF_PULL_NOBUF };

// Per-appsink state: the element and the caps last seen, parsed once.
typedef struct {
  GstElement *sink;
  vf_pipeline *p;  // owner, outlives the sink
  GMutex lock;
  GstCaps *caps;      // caps of the last sample (ref) or NULL
  GstVideoInfo info;  // parsed from caps when video_ok
  gboolean video_ok;
  gboolean cuda;  // the caps have the memory:CUDAMemory feature
} vf_sink;

// One pulled sample, mapped for reading. Lives inside a Go Sample (Go memory,
// holds only C pointers) until vf_frame_release.
typedef struct {
  GstSample *sample;
  GstBuffer *buffer;
  GstMapInfo map;
  gint64 pts, duration;  // -1 when unknown
  gint format;           // GstVideoFormat, 0 (unknown) for non-video caps
  gint width, height, n_planes;
  gint stride[4];
  guint64 offset[4];
  gboolean cuda;  // map.data is a CUDA device pointer (GST_MAP_CUDA)
} vf_frame;

// A bus message copied into plain values (strings g_malloc'ed or NULL).
typedef struct {
  gint type;  // GstMessageType
  char *src, *text, *debug;
  gint old_state, new_state, pending_state;
} vf_msg;

// Value kinds for vf_set_property.
enum { VF_BOOL = 1, VF_INT, VF_DOUBLE, VF_STRING };

vf_pipeline *vf_launch(const char *desc, char **err);
void vf_pipeline_free(vf_pipeline *p);
const char *vf_pipeline_name(vf_pipeline *p);
char *vf_first_error(vf_pipeline *p, char **src, char **debug);
void vf_clear_error(vf_pipeline *p);
gboolean vf_pop_message(vf_pipeline *p, gint64 timeout_ns, vf_msg *out);
gboolean vf_has_element(vf_pipeline *p, const char *name);
char *vf_set_property(vf_pipeline *p, const char *elem, const char *prop, int kind,
                      gboolean neg, guint64 mag, double d, const char *s);

vf_sink *vf_sink_new(vf_pipeline *p, const char *name, guint default_max_buffers, char **err);
void vf_sink_free(vf_sink *s);
int vf_sink_pull(vf_sink *s, gint64 timeout_ns, vf_frame *f);
void vf_frame_release(vf_frame *f);

GstElement *vf_src_new(vf_pipeline *p, const char *name, char **err);
char *vf_src_set_caps(GstElement *src, const char *caps);
int vf_src_push(GstElement *src, const void *data, gsize size, gint64 pts, gint64 dur);
int vf_src_eos(GstElement *src);

// cuda.c: the CUDA context shared with GStreamer's CUDA elements.
int vf_cuda_share(void *cu_ctx, int cu_device, int device, char *err, size_t errlen);
void vf_cuda_give(GstElement *pipe);
gboolean vf_cuda_answer(GstMessage *m);
gboolean vf_cuda_foreign(GstMessage *m);

#endif
