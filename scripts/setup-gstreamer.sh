#!/usr/bin/env bash
# setup-gstreamer.sh — install the GStreamer 1.22 runtime, plugins and
# development headers that internal/gst (cgo + pkg-config) needs.
#
# Idempotent: packages already installed are skipped, and the apt index is
# refreshed only when something actually has to be installed. Runs as root,
# or through sudo when that is available. Target: Debian 12 (bookworm).
set -euo pipefail

PACKAGES=(
  libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  gstreamer1.0-tools
  gstreamer1.0-rtsp
  gstreamer1.0-x
  libgstrtspserver-1.0-dev
  pkg-config
)

log() { echo "[setup-gstreamer] $*"; }

. "$(dirname "$0")/lib/apt.sh"
apt_install setup-gstreamer "${PACKAGES[@]}"

log "step: verify pkg-config gstreamer-1.0 $(pkg-config --modversion gstreamer-1.0)"
for m in gstreamer-app-1.0 gstreamer-video-1.0; do
  pkg-config --exists "$m" || { log "error: pkg-config cannot find $m" >&2; exit 1; }
done
log "step: verify $(gst-launch-1.0 --version | head -n1)"
for el in videotestsrc appsink appsrc x264enc mp4mux avdec_h264 uridecodebin videoconvert videoscale; do
  gst-inspect-1.0 --exists "$el" || { log "error: GStreamer element $el not available" >&2; exit 1; }
done
log "done"
