#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs vidflow's default detection
# pipeline: the sample video → the default detector → boxes → vidflow-out.mp4
# in the current folder. Arguments go to `vidflow run` (see `vidflow run -h`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# -overwrite: the demo replaces its own vidflow-out.mp4 on every run.
go run ./cmd/vidflow run -overwrite "$@"
