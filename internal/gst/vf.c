// vf.c — see vf.h.
#include "vf.h"

#include <math.h>
#include <string.h>

// Messages allowed to wait on the bus before non-essential ones are dropped.
// Errors and EOS are never dropped.
#define VF_BUS_MAX 1024

// From GStreamer 1.22's gstcudamemory.h (not installed on Debian): the
// caps feature of CUDA memory, and the map flag that maps it as a device
// pointer instead of downloading it.
#define VF_CAPS_CUDA "memory:CUDAMemory"
#define VF_MAP_CUDA (GST_MAP_FLAG_LAST << 1)

static GstBusSyncReply vf_sync_handler(GstBus *bus, GstMessage *m, gpointer data) {
  vf_pipeline *p = data;
  GstBusSyncReply r = GST_BUS_PASS;
  (void)bus;
  if (vf_cuda_answer(m)) return GST_BUS_DROP;  // answered: nobody else needs it
  gboolean foreign = vf_cuda_foreign(m);
  g_mutex_lock(&p->lock);
  if (foreign) p->cuda_foreign = TRUE;
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR && p->first_error == NULL)
    p->first_error = gst_message_ref(m);
  if (p->queued >= VF_BUS_MAX && GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR &&
      GST_MESSAGE_TYPE(m) != GST_MESSAGE_EOS) {
    p->dropped++;
    r = GST_BUS_DROP;
  } else {
    p->queued++;
  }
  g_mutex_unlock(&p->lock);
  return r;
}

vf_pipeline *vf_launch(const char *desc, char **err) {
  GError *gerr = NULL;
  GstElement *e = gst_parse_launch_full(desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &gerr);
  if (e == NULL) {
    *err = g_strdup(gerr != NULL ? gerr->message : "unknown parse error");
    g_clear_error(&gerr);
    return NULL;
  }
  g_clear_error(&gerr);
  gst_object_ref_sink(e);  // own exactly one reference from here on
  if (!GST_IS_PIPELINE(e)) {  // a single element or a bin: wrap it
    GstElement *pipe = gst_pipeline_new(NULL);
    gst_object_ref_sink(pipe);
    gst_bin_add(GST_BIN(pipe), e);
    gst_object_unref(e);
    e = pipe;
  }
  vf_pipeline *p = g_new0(vf_pipeline, 1);
  g_mutex_init(&p->lock);
  p->pipe = e;
  p->bus = gst_element_get_bus(e);
  gst_bus_set_sync_handler(p->bus, vf_sync_handler, p, NULL);
  vf_cuda_give(e);
  return p;
}

void vf_pipeline_free(vf_pipeline *p) {
  gst_element_set_state(p->pipe, GST_STATE_NULL);  // joins streaming threads
  gst_bus_set_sync_handler(p->bus, NULL, NULL, NULL);
  gst_bus_set_flushing(p->bus, TRUE);  // drops queued messages
  gst_object_unref(p->bus);
  gst_object_unref(p->pipe);
  if (p->first_error != NULL) gst_message_unref(p->first_error);
  g_mutex_clear(&p->lock);
  g_free(p);
}

const char *vf_pipeline_name(vf_pipeline *p) { return GST_OBJECT_NAME(p->pipe); }

char *vf_first_error(vf_pipeline *p, char **src, char **debug) {
  GstMessage *m = NULL;
  g_mutex_lock(&p->lock);
  if (p->first_error != NULL) m = gst_message_ref(p->first_error);
  g_mutex_unlock(&p->lock);
  if (m == NULL) return NULL;
  GError *e = NULL;
  gst_message_parse_error(m, &e, debug);
  *src = g_strdup(GST_MESSAGE_SRC_NAME(m));
  char *text = g_strdup(e->message);
  g_error_free(e);
  gst_message_unref(m);
  return text;
}

void vf_clear_error(vf_pipeline *p) {
  g_mutex_lock(&p->lock);
  if (p->first_error != NULL) gst_message_unref(p->first_error);
  p->first_error = NULL;
  g_mutex_unlock(&p->lock);
}

