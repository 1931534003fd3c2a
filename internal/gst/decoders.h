// decoders.h — C declarations for decoders.c: element factories and their
// ranks, and the video decoder choice of a pipeline's decodebins. Same rules
// as vf.h: strings returned as `char *` are g_malloc'ed and must be
// g_free'd by the caller.
#ifndef VIDFLOW_GST_DECODERS_H
#define VIDFLOW_GST_DECODERS_H

#include "vf.h"

// Video decoder choices of vf_watch_decoders.
enum { VF_DEC_ANY = 0, VF_DEC_NVIDIA, VF_DEC_SOFTWARE };

gboolean vf_factory_exists(const char *name);
gint vf_factory_rank(const char *name);  // -1 when there is no such factory
gboolean vf_factory_set_rank(const char *name, guint rank);
char *vf_plugin_factories(const char *plugin, const char *klass);

int vf_watch_decoders(vf_pipeline *p, int choice);
char *vf_decoder_info(vf_pipeline *p, char **factory, char **plugin, gboolean *refused);

#endif
