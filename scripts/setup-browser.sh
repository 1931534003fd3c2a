#!/usr/bin/env bash
# setup-browser.sh — install Debian's Chromium and ChromeDriver for the
# browser test of the service's web view (internal/service). Idempotent:
# packages already there are skipped, and the apt index is refreshed only
# when something has to be installed. Target: Debian 12, as root (or sudo).
set -euo pipefail

PACKAGES=(chromium chromium-driver)

log() { echo "[setup-browser] $*"; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    log "error: must run as root (or have sudo) to install packages" >&2
    exit 1
  fi
fi

installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "ok       ${PACKAGES[*]} (already installed)"
  exit 0
fi
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update >/dev/null
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v chromium >/dev/null && command -v chromedriver >/dev/null
log "done     $(chromium --version 2>/dev/null | head -1)"
