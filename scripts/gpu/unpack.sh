#!/usr/bin/env bash
# unpack.sh — on the GPU machine, from the repository root, once every part
# made by scripts/gpu/pack.sh has arrived in .gpu/p1, .gpu/p2, ...: checks
# the parts, extracts each group (ort, gst, app) into the prefix (default
# /tmp/vf; first argument or VF_PREFIX), and writes PREFIX/env.sh:
#
#   . /tmp/vf/env.sh && vidflow bench ...
#
# Idempotent and fast: a group already extracted from the same archive is
# skipped (even when its parts are gone). Needs tar and xz, or a python3
# with lzma when there is no xz.
set -euo pipefail
cd "$(dirname "$0")/../.."

PREFIX=${1:-${VF_PREFIX:-/tmp/vf}}
SRC=${VF_PARTS:-.gpu}

log() { printf '[unpack] %s\n' "$*"; }
die() { printf '[unpack] error: %s\n' "$*" >&2; exit 1; }

# The manifest is in the last part.
manifest=
for m in "$SRC"/p*/manifest; do [ -f "$m" ] && manifest=$m; done
if [ -z "$manifest" ]; then
	n=$(cat "$SRC"/p*/part 2>/dev/null | awk 'NR == 1 {print $2}' || true)
	[ -n "$n" ] || die "no part of the bundle in $SRC/ (carry .gpu/p1, .gpu/p2, ... one per device call; see scripts/gpu/README.md)"
	die "$SRC/p$n (the last part, with the manifest) is missing: carry .gpu/p$n in this call"
fi
parts=$(awk '$1 == "parts" {print $2}' "$manifest")
log "manifest $manifest: $parts parts"

python=
for p in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import lzma, tarfile' 2>/dev/null; then python=$(command -v "$p"); break; fi
done
command -v xz >/dev/null || [ -n "$python" ] || die "neither xz nor a python3 with lzma: cannot extract .tar.xz"

# extract: a .tar.xz on stdin into $1.
extract() {
	if command -v xz >/dev/null; then
		xz -dc -T0 | tar -x -C "$1"
	else
		"$python" -c 'import sys, tarfile
t = tarfile.open(fileobj=sys.stdin.buffer, mode="r|xz")
kw = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
t.extractall(sys.argv[1], **kw)' "$1"
	fi
}