gboolean vf_pop_message(vf_pipeline *p, gint64 timeout_ns, vf_msg *out) {
  GstClockTime t = timeout_ns < 0 ? GST_CLOCK_TIME_NONE : (GstClockTime)timeout_ns;
  GstMessage *m = gst_bus_timed_pop(p->bus, t);
  if (m == NULL) return FALSE;
  g_mutex_lock(&p->lock);
  if (p->queued > 0) p->queued--;
  g_mutex_unlock(&p->lock);

  memset(out, 0, sizeof *out);
  out->type = GST_MESSAGE_TYPE(m);
  out->src = g_strdup(GST_MESSAGE_SRC(m) != NULL ? GST_MESSAGE_SRC_NAME(m) : "");
  GError *e = NULL;
  GstState o, n, pend;
  switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error(m, &e, &out->debug);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning(m, &e, &out->debug);
      break;
    case GST_MESSAGE_INFO:
      gst_message_parse_info(m, &e, &out->debug);
      break;
    case GST_MESSAGE_STATE_CHANGED:
      gst_message_parse_state_changed(m, &o, &n, &pend);
      out->old_state = o;
      out->new_state = n;
      out->pending_state = pend;
      break;
    default: {
      const GstStructure *s = gst_message_get_structure(m);
      if (s != NULL) out->text = gst_structure_to_string(s);
    }
  }
  if (e != NULL) {
    out->text = g_strdup(e->message);
    g_error_free(e);
  }
  gst_message_unref(m);
  return TRUE;
}

gboolean vf_has_element(vf_pipeline *p, const char *name) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(p->pipe), name);
  if (e == NULL) return FALSE;
  gst_object_unref(e);
  return TRUE;
}

// An integer arrives as sign + magnitude so that the full int64 and uint64
// ranges both fit. in_range reports whether it lies in [lo, hi].
static gboolean in_range(gboolean neg, guint64 mag, gint64 lo, guint64 hi) {
  if (neg) return lo < 0 && mag - 1 <= (guint64)(-(lo + 1));
  return mag <= hi;
}

static gint64 as_i64(gboolean neg, guint64 mag) { return neg ? -(gint64)(mag - 1) - 1 : (gint64)mag; }

// set_integer stores an integer into v (already initialised to the property
// type). Returns 0 on success, 1 when the type takes no integer, 2 when the
// value does not fit the C type.
static int set_integer(GValue *v, gboolean neg, guint64 mag) {
  gint64 x = as_i64(neg, mag);
  switch (G_TYPE_FUNDAMENTAL(G_VALUE_TYPE(v))) {
#define CASE(T, LO, HI, SET) \
  case T:                     \
    if (!in_range(neg, mag, LO, HI)) return 2; \
    SET;                      \
    return 0;
    CASE(G_TYPE_CHAR, G_MININT8, G_MAXINT8, g_value_set_schar(v, (gint8)x))
    CASE(G_TYPE_UCHAR, 0, G_MAXUINT8, g_value_set_uchar(v, (guchar)mag))
    CASE(G_TYPE_INT, G_MININT, G_MAXINT, g_value_set_int(v, (gint)x))
    CASE(G_TYPE_UINT, 0, G_MAXUINT, g_value_set_uint(v, (guint)mag))
    CASE(G_TYPE_LONG, G_MINLONG, G_MAXLONG, g_value_set_long(v, (glong)x))
    CASE(G_TYPE_ULONG, 0, G_MAXULONG, g_value_set_ulong(v, (gulong)mag))
    CASE(G_TYPE_INT64, G_MININT64, G_MAXINT64, g_value_set_int64(v, x))
    CASE(G_TYPE_UINT64, 0, G_MAXUINT64, g_value_set_uint64(v, mag))
    CASE(G_TYPE_ENUM, G_MININT, G_MAXINT, g_value_set_enum(v, (gint)x))
    CASE(G_TYPE_FLAGS, 0, G_MAXUINT, g_value_set_flags(v, (guint)mag))
#undef CASE
    case G_TYPE_FLOAT:
      g_value_set_float(v, neg ? -(gfloat)mag : (gfloat)mag);
      return 0;
    case G_TYPE_DOUBLE:
      g_value_set_double(v, neg ? -(gdouble)mag : (gdouble)mag);
      return 0;
    default:
      return 1;
  }
}

