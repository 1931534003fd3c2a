// rtsp.c — an RTSP server (gst-rtsp-server) on a GMainContext of its own,
// run by one dedicated thread. See extra.h and rtsp.go.
//
// Threads: the listening socket and the session cleanup timer are sources of
// s->ctx, dispatched by vf_rtsp_run. Clients and media pipelines run in the
// threads of the server's GstRTSPThreadPool (each with its own context), as
// gst-rtsp-server does by default; nothing touches the default context.
#include "extra.h"

#include <string.h>

// Seconds between two sweeps of expired sessions (clients gone without a
// TEARDOWN, e.g. UDP clients that were killed).
#define VF_RTSP_CLEANUP_S 2

struct vf_rtsp {
  GMainContext *ctx;
  GMainLoop *loop;
  GstRTSPServer *server;
  GstRTSPMountPoints *mounts;
  GstRTSPSessionPool *pool;
  GSource *listen;   // the listening socket's source, attached to ctx
  GSource *cleanup;  // session pool cleanup timer, attached to ctx
  int port;
};

static gboolean cleanup_sessions(gpointer data) {
  vf_rtsp *s = data;
  gst_rtsp_session_pool_cleanup(s->pool);
  return G_SOURCE_CONTINUE;
}

vf_rtsp *vf_rtsp_new(const char *address, int port, guint max_sessions, char **err) {
  vf_rtsp *s = g_new0(vf_rtsp, 1);
  s->ctx = g_main_context_new();
  s->loop = g_main_loop_new(s->ctx, FALSE);
  s->server = gst_rtsp_server_new();
  s->mounts = gst_rtsp_server_get_mount_points(s->server);
  s->pool = gst_rtsp_server_get_session_pool(s->server);
  gst_rtsp_session_pool_set_max_sessions(s->pool, max_sessions);
  gst_rtsp_server_set_address(s->server, address);
  char service[16];
  g_snprintf(service, sizeof service, "%d", port);
  gst_rtsp_server_set_service(s->server, service);

  // What gst_rtsp_server_attach(server, ctx) does, but with the GError of
  // a failed bind ("Address already in use") instead of a g_warning.
  GError *gerr = NULL;
  s->listen = gst_rtsp_server_create_source(s->server, NULL, &gerr);
  if (s->listen == NULL) {
    *err = g_strdup(gerr != NULL ? gerr->message : "cannot create the listening socket");
    g_clear_error(&gerr);
    vf_rtsp_free(s);
    return NULL;
  }
  g_source_attach(s->listen, s->ctx);
  s->port = gst_rtsp_server_get_bound_port(s->server);

  s->cleanup = g_timeout_source_new_seconds(VF_RTSP_CLEANUP_S);
  g_source_set_callback(s->cleanup, cleanup_sessions, s, NULL);
  g_source_attach(s->cleanup, s->ctx);
  return s;
}

int vf_rtsp_port(vf_rtsp *s) { return s->port; }

// vf_rtsp_run runs the server's main loop until vf_rtsp_stop; the calling
// thread must not change until it returns.
void vf_rtsp_run(vf_rtsp *s) {
  g_main_context_push_thread_default(s->ctx);
  g_main_loop_run(s->loop);
  g_main_context_pop_thread_default(s->ctx);
}

static GstRTSPFilterResult remove_client(GstRTSPServer *server, GstRTSPClient *client,
                                         gpointer data) {
  (void)server, (void)client, (void)data;
  return GST_RTSP_FILTER_REMOVE;
}

static GstRTSPFilterResult remove_session(GstRTSPSessionPool *pool, GstRTSPSession *session,
                                          gpointer data) {
  (void)pool, (void)session, (void)data;
  return GST_RTSP_FILTER_REMOVE;
}

// Runs in the loop thread: no new clients, disconnect the current ones, end
// their sessions (UDP sessions outlive their RTSP connection), quit.
static gboolean stop_in_loop(gpointer data) {
  vf_rtsp *s = data;
  g_source_destroy(s->listen);
  g_source_destroy(s->cleanup);
  gst_rtsp_server_client_filter(s->server, remove_client, NULL);
  gst_rtsp_session_pool_filter(s->pool, remove_session, NULL);
  g_main_loop_quit(s->loop);
  return G_SOURCE_REMOVE;
}

// vf_rtsp_stop makes vf_rtsp_run return soon; any thread may call it. An
// idle source is attached rather than g_main_context_invoke, which would
// run stop_in_loop in the caller when the loop has not started yet.
void vf_rtsp_stop(vf_rtsp *s) {
  GSource *idle = g_idle_source_new();
  g_source_set_priority(idle, G_PRIORITY_HIGH);
  g_source_set_callback(idle, stop_in_loop, s, NULL);
  g_source_attach(idle, s->ctx);
  g_source_unref(idle);
}

// vf_rtsp_free releases everything; vf_rtsp_run must have returned (or
// never been called). The listening socket is closed on return.
void vf_rtsp_free(vf_rtsp *s) {
  if (s->listen != NULL) {
    g_source_destroy(s->listen);
    g_source_unref(s->listen);
  }
  if (s->cleanup != NULL) {
    g_source_destroy(s->cleanup);
    g_source_unref(s->cleanup);
  }
  // Again, for clients that connected between stop_in_loop and now.
  gst_rtsp_server_client_filter(s->server, remove_client, NULL);
  gst_rtsp_session_pool_filter(s->pool, remove_session, NULL);
  g_object_unref(s->pool);
  g_object_unref(s->mounts);
  g_object_unref(s->server);
  g_main_loop_unref(s->loop);
  g_main_context_unref(s->ctx);
  g_free(s);
}

// vf_rtsp_mount checks launch (it must parse, and name an element "pay0")
// and serves it at path. The caller makes sure path is not mounted yet.
char *vf_rtsp_mount(vf_rtsp *s, const char *path, const char *launch, gboolean shared) {
  GError *gerr = NULL;
  GstElement *e = gst_parse_launch_full(launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &gerr);
  if (e == NULL) {
    char *err = g_strdup_printf("cannot parse the launch line: %s",
                                gerr != NULL ? gerr->message : "unknown error");
    g_clear_error(&gerr);
    return err;
  }
  g_clear_error(&gerr);
  gst_object_ref_sink(e);
  gboolean has_pay0 = g_strcmp0(GST_OBJECT_NAME(e), "pay0") == 0;
  if (!has_pay0 && GST_IS_BIN(e)) {
    GstElement *pay = gst_bin_get_by_name(GST_BIN(e), "pay0");
    has_pay0 = pay != NULL;
    if (pay != NULL) gst_object_unref(pay);
  }
  gst_object_unref(e);
  if (!has_pay0) return g_strdup("the launch line has no payloader named pay0");

  GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
  char *bin = g_strdup_printf("( %s )", launch);
  gst_rtsp_media_factory_set_launch(f, bin);
  g_free(bin);
  gst_rtsp_media_factory_set_shared(f, shared);
  gst_rtsp_mount_points_add_factory(s->mounts, path, f);  // takes f
  return NULL;
}

void vf_rtsp_unmount(vf_rtsp *s, const char *path) {
  gst_rtsp_mount_points_remove_factory(s->mounts, path);
}
