// extra.h — C declarations for discover.c (GstDiscoverer) and rtsp.c
// (gst-rtsp-server). Same rules as vf.h: every reference taken here is
// released by an explicit vf_*_free call made from Go; strings returned as
// `char *` are g_malloc'ed and must be g_free'd by the caller.
#ifndef VIDFLOW_GST_EXTRA_H
#define VIDFLOW_GST_EXTRA_H

#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <gst/rtsp-server/rtsp-server.h>

// ---- discover.c ----

// Streams beyond these counts are not reported.
#define VF_MAX_STREAMS 64

typedef struct {
  char *codec, *caps;
  gint width, height, fps_n, fps_d;
  guint bitrate;
  gboolean image;
} vf_video_stream;

typedef struct {
  char *codec;
  gint channels, rate;
} vf_audio_stream;

typedef struct {
  char *uri;
  gint64 duration;  // ns, -1 when unknown
  gboolean live, seekable;
  gint n_video, n_audio;
  vf_video_stream video[VF_MAX_STREAMS];
  vf_audio_stream audio[VF_MAX_STREAMS];
} vf_media;

// Result codes of vf_discover.
enum {
  VF_DISC_OK = 0,
  VF_DISC_INVALID_URI,
  VF_DISC_NOT_FOUND,
  VF_DISC_CANNOT_OPEN,
  VF_DISC_MISSING_PLUGIN,
  VF_DISC_TIMEOUT,
  VF_DISC_NOT_MEDIA,
  VF_DISC_ERROR
};

char *vf_to_uri(const char *uri_or_path, char **err);
int vf_discover(const char *uri, guint64 timeout_ns, vf_media **out, char **err);
void vf_media_free(vf_media *m);

// ---- rtsp.c ----

typedef struct vf_rtsp vf_rtsp;

vf_rtsp *vf_rtsp_new(const char *address, int port, guint max_sessions, char **err);
int vf_rtsp_port(vf_rtsp *s);
void vf_rtsp_run(vf_rtsp *s);
void vf_rtsp_stop(vf_rtsp *s);
void vf_rtsp_free(vf_rtsp *s);
char *vf_rtsp_mount(vf_rtsp *s, const char *path, const char *launch, gboolean shared);
void vf_rtsp_unmount(vf_rtsp *s, const char *path);

#endif