mkdir -p "$PREFIX/.stamps"
while read -r _ group size sha; do
	if [ "$(cat "$PREFIX/.stamps/$group" 2>/dev/null)" = "$sha" ]; then
		log "$group: up to date"
		continue
	fi
	files=()
	while read -r _ g part name psize psha; do
		[ "$g" = "$group" ] || continue
		f=$SRC/$part/$name
		n=${part#p}
		[ -f "$f" ] || die "$f missing: part $n of $parts did not arrive (carry .gpu/$part in a call of its own, parts in order, while the machine stays warm)"
		[ "$(stat -c %s "$f")" = "$psize" ] || die "$f has $(stat -c %s "$f") bytes, want $psize: re-send .gpu/$part"
		files+=("$f")
	done < <(grep '^piece ' "$manifest")
	got=$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$sha" ] || die "$group: checksum mismatch (parts of different packs?): re-send $(printf '%s\n' "${files[@]}" | cut -d/ -f2 | sort -u | tr '\n' ' ')"
	log "$group: extracting $((size / 1048576)) MiB from ${#files[@]} piece(s)"
	rm -f "$PREFIX/.stamps/$group"
	cat "${files[@]}" | extract "$PREFIX"
	echo "$sha" >"$PREFIX/.stamps/$group"
done < <(grep '^group ' "$manifest")

# The set-up cache layout vidflow expects ($VIDFLOW_CACHE/onnxruntime too).
mkdir -p "$PREFIX/cache/onnxruntime"
ln -sf ../../ort/libonnxruntime.so.1 "$PREFIX/cache/onnxruntime/libonnxruntime.so.1"

cat >"$PREFIX/env.sh" <<EOF
# vidflow on this machine: written by scripts/gpu/unpack.sh. Source it.
VF=$PREFIX
EOF
cat >>"$PREFIX/env.sh" <<'EOF'
# Libraries: ONNX Runtime, CUDA (toolkit, the NVIDIA driver's folders and
# the pip wheels' nvidia/*/lib: cuDNN, cuBLAS...), then the GStreamer bundle.
_vf_ld=$VF/ort
for _d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib \
	/opt/torch/.venv/lib/python3*/site-packages/nvidia/*/lib /opt/torch/.venv/lib/python3*/site-packages/nvidia/*/lib64 \
	/usr/local/lib/python3*/dist-packages/nvidia/*/lib /usr/lib/python3/dist-packages/nvidia/*/lib; do
	[ -d "$_d" ] && _vf_ld=$_vf_ld:$_d
done
export LD_LIBRARY_PATH=$_vf_ld:$VF/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
unset _vf_ld _d
export PATH=$VF/bin:$PATH
export GST_PLUGIN_SYSTEM_PATH_1_0=$VF/lib/gstreamer-1.0 GST_PLUGIN_SYSTEM_PATH=$VF/lib/gstreamer-1.0
unset GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0
export GST_PLUGIN_SCANNER_1_0=$VF/libexec/gst-plugin-scanner GST_PLUGIN_SCANNER=$VF/libexec/gst-plugin-scanner
export GST_REGISTRY_1_0=/tmp/vf-gst-registry-$(id -u).bin GST_REGISTRY=/tmp/vf-gst-registry-$(id -u).bin
export VIDFLOW_ORT_LIB=$VF/ort/libonnxruntime.so.1
export VIDFLOW_CACHE=$VF/cache
# GStreamer's CUDA converters (cudaconvert, cudascale) need NVRTC, which it
# opens as libnvrtc.so or GST_CUDA_NVRTC_LIBNAME: name CUDA's versioned one.
for _n in /usr/local/cuda/lib64/libnvrtc.so /usr/local/cuda/lib64/libnvrtc.so.13 /usr/local/cuda/lib64/libnvrtc.so.12; do
	[ -e "$_n" ] && export GST_CUDA_NVRTC_LIBNAME=$_n && break
done
unset _n
EOF
log "wrote $PREFIX/env.sh"

# ---- what this machine has -------------------------------------------------------
# shellcheck disable=SC1091
. "$PREFIX/env.sh"
log "LD_LIBRARY_PATH: $LD_LIBRARY_PATH"
if command -v nvidia-smi >/dev/null; then
	nvidia-smi -L | sed 's/^/[unpack] gpu: /' || log "warning: nvidia-smi failed"
else
	log "warning: no nvidia-smi"
fi
log "NVRTC for GStreamer: ${GST_CUDA_NVRTC_LIBNAME:-not found}"
for l in libcuda.so.1 libnvcuvid.so.1 libnvidia-encode.so.1 libcudnn.so.9 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudart.so.13; do
	where=
	for d in ${LD_LIBRARY_PATH//:/ }; do [ -e "$d/$l" ] && where=$d/$l && break; done
	[ -n "$where" ] || where=$(ldconfig -p 2>/dev/null | awk -v l="$l" '$1 == l {print $NF; exit}')
	log "$(printf '%-22s %s' "$l" "${where:-NOT FOUND}")"
done
ls -l "$VF"/ort/*.so* | awk '{print "[unpack] ort: " $5 " " $NF}'
missing=$(ldd "$VF/ort/libonnxruntime_providers_cuda.so" 2>/dev/null | grep 'not found' || true)
[ -z "$missing" ] || log "warning: the CUDA provider lacks: $(echo "$missing" | awk '{print $1}' | tr '\n' ' ')(execution-provider cuda will fail)"
missing=$(ldd "$VF/bin/vidflow" 2>/dev/null | grep 'not found' || true)
[ -z "$missing" ] || die "vidflow lacks: $missing"
log "gstreamer: $(gst-inspect-1.0 --version | sed -n 2p)"
nv=$(gst-inspect-1.0 nvcodec 2>/dev/null | awk '/^  nv|^  cuda/ {print $1}' | tr -d ':' | tr '\n' ' ')
log "nvcodec elements: ${nv:-NONE (no NVDEC: vidflow decodes on the CPU)}"
if gst-inspect-1.0 --exists nvh264dec; then
	gst-inspect-1.0 nvh264dec | grep -E '^  (Long-name|Rank)' | sed 's/^ */[unpack] nvh264dec: /'
fi
log "vidflow: $(command -v vidflow); clips: $(cd "$VIDFLOW_CACHE/media" && ls | tr '\n' ' ')"
log "models: $(cd "$VIDFLOW_CACHE/models/centernet" && ls | tr '\n' ' ')"
log "ready: . $PREFIX/env.sh"
