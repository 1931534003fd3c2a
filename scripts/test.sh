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
go test -race -count=1 . ./media/... ./element/... ./internal/engine/... ./internal/elements/mux/... \
	./internal/elements/sinks/... ./internal/elements/plumbing/... ./internal/imgproc/... \
	./internal/elements/osd/... ./internal/elements/tiler/... ./internal/elements/track/... ./internal/config/... \
	./internal/elements/infer/parsers/... ./internal/elements/analytics/... ./internal/msgconv/... ./internal/elements/publish/... \
	./internal/service/... ./examples/...
echo "[test] go test ./..."
go test -count=1 ./...
echo "[test] examples/custom-element (a module of its own, against this checkout)"
(cd examples/custom-element && go vet ./... && go test -race -count=1 ./...)
