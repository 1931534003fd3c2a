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
if ! command -v Xvfb >/dev/null || ! command -v xwd >/dev/null || ! command -v xwininfo >/dev/null; then
	echo "[setup] installing xvfb, x11-apps, x11-utils"
	apt-get install -y --no-install-recommends xvfb x11-apps x11-utils >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends xvfb x11-apps x11-utils >/dev/null; }
else
	echo "[setup] ok       xvfb, x11-apps, x11-utils (already installed)"
fi
bash scripts/setup-browser.sh
bash scripts/setup-brokers.sh
bash scripts/setup-bench.sh
bash scripts/setup-model.sh
bash scripts/setup-media.sh
echo "[setup] done; cache at ${VIDFLOW_CACHE:-$HOME/.cache/vidflow}"
