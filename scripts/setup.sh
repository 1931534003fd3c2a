#!/usr/bin/env bash
# All of vidflow's set-up on a fresh Debian 12 machine (as root), idempotent:
# GStreamer from Debian, ONNX Runtime and the default detector into the
# cache, the sample media. Every step skips what is already there.
#
#   VIDFLOW_CACHE   where fetched files go (default $HOME/.cache/vidflow)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-gstreamer.sh
# An X server for the display tests (RenderDisplay under Xvfb) and xwd for their screenshots.
. scripts/lib/apt.sh
apt_install setup xvfb x11-apps x11-utils
bash scripts/setup-browser.sh
bash scripts/setup-brokers.sh
bash scripts/setup-bench.sh
bash scripts/setup-model.sh
bash scripts/setup-media.sh
echo "[setup] done; cache at ${VIDFLOW_CACHE:-$HOME/.cache/vidflow}"
