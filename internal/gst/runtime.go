package gst

/*
#cgo pkg-config: gstreamer-1.0
#include <stdlib.h>
#include <string.h>
#include "vf.h"

// vf_get_property serializes a property of a named element (at any depth)
// as GStreamer writes it (numbers, booleans; enums and flags by number); NULL with *err
// set when there is no such element or property.
static char *vf_get_property(vf_pipeline *p, const char *elem, const char *prop, char **err) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(p->pipe), elem);
  if (e == NULL) {
    *err = g_strdup_printf("no element named \"%s\" in %s", elem, GST_OBJECT_NAME(p->pipe));
    return NULL;
  }
  char *out = NULL;
  GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(e), prop);
  if (ps == NULL || !(ps->flags & G_PARAM_READABLE)) {
    *err = g_strdup_printf("element \"%s\" (%s) has no readable property \"%s\"", elem,
                           G_OBJECT_TYPE_NAME(e), prop);
  } else {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, ps->value_type);
    g_object_get_property(G_OBJECT(e), prop, &v);
    if (G_VALUE_HOLDS_STRING(&v))
      out = g_value_dup_string(&v);
    else if (G_VALUE_HOLDS_ENUM(&v))  // by number, as SetProperty takes it
      out = g_strdup_printf("%d", g_value_get_enum(&v));
    else if (G_VALUE_HOLDS_FLAGS(&v))
      out = g_strdup_printf("%u", g_value_get_flags(&v));
    else
      out = gst_value_serialize(&v);
    if (out == NULL) out = g_strdup("");
    g_value_unset(&v);
  }
  gst_object_unref(e);
  return out;
}

// vf_pad_caps is the current caps of a named element's static pad as a
// string (NULL before negotiation); *err is set when there is no such
// element or pad.
static char *vf_pad_caps(vf_pipeline *p, const char *elem, const char *pad, char **err) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(p->pipe), elem);
  if (e == NULL) {
    *err = g_strdup_printf("no element named \"%s\" in %s", elem, GST_OBJECT_NAME(p->pipe));
    return NULL;
  }
  char *out = NULL;
  GstPad *pd = gst_element_get_static_pad(e, pad);
  if (pd == NULL) {
    *err = g_strdup_printf("element \"%s\" has no pad \"%s\"", elem, pad);
  } else {
    GstCaps *c = gst_pad_get_current_caps(pd);
    if (c != NULL) {
      out = gst_caps_to_string(c);
      gst_caps_unref(c);
    }
    gst_object_unref(pd);
  }
  gst_object_unref(e);
  return out;
}

// vf_src_force_key_unit queues GstVideoEncoder's downstream force-key-unit
// event in an appsrc (appsrc keeps serialized events in order with its
// buffers): the encoder downstream makes the next buffer pushed a key
// frame, with the stream headers.
static int vf_src_force_key_unit(GstElement *src) {
  GstStructure *s = gst_structure_new("GstForceKeyUnit", "timestamp", G_TYPE_UINT64, GST_CLOCK_TIME_NONE,
                                      "stream-time", G_TYPE_UINT64, GST_CLOCK_TIME_NONE,
                                      "running-time", G_TYPE_UINT64, GST_CLOCK_TIME_NONE,
                                      "all-headers", G_TYPE_BOOLEAN, TRUE, "count", G_TYPE_UINT, 0, NULL);
  return gst_element_send_event(src, gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, s));
}

// Key-frame-only decoding (DeepStream's skip-frames 2): a buffer probe on
// each video decoder's sink pad drops the compressed frames demuxers and
// parsers mark as delta units. The mode lives on the pad (freed with it):
// 0 passes everything, 2 drops delta units, 3 (after 2) drops them until
// the next key frame and then passes everything, so that the decoder
// never gets a frame whose references it did not see.
static GstPadProbeReturn vf_skip_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  gint *mode = (gint *)data;
  gint m = g_atomic_int_get(mode);
  if (m == 0 || !(GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER)) return GST_PAD_PROBE_OK;
  if (!GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info), GST_BUFFER_FLAG_DELTA_UNIT)) {
    if (m == 3) g_atomic_int_set(mode, 0);
    return GST_PAD_PROBE_OK;
  }
  return GST_PAD_PROBE_DROP;
}

// vf_skip_frames sets the mode (0 or 2) on every video decoder of the
// pipeline, at any depth; it returns how many it found.
static int vf_skip_frames(vf_pipeline *p, int mode) {
  GstIterator *it = gst_bin_iterate_recurse(GST_BIN(p->pipe));
  GValue v = G_VALUE_INIT;
  int n = 0;
  gboolean done = FALSE;
  while (!done) {
    switch (gst_iterator_next(it, &v)) {
      case GST_ITERATOR_OK: {
        GstElement *e = g_value_get_object(&v);
        GstElementFactory *f = gst_element_get_factory(e);
        const gchar *klass = f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : NULL;
        GstPad *pad = NULL;
        if (klass && strstr(klass, "Decoder") && strstr(klass, "Video") && (pad = gst_element_get_static_pad(e, "sink"))) {
          gint *flag = g_object_get_data(G_OBJECT(pad), "vf-skip-frames");
          if (flag == NULL) {
            flag = g_new0(gint, 1);
            g_object_set_data_full(G_OBJECT(pad), "vf-skip-frames", flag, g_free);
            gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, vf_skip_probe, flag, NULL);
          }
          gint old = g_atomic_int_get(flag);
          g_atomic_int_set(flag, mode == 2 ? 2 : (old == 0 ? 0 : 3));
          gst_object_unref(pad);
          n++;
        }
        g_value_reset(&v);
        break;
      }
      case GST_ITERATOR_RESYNC:
        gst_iterator_resync(it);
        n = 0;
        break;
      default:
        done = TRUE;
    }
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  return n;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// GetProperty returns a property of the element named element, serialized
// as GStreamer writes it ("2000", "true"; enums and flags by number). It reads what
// the running element holds, for checking a change made with SetProperty.
func (p *Pipeline) GetProperty(element, name string) (string, error) {
	celem, cname := C.CString(element), C.CString(name)
	defer C.free(unsafe.Pointer(celem))
	defer C.free(unsafe.Pointer(cname))
	var out string
	err := p.use(func() error {
		var cerr *C.char
		v := C.vf_get_property(p.c, celem, cname, &cerr)
		if v == nil {
			return fmt.Errorf("gst: get property: %s", goString(cerr))
		}
		out = goString(v)
		return nil
	})
	return out, err
}

// PadCaps returns the negotiated caps of a pad of the element named
// element ("video/x-raw, format=(string)I420, width=(int)320, ..."), or
// "" before the pad has negotiated.
func (p *Pipeline) PadCaps(element, pad string) (string, error) {
	celem, cpad := C.CString(element), C.CString(pad)
	defer C.free(unsafe.Pointer(celem))
	defer C.free(unsafe.Pointer(cpad))
	var out string
	err := p.use(func() error {
		var cerr *C.char
		v := C.vf_pad_caps(p.c, celem, cpad, &cerr)
		if cerr != nil {
			return fmt.Errorf("gst: pad caps: %s", goString(cerr))
		}
		out = goString(v)
		return nil
	})
	return out, err
}

// ForceKeyUnit makes the next buffer Push sends a key frame of the
// encoder downstream (GStreamer's downstream force-key-unit event, queued
// in order with the buffers).
func (a *AppSrc) ForceKeyUnit() error {
	a.p.mu.RLock()
	defer a.p.mu.RUnlock()
	if a.p.c == nil || a.p.closed.Load() {
		return ErrClosed
	}
	if C.vf_src_force_key_unit(a.c) == 0 {
		return fmt.Errorf("gst: appsrc %q refused the force-key-unit event", a.name)
	}
	return nil
}

// DecodeKeyFramesOnly makes every video decoder of the pipeline decode key
// frames only (on), dropping the other compressed frames before it, or
// everything again (off: from the next key frame, so that no frame is
// decoded without its references). It returns the number of decoders; 0
// when the pipeline has none (yet: decodebin adds its decoder when it
// knows the stream).
func (p *Pipeline) DecodeKeyFramesOnly(on bool) (int, error) {
	mode := C.int(0)
	if on {
		mode = 2
	}
	var n int
	err := p.use(func() error { n = int(C.vf_skip_frames(p.c, mode)); return nil })
	return n, err
}
