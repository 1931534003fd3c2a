#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs vidflow's checks and tests:
# gofmt, go vet, the whole test suite, and the race detector on the engine's
# packages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "[test] gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "[test] go vet"
go vet ./...
echo "[test] go test -race (engine, data model, elements)"
go test -race -count=1 . ./internal/core/... ./internal/engine/... ./internal/mux/... \
	./internal/source/... ./internal/sink/... ./internal/plumbing/... ./internal/imgproc/... \
	./internal/osd/... ./internal/tiler/... ./internal/track/... ./internal/config/... \
	./internal/infer/parsers/... ./internal/analytics/... ./internal/msgconv/... ./internal/publish/... \
	./internal/service/... ./examples/...
echo "[test] go test ./..."
go test -count=1 ./...
