#!/usr/bin/env bash
# setup-brokers.sh — install the message brokers that the publish tests
# start on 127.0.0.1: NATS (nats-server, with JetStream), MQTT (mosquitto)
# and Redis (redis-server). Kafka needs nothing: the tests use franz-go's
# in-process kfake. The packages' own services are not started or enabled
# by this script; the tests run their own broker processes on free ports.
#
# Idempotent: packages already installed are skipped, and the apt index is
# refreshed only when something actually has to be installed. Runs as root,
# or through sudo when that is available. Target: Debian 12 (bookworm).
set -euo pipefail

PACKAGES=(
  nats-server
  mosquitto
  redis-server
)

log() { echo "[setup-brokers] $*"; }

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
  if installed "$p"; then
    log "ok       $p (already installed)"
  else
    log "missing  $p"
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  export DEBIAN_FRONTEND=noninteractive
  log "step: apt-get update"
  "${SUDO[@]}" apt-get update -qq
  for p in "${missing[@]}"; do
    cand=$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')
    if [[ -z $cand || $cand == "(none)" ]]; then
      log "error: package $p has no installation candidate in the configured apt sources" >&2
      exit 1
    fi
    log "candidate $p $cand"
  done
  log "step: apt-get install ${missing[*]}"
  # Package scripts may try to start the services; where no init system
  # runs (containers, CI) that fails harmlessly.
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "step: nothing to install"
fi

log "step: verify $(nats-server --version)"
log "step: verify $(mosquitto -h 2>/dev/null | head -n1 || true)"
log "step: verify $(redis-server --version | cut -d' ' -f1-3)"
log "done"
