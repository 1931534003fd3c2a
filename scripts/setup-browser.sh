#!/usr/bin/env bash
# setup-browser.sh — install Debian's Chromium and ChromeDriver for the
# browser test of the service's web view (internal/service). Idempotent:
# packages already there are skipped, and the apt index is refreshed only
# when something has to be installed. Target: Debian 12, as root (or sudo).
set -euo pipefail

PACKAGES=(chromium chromium-driver)

log() { echo "[setup-browser] $*"; }

. "$(dirname "$0")/lib/apt.sh"
apt_install setup-browser "${PACKAGES[@]}"

command -v chromium >/dev/null && command -v chromedriver >/dev/null
log "done     $(chromium --version 2>/dev/null | head -1)"