char *vf_set_property(vf_pipeline *p, const char *elem, const char *prop, int kind,
                      gboolean neg, guint64 mag, double d, const char *s) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(p->pipe), elem);
  if (e == NULL)
    return g_strdup_printf("no element named \"%s\" in %s", elem, GST_OBJECT_NAME(p->pipe));
  char *err = NULL;
  GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(e), prop);
  if (ps == NULL) {
    err = g_strdup_printf("element \"%s\" (%s) has no property \"%s\"", elem,
                          G_OBJECT_TYPE_NAME(e), prop);
    goto out;
  }
  if (!(ps->flags & G_PARAM_WRITABLE) || (ps->flags & G_PARAM_CONSTRUCT_ONLY)) {
    err = g_strdup_printf("property \"%s\" of element \"%s\" is not writable", prop, elem);
    goto out;
  }
  GValue v = G_VALUE_INIT;
  g_value_init(&v, ps->value_type);
  GType f = G_TYPE_FUNDAMENTAL(ps->value_type);
  int rc = 1;  // 0 ok, 1 type mismatch, 2 out of range
  switch (kind) {
    case VF_BOOL:
      if (f == G_TYPE_BOOLEAN) g_value_set_boolean(&v, mag != 0), rc = 0;
      break;
    case VF_INT:
      rc = set_integer(&v, neg, mag);
      break;
    case VF_DOUBLE:
      if (f == G_TYPE_DOUBLE) {
        g_value_set_double(&v, d), rc = 0;
      } else if (f == G_TYPE_FLOAT) {
        rc = (isfinite(d) && fabs(d) > G_MAXFLOAT) ? 2 : 0;
        if (rc == 0) g_value_set_float(&v, (gfloat)d);
      }
      break;
    case VF_STRING:
      // Strings convert to anything GStreamer can deserialize: numbers,
      // booleans, enums by nick/name/number, flags ("a+b"), caps, fractions.
      if (f == G_TYPE_STRING) g_value_set_string(&v, s), rc = 0;
      else rc = gst_value_deserialize(&v, s) ? 0 : 1;
      break;
  }
  if (rc == 0 && g_param_value_validate(ps, &v)) rc = 2;  // clamped: out of range
  if (rc == 1) {
    err = g_strdup_printf("property \"%s\" of element \"%s\" has type %s: cannot set it from %s%s%s",
                          prop, elem, g_type_name(ps->value_type),
                          kind == VF_STRING ? "string \"" : "this Go value",
                          kind == VF_STRING ? s : "", kind == VF_STRING ? "\"" : "");
  } else if (rc == 2) {
    err = g_strdup_printf("value out of range for property \"%s\" (%s) of element \"%s\"", prop,
                          g_type_name(ps->value_type), elem);
  } else {
    g_object_set_property(G_OBJECT(e), prop, &v);
  }
  g_value_unset(&v);
out:
  gst_object_unref(e);
  return err;
}

vf_sink *vf_sink_new(vf_pipeline *p, const char *name, guint default_max_buffers, char **err) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(p->pipe), name);
  if (e == NULL) {
    *err = g_strdup_printf("no element named \"%s\" in %s", name, GST_OBJECT_NAME(p->pipe));
    return NULL;
  }
  if (!GST_IS_APP_SINK(e)) {
    *err = g_strdup_printf("element \"%s\" is a %s, not an appsink", name, G_OBJECT_TYPE_NAME(e));
    gst_object_unref(e);
    return NULL;
  }
  if (gst_app_sink_get_max_buffers(GST_APP_SINK(e)) == 0)  // 0 = unbounded
    gst_app_sink_set_max_buffers(GST_APP_SINK(e), default_max_buffers);
  vf_sink *s = g_new0(vf_sink, 1);
  g_mutex_init(&s->lock);
  s->sink = e;
  s->p = p;
  return s;
}

