#!/usr/bin/env bash
# setup-media.sh — fetch and transcode the sample media used by vidflow tests
# and benchmarks.
#
# Source: vtest.avi (768x576, 10 fps, 795 frames, pedestrians) shipped in the
# Debian opencv-doc package. The package is downloaded with `apt-get download`
# and unpacked with dpkg-deb into a temporary directory; it is never installed,
# and the .deb is deleted afterwards.
#
# Output (in ${VIDFLOW_CACHE:-$HOME/.cache/vidflow}/media):
#   vtest.avi          original
#   vtest.mp4          H.264/MP4, native 768x576
#   vtest-720p.mp4     H.264/MP4, 1280x720
#   vtest-1080p.mp4    H.264/MP4, 1920x1080
#
# Idempotent: files already present are kept. Every MP4 is checked to hold
# exactly 795 video frames. Needs gst-launch-1.0 with x264enc and mp4mux
# (run scripts/setup-gstreamer.sh first).
set -euo pipefail

CACHE=${VIDFLOW_CACHE:-$HOME/.cache/vidflow}
MEDIA=$CACHE/media
EXPECTED_FRAMES=795
AVI_IN_DEB=./usr/share/doc/opencv-doc/examples/data/vtest.avi

log() { echo "[setup-media] $*"; }
die() { echo "[setup-media] error: $*" >&2; exit 1; }

for tool in gst-launch-1.0 gst-inspect-1.0 dpkg-deb apt-get tar; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run scripts/setup-gstreamer.sh first)"
done
for el in x264enc mp4mux qtdemux h264parse decodebin videoconvert videoscale; do
  gst-inspect-1.0 --exists "$el" || die "GStreamer element $el not available (run scripts/setup-gstreamer.sh)"
done

mkdir -p "$MEDIA"
log "step: cache directory $MEDIA"

# count_frames FILE: number of video frames in an MP4 (demux only, no decode).
count_frames() {
  gst-launch-1.0 -v filesrc location="$1" ! qtdemux ! video/x-h264 ! \
    fakesink silent=false sync=false 2>/dev/null | grep -c 'last-message = chain' || true
}

# 1. vtest.avi from the opencv-doc package.
if [[ -s $MEDIA/vtest.avi ]]; then
  log "step: vtest.avi present, skipping download"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # apt's sandbox user must be able to write the download directory.
  chmod 0777 "$tmp"
  log "step: apt-get download opencv-doc (not installed, unpacked only)"
  if ! (cd "$tmp" && apt-get download -qq opencv-doc >/dev/null 2>&1); then
    if [[ $(id -u) -eq 0 ]]; then
      log "step: apt-get update (package lists missing or stale)"
      apt-get update -qq
      (cd "$tmp" && apt-get download -qq opencv-doc >/dev/null) || die "apt-get download opencv-doc failed"
    else
      die "apt-get download opencv-doc failed (try running apt-get update as root)"
    fi
  fi
  debs=("$tmp"/opencv-doc_*.deb)
  [[ -f ${debs[0]} ]] || die "apt-get download produced no opencv-doc .deb"
  log "step: extract vtest.avi from $(basename "${debs[0]}")"
  (cd "$tmp" && dpkg-deb --fsys-tarfile "${debs[0]}" | tar x "$AVI_IN_DEB") ||
    die "vtest.avi not found in $(basename "${debs[0]}") at $AVI_IN_DEB"
  mv "$tmp/$AVI_IN_DEB" "$MEDIA/vtest.avi.part"
  mv "$MEDIA/vtest.avi.part" "$MEDIA/vtest.avi"
  rm -f "${debs[@]}"
  log "step: deleted the .deb"
fi

# 2. Transcode. transcode OUT [WIDTH HEIGHT]
transcode() {
  local out=$1 size=""
  # One capsfilter only: gst-launch cannot parse two caps strings in a row.
  local scale=() caps=video/x-raw,format=I420
  if [[ $# -eq 3 ]]; then
    scale=(! videoscale)
    caps+=",width=$2,height=$3,pixel-aspect-ratio=1/1"
    size=" (${2}x$3)"
  fi
  if [[ -s $MEDIA/$out ]]; then
    log "step: $out present, skipping transcode"
    return
  fi
  log "step: transcode vtest.avi -> $out$size"
  gst-launch-1.0 -q -e filesrc location="$MEDIA/vtest.avi" ! decodebin ! videoconvert "${scale[@]}" \
    ! "$caps" ! x264enc speed-preset=ultrafast tune=zerolatency \
    ! mp4mux ! filesink location="$MEDIA/$out.part" >/dev/null ||
    { rm -f "$MEDIA/$out.part"; die "gst-launch-1.0 failed to transcode $out"; }
  mv "$MEDIA/$out.part" "$MEDIA/$out"
}
transcode vtest.mp4
transcode vtest-720p.mp4 1280 720
transcode vtest-1080p.mp4 1920 1080

# 3. Verify frame counts.
for f in vtest.mp4 vtest-720p.mp4 vtest-1080p.mp4; do
  n=$(count_frames "$MEDIA/$f")
  if [[ $n -ne $EXPECTED_FRAMES ]]; then
    die "$MEDIA/$f has $n frames, expected $EXPECTED_FRAMES (delete it and re-run)"
  fi
  log "step: verified $f: $n frames"
done
log "done: $MEDIA"
