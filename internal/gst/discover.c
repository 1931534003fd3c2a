// discover.c — media information through GstDiscoverer (synchronous mode:
// it polls its own bus and uses no GMainContext). See extra.h.
#include "extra.h"

#include <string.h>

// vf_to_uri returns uri_or_path as a URI: strings that are valid URIs with
// a "scheme://" prefix are kept as they are, anything else is a file name
// made absolute (against the working directory) by gst_filename_to_uri.
char *vf_to_uri(const char *uri_or_path, char **err) {
  if (strstr(uri_or_path, "://") != NULL && gst_uri_is_valid(uri_or_path))
    return g_strdup(uri_or_path);
  GError *gerr = NULL;
  char *uri = gst_filename_to_uri(uri_or_path, &gerr);
  if (uri == NULL) {
    *err = g_strdup(gerr != NULL ? gerr->message : "cannot convert the file name to a URI");
    g_clear_error(&gerr);
  }
  return uri;
}

// codec_name describes caps as gst-discoverer does: the pbutils description
// ("H.264 (High Profile)"), or the caps' media type when pbutils has none.
static char *codec_name(GstCaps *caps) {
  if (caps == NULL || gst_caps_is_empty(caps) || gst_caps_is_any(caps)) return g_strdup("unknown");
  char *d = gst_pb_utils_get_codec_description(caps);
  if (d != NULL) return d;
  return g_strdup(gst_structure_get_name(gst_caps_get_structure(caps, 0)));
}

// missing_plugins lists the human-readable descriptions of the missing
// elements (the 4th field of the installer details).
static char *missing_plugins(GstDiscovererInfo *info) {
  const gchar **details = gst_discoverer_info_get_missing_elements_installer_details(info);
  GString *s = g_string_new(NULL);
  for (int i = 0; details != NULL && details[i] != NULL; i++) {
    gchar **f = g_strsplit(details[i], "|", 5);
    const char *what = g_strv_length(f) >= 4 ? f[3] : details[i];
    if (s->len > 0) g_string_append(s, ", ");
    g_string_append(s, what);
    g_strfreev(f);
  }
  return g_string_free(s, FALSE);
}

static int error_code(const GError *e) {
  if (e == NULL) return VF_DISC_ERROR;
  if (e->domain == GST_RESOURCE_ERROR) {
    switch (e->code) {
      case GST_RESOURCE_ERROR_NOT_FOUND:
        return VF_DISC_NOT_FOUND;
      case GST_RESOURCE_ERROR_OPEN_READ:
      case GST_RESOURCE_ERROR_OPEN_WRITE:
      case GST_RESOURCE_ERROR_OPEN_READ_WRITE:
      case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
        return VF_DISC_CANNOT_OPEN;
    }
  }
  if (e->domain == GST_STREAM_ERROR) {
    switch (e->code) {
      case GST_STREAM_ERROR_TYPE_NOT_FOUND:
      case GST_STREAM_ERROR_WRONG_TYPE:
        return VF_DISC_NOT_MEDIA;
      case GST_STREAM_ERROR_CODEC_NOT_FOUND:
        return VF_DISC_MISSING_PLUGIN;
    }
  }
  if (e->domain == GST_CORE_ERROR && e->code == GST_CORE_ERROR_MISSING_PLUGIN)
    return VF_DISC_MISSING_PLUGIN;
  return VF_DISC_ERROR;
}

