#!/usr/bin/env bash
# setup-bench.sh — what `vidflow bench` needs beyond scripts/setup.sh: the
# Python OpenCV peer (bench/peer_opencv.py) runs on Debian's python3-opencv
# (OpenCV 4.6) with /usr/bin/python3. About 100 MB of packages, 2 minutes.
#
# Idempotent: skipped when /usr/bin/python3 already imports cv2. Runs as
# root, or through sudo. Target: Debian 12 (bookworm). The bench writes the
# model in the form OpenCV 4.6 loads itself, at bench time (beside the
# model in the cache: centernet-opencv.onnx).
set -euo pipefail

log() { echo "[setup-bench] $*"; }

if /usr/bin/python3 -c 'import cv2' >/dev/null 2>&1; then
  log "ok       python3-opencv ($(/usr/bin/python3 -c 'import cv2; print(cv2.__version__)'), already installed)"
  exit 0
fi

. "$(dirname "$0")/lib/apt.sh"
apt_install setup-bench python3-opencv
/usr/bin/python3 -c 'import cv2' || { log "error: /usr/bin/python3 still has no cv2" >&2; exit 1; }
log "done     python3-opencv $(/usr/bin/python3 -c 'import cv2; print(cv2.__version__)')"
