// decoders.c — see decoders.h.
#include "decoders.h"

#include <string.h>

gboolean vf_factory_exists(const char *name) {
  GstElementFactory *f = gst_element_factory_find(name);
  if (f == NULL) return FALSE;
  gst_object_unref(f);
  return TRUE;
}

gint vf_factory_rank(const char *name) {
  GstElementFactory *f = gst_element_factory_find(name);
  if (f == NULL) return -1;
  gint r = (gint)gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(f));
  gst_object_unref(f);
  return r;
}

gboolean vf_factory_set_rank(const char *name, guint rank) {
  GstElementFactory *f = gst_element_factory_find(name);
  if (f == NULL) return FALSE;
  gst_plugin_feature_set_rank(GST_PLUGIN_FEATURE(f), rank);
  gst_object_unref(f);
  return TRUE;
}

// The element factories of plugin whose klass contains klass (all of its
// '/'-separated words), as a comma-separated list ("" when none).
char *vf_plugin_factories(const char *plugin, const char *klass) {
  GList *feats = gst_registry_get_feature_list_by_plugin(gst_registry_get(), plugin);
  gchar **words = g_strsplit(klass, "/", -1);
  GString *out = g_string_new(NULL);
  for (GList *l = feats; l != NULL; l = l->next) {
    if (!GST_IS_ELEMENT_FACTORY(l->data)) continue;
    GstElementFactory *f = GST_ELEMENT_FACTORY(l->data);
    const char *k = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
    gboolean ok = k != NULL;
    for (int i = 0; ok && words[i] != NULL; i++)
      if (words[i][0] != '\0' && strstr(k, words[i]) == NULL) ok = FALSE;
    if (!ok) continue;
    if (out->len > 0) g_string_append_c(out, ',');
    g_string_append(out, GST_OBJECT_NAME(f));
  }
  g_strfreev(words);
  gst_plugin_feature_list_free(feats);
  return g_string_free(out, FALSE);
}

// What a pipeline's decodebins chose, kept on the pipeline element
// (g_object_set_data_full) so that it lives as long as the signal handlers.
typedef struct {
  GMutex lock;
  int choice;
  char *codec;    // caps of the last video stream a decoder was looked for
  char *factory;  // the decoder factory tried last for it, or NULL
  char *plugin;   // its plugin
  gboolean refused;  // a decoder was left out because of the choice
} vf_decoders;

static void vf_decoders_free(gpointer data) {
  vf_decoders *d = data;
  g_free(d->codec);
  g_free(d->factory);
  g_free(d->plugin);
  g_mutex_clear(&d->lock);
  g_free(d);
}

// decodebin's GstAutoplugSelectResult (not in a public header).
enum { VF_AUTOPLUG_TRY = 0, VF_AUTOPLUG_SKIP = 2 };

// "autoplug-select" of decodebin/uridecodebin: called, in rank order, for
// every factory decodebin considers for a pad, until one is tried and works.
static gint vf_autoplug_select(GstElement *bin, GstPad *pad, GstCaps *caps,
                               GstElementFactory *f, gpointer data) {
  vf_decoders *d = data;
  (void)bin;
  (void)pad;
  const char *k = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
  if (k == NULL || strstr(k, "Decoder") == NULL ||
      (strstr(k, "Video") == NULL && strstr(k, "Image") == NULL))
    return VF_AUTOPLUG_TRY;  // not a video decoder: decodebin's own choice
  const char *plugin = gst_plugin_feature_get_plugin_name(GST_PLUGIN_FEATURE(f));
  gboolean nv = plugin != NULL && strcmp(plugin, "nvcodec") == 0;
  gint r = VF_AUTOPLUG_TRY;
  g_mutex_lock(&d->lock);
  g_free(d->codec);
  d->codec = caps != NULL ? gst_caps_to_string(caps) : NULL;
  if ((d->choice == VF_DEC_NVIDIA && !nv) || (d->choice == VF_DEC_SOFTWARE && nv)) {
    d->refused = TRUE;
    r = VF_AUTOPLUG_SKIP;
  } else {
    g_free(d->factory);
    g_free(d->plugin);
    d->factory = g_strdup(GST_OBJECT_NAME(f));
    d->plugin = g_strdup(plugin);
  }
  g_mutex_unlock(&d->lock);
  return r;
}

// vf_watch_decoders makes every decodebin/uridecodebin of the pipeline
// (any element with an "autoplug-select" signal) follow choice and record
// the video decoder it picks. Call before the pipeline leaves NULL; once.
// Returns the number of bins watched.
int vf_watch_decoders(vf_pipeline *p, int choice) {
  vf_decoders *d = g_new0(vf_decoders, 1);
  g_mutex_init(&d->lock);
  d->choice = choice;
  g_object_set_data_full(G_OBJECT(p->pipe), "vf-decoders", d, vf_decoders_free);
  int n = 0;
  GstIterator *it = gst_bin_iterate_recurse(GST_BIN(p->pipe));
  GValue v = G_VALUE_INIT;
  gboolean done = FALSE;
  while (!done) {
    switch (gst_iterator_next(it, &v)) {
      case GST_ITERATOR_OK: {
        GstElement *e = g_value_get_object(&v);
        if (g_signal_lookup("autoplug-select", G_OBJECT_TYPE(e)) != 0) {
          g_signal_connect(e, "autoplug-select", G_CALLBACK(vf_autoplug_select), d);
          n++;
        }
        g_value_reset(&v);
        break;
      }
      case GST_ITERATOR_RESYNC:
        gst_iterator_resync(it);
        break;
      default:
        done = TRUE;
    }
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  return n;
}

// vf_decoder_info returns the caps of the last video stream a decoder was
// looked for (NULL when none yet), and the decoder factory and plugin
// chosen for it (NULL when none).
char *vf_decoder_info(vf_pipeline *p, char **factory, char **plugin, gboolean *refused) {
  vf_decoders *d = g_object_get_data(G_OBJECT(p->pipe), "vf-decoders");
  *factory = *plugin = NULL;
  *refused = FALSE;
  if (d == NULL) return NULL;
  g_mutex_lock(&d->lock);
  char *codec = g_strdup(d->codec);
  *factory = g_strdup(d->factory);
  *plugin = g_strdup(d->plugin);
  *refused = d->refused;
  g_mutex_unlock(&d->lock);
  return codec;
}