void vf_sink_free(vf_sink *s) {
  gst_caps_replace(&s->caps, NULL);
  gst_object_unref(s->sink);
  g_mutex_clear(&s->lock);
  g_free(s);
}

// Waits are cut into slices so that an error posted on the bus (which does
// not wake the appsink) ends a long Pull within one slice.
#define VF_PULL_SLICE (100 * GST_MSECOND)

int vf_sink_pull(vf_sink *s, gint64 timeout_ns, vf_frame *f) {
  gint64 deadline = timeout_ns < 0 ? -1 : g_get_monotonic_time() + timeout_ns / 1000;
  GstSample *sample;
  for (;;) {
    gint64 wait = VF_PULL_SLICE;
    if (deadline >= 0) wait = MAX(MIN(wait, (deadline - g_get_monotonic_time()) * 1000), 0);
    sample = gst_app_sink_try_pull_sample(GST_APP_SINK(s->sink), (GstClockTime)wait);
    if (sample != NULL) break;
    // Flushing first: gst_app_sink_is_eos is also TRUE below PAUSED.
    if (GST_PAD_IS_FLUSHING(GST_BASE_SINK_PAD(s->sink))) return VF_PULL_FLUSHING;
    if (gst_app_sink_is_eos(GST_APP_SINK(s->sink))) return VF_PULL_EOS;
    g_mutex_lock(&s->p->lock);
    gboolean failed = s->p->first_error != NULL;
    g_mutex_unlock(&s->p->lock);
    if (failed) return VF_PULL_ERROR;
    if (deadline >= 0 && g_get_monotonic_time() >= deadline) return VF_PULL_TIMEOUT;
  }
  GstBuffer *buf = gst_sample_get_buffer(sample);
  // Caps are parsed only when they change (same pointer, or equal caps).
  GstCaps *caps = gst_sample_get_caps(sample);
  g_mutex_lock(&s->lock);
  if (caps != s->caps) {
    if (caps == NULL || s->caps == NULL || !gst_caps_is_equal(caps, s->caps)) {
      s->video_ok = caps != NULL && gst_video_info_from_caps(&s->info, caps);
      GstCapsFeatures *feat = caps != NULL && gst_caps_get_size(caps) > 0 ? gst_caps_get_features(caps, 0) : NULL;
      s->cuda = feat != NULL && gst_caps_features_contains(feat, VF_CAPS_CUDA);
    }
    gst_caps_replace(&s->caps, caps);
  }
  f->cuda = s->cuda;
  g_mutex_unlock(&s->lock);
  // CUDA memory is mapped as a device pointer (GST_MAP_CUDA), never
  // downloaded; a buffer of several memories would be merged by a copy.
  GstMapFlags flags = f->cuda ? (GstMapFlags)(GST_MAP_READ | VF_MAP_CUDA) : GST_MAP_READ;
  if (buf == NULL || (f->cuda && gst_buffer_n_memory(buf) != 1) || !gst_buffer_map(buf, &f->map, flags)) {
    gst_sample_unref(sample);
    return VF_PULL_NOBUF;
  }
  f->sample = sample;
  f->buffer = buf;
  f->pts = GST_BUFFER_PTS_IS_VALID(buf) ? (gint64)GST_BUFFER_PTS(buf) : -1;
  f->duration = GST_BUFFER_DURATION_IS_VALID(buf) ? (gint64)GST_BUFFER_DURATION(buf) : -1;

  g_mutex_lock(&s->lock);
  if (s->video_ok) {
    const GstVideoInfo *vi = &s->info;
    f->format = GST_VIDEO_INFO_FORMAT(vi);
    f->width = GST_VIDEO_INFO_WIDTH(vi);
    f->height = GST_VIDEO_INFO_HEIGHT(vi);
    f->n_planes = GST_VIDEO_INFO_N_PLANES(vi);
    for (int i = 0; i < 4; i++) {
      f->stride[i] = GST_VIDEO_INFO_PLANE_STRIDE(vi, i);
      f->offset[i] = GST_VIDEO_INFO_PLANE_OFFSET(vi, i);
    }
  } else {
    f->format = f->width = f->height = f->n_planes = 0;
    memset(f->stride, 0, sizeof f->stride);
    memset(f->offset, 0, sizeof f->offset);
  }
  g_mutex_unlock(&s->lock);

  // Upstream may lay planes out differently: GstVideoMeta wins when present.
  GstVideoMeta *meta = gst_buffer_get_video_meta(buf);
  if (meta != NULL) {
    f->format = meta->format;
    f->width = meta->width;
    f->height = meta->height;
    f->n_planes = meta->n_planes;
    for (int i = 0; i < 4; i++) {
      f->stride[i] = i < (int)meta->n_planes ? meta->stride[i] : 0;
      f->offset[i] = i < (int)meta->n_planes ? meta->offset[i] : 0;
    }
  }
  return VF_PULL_OK;
}