static void fill(vf_media *m, GstDiscovererInfo *info) {
  GstClockTime d = gst_discoverer_info_get_duration(info);
  m->duration = GST_CLOCK_TIME_IS_VALID(d) ? (gint64)d : -1;
  m->live = gst_discoverer_info_get_live(info);
  m->seekable = gst_discoverer_info_get_seekable(info);

  GList *vs = gst_discoverer_info_get_video_streams(info);
  for (GList *l = vs; l != NULL && m->n_video < VF_MAX_STREAMS; l = l->next) {
    GstDiscovererVideoInfo *v = l->data;
    vf_video_stream *o = &m->video[m->n_video++];
    GstCaps *caps = gst_discoverer_stream_info_get_caps(l->data);
    o->codec = codec_name(caps);
    o->caps = caps != NULL ? gst_caps_to_string(caps) : g_strdup("");
    if (caps != NULL) gst_caps_unref(caps);
    o->width = (gint)gst_discoverer_video_info_get_width(v);
    o->height = (gint)gst_discoverer_video_info_get_height(v);
    o->fps_n = (gint)gst_discoverer_video_info_get_framerate_num(v);
    o->fps_d = (gint)gst_discoverer_video_info_get_framerate_denom(v);
    o->bitrate = gst_discoverer_video_info_get_bitrate(v);
    if (o->bitrate == 0) o->bitrate = gst_discoverer_video_info_get_max_bitrate(v);
    o->image = gst_discoverer_video_info_is_image(v);
  }
  gst_discoverer_stream_info_list_free(vs);

  GList *as = gst_discoverer_info_get_audio_streams(info);
  for (GList *l = as; l != NULL && m->n_audio < VF_MAX_STREAMS; l = l->next) {
    GstDiscovererAudioInfo *a = l->data;
    vf_audio_stream *o = &m->audio[m->n_audio++];
    GstCaps *caps = gst_discoverer_stream_info_get_caps(l->data);
    o->codec = codec_name(caps);
    if (caps != NULL) gst_caps_unref(caps);
    o->channels = (gint)gst_discoverer_audio_info_get_channels(a);
    o->rate = (gint)gst_discoverer_audio_info_get_sample_rate(a);
  }
  gst_discoverer_stream_info_list_free(as);
}

// vf_discover inspects uri (already a URI, see vf_to_uri) within timeout_ns
// (GstDiscoverer accepts 1 s to 1 h; the caller clamps). On VF_DISC_OK *out
// is a new vf_media for vf_media_free; otherwise *err says why.
int vf_discover(const char *uri, guint64 timeout_ns, vf_media **out, char **err) {
  static gsize pb_init = 0;
  if (g_once_init_enter(&pb_init)) {
    gst_pb_utils_init();
    g_once_init_leave(&pb_init, 1);
  }
  *out = NULL;
  GError *gerr = NULL;
  GstDiscoverer *dc = gst_discoverer_new((GstClockTime)timeout_ns, &gerr);
  if (dc == NULL) {
    *err = g_strdup_printf("cannot create a discoverer: %s",
                           gerr != NULL ? gerr->message : "unknown error");
    g_clear_error(&gerr);
    return VF_DISC_ERROR;
  }
  GstDiscovererInfo *info = gst_discoverer_discover_uri(dc, uri, &gerr);
  GstDiscovererResult res = info != NULL ? gst_discoverer_info_get_result(info) : GST_DISCOVERER_ERROR;
  int rc = VF_DISC_OK;
  switch (res) {
    case GST_DISCOVERER_OK:
      break;
    case GST_DISCOVERER_URI_INVALID:
      rc = VF_DISC_INVALID_URI;
      *err = g_strdup(gerr != NULL ? gerr->message : "invalid URI");
      break;
    case GST_DISCOVERER_TIMEOUT:
      rc = VF_DISC_TIMEOUT;
      *err = g_strdup_printf("no answer within %.1f s", (double)timeout_ns / GST_SECOND);
      break;
    case GST_DISCOVERER_MISSING_PLUGINS:
      rc = VF_DISC_MISSING_PLUGIN;
      *err = missing_plugins(info);
      if (**err == '\0' && gerr != NULL) {
        g_free(*err);
        *err = g_strdup(gerr->message);
      }
      break;
    case GST_DISCOVERER_BUSY:
    case GST_DISCOVERER_ERROR:
    default:
      rc = error_code(gerr);
      *err = g_strdup(gerr != NULL ? gerr->message : "unknown error");
      break;
  }
  if (rc == VF_DISC_OK) {
    vf_media *m = g_new0(vf_media, 1);
    m->uri = g_strdup(uri);
    fill(m, info);
    if (m->n_video == 0 && m->n_audio == 0) {
      vf_media_free(m);
      rc = VF_DISC_NOT_MEDIA;
      *err = g_strdup("no audio or video stream");
    } else {
      *out = m;
    }
  }
  g_clear_error(&gerr);
  if (info != NULL) gst_discoverer_info_unref(info);
  g_object_unref(dc);
  return rc;
}

void vf_media_free(vf_media *m) {
  if (m == NULL) return;
  g_free(m->uri);
  for (int i = 0; i < m->n_video; i++) {
    g_free(m->video[i].codec);
    g_free(m->video[i].caps);
  }
  for (int i = 0; i < m->n_audio; i++) g_free(m->audio[i].codec);
  g_free(m);
}
