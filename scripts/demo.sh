#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs vidflow's default pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
go run ./examples/appsrc-appsink "$@"