void vf_frame_release(vf_frame *f) {
  if (f->sample == NULL) return;
  gst_buffer_unmap(f->buffer, &f->map);
  gst_sample_unref(f->sample);
  f->sample = NULL;
  f->buffer = NULL;
}

GstElement *vf_src_new(vf_pipeline *p, const char *name, char **err) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(p->pipe), name);
  if (e == NULL) {
    *err = g_strdup_printf("no element named \"%s\" in %s", name, GST_OBJECT_NAME(p->pipe));
    return NULL;
  }
  if (!GST_IS_APP_SRC(e)) {
    *err = g_strdup_printf("element \"%s\" is a %s, not an appsrc", name, G_OBJECT_TYPE_NAME(e));
    gst_object_unref(e);
    return NULL;
  }
  // Timestamped buffers, and back-pressure instead of an unbounded queue:
  // pushes block once max-bytes/max-buffers/max-time is reached.
  GstFormat fmt;
  g_object_get(e, "format", &fmt, NULL);
  if (fmt == GST_FORMAT_BYTES) g_object_set(e, "format", GST_FORMAT_TIME, NULL);
  g_object_set(e, "block", TRUE, NULL);
  return e;
}

char *vf_src_set_caps(GstElement *src, const char *caps) {
  GstCaps *c = gst_caps_from_string(caps);
  if (c == NULL) return g_strdup_printf("cannot parse caps \"%s\"", caps);
  gst_app_src_set_caps(GST_APP_SRC(src), c);
  gst_caps_unref(c);
  return NULL;
}

// An appsrc below PAUSED (and not heading there) still queues buffers, and
// with block=true a push into a full queue would then wait forever: refuse.
static gboolean src_stopped(GstElement *src) {
  GST_OBJECT_LOCK(src);
  gboolean stopped = GST_STATE(src) < GST_STATE_PAUSED && GST_STATE_TARGET(src) < GST_STATE_PAUSED;
  GST_OBJECT_UNLOCK(src);
  return stopped;
}

int vf_src_push(GstElement *src, const void *data, gsize size, gint64 pts, gint64 dur) {
  if (src_stopped(src)) return GST_FLOW_FLUSHING;
  GstBuffer *b = gst_buffer_new_allocate(NULL, size, NULL);
  if (b == NULL) return GST_FLOW_ERROR;
  gst_buffer_fill(b, 0, data, size);  // copy: C keeps no Go pointer
  GST_BUFFER_PTS(b) = pts < 0 ? GST_CLOCK_TIME_NONE : (GstClockTime)pts;
  GST_BUFFER_DURATION(b) = dur < 0 ? GST_CLOCK_TIME_NONE : (GstClockTime)dur;
  return gst_app_src_push_buffer(GST_APP_SRC(src), b);  // takes ownership
}

int vf_src_eos(GstElement *src) {
  if (src_stopped(src)) return GST_FLOW_FLUSHING;
  return gst_app_src_end_of_stream(GST_APP_SRC(src));
}
