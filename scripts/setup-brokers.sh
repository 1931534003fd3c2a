#!/usr/bin/env bash
# setup-brokers.sh — install the message brokers that the publish tests
# start on 127.0.0.1: NATS (nats-server, with JetStream), MQTT (mosquitto)
# and Redis (redis-server), and etcd (etcd-server) for the cluster tests.
# Kafka needs nothing: the tests use franz-go's
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
  etcd-server
)

log() { echo "[setup-brokers] $*"; }

. "$(dirname "$0")/lib/apt.sh"
apt_install setup-brokers "${PACKAGES[@]}"

log "step: verify $(nats-server --version)"
log "step: verify $(mosquitto -h 2>/dev/null | head -n1 || true)"
log "step: verify $(redis-server --version | cut -d' ' -f1-3)"
log "step: verify $(etcd --version | head -n1)"
log "done"
