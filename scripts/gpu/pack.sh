#!/usr/bin/env bash
# pack.sh — bundle everything an NVIDIA GPU machine without GStreamer needs
# to run vidflow into .gpu/p1, .gpu/p2, ... (git-ignored), each at most
# VF_PART_MB MiB (default 57), so that one device call can carry one part.
# Run it here (Debian 12, after scripts/setup.sh), from anywhere; idempotent:
# unchanged groups are not recompressed, and their parts stay byte-identical.
# On the GPU machine, scripts/gpu/unpack.sh puts the parts back together.
#
# Groups, in part order (slow-changing first; the last part holds only the
# app group, so a rebuilt binary needs only the last part re-sent):
#   ort  ONNX Runtime 1.29.0: libonnxruntime.so.1 (npm onnxruntime-node) and
#        its CUDA provider (npm com.github.asus4.onnxruntime.linux-x64-gpu)
#   gst  GStreamer 1.22 of this machine: tools, plugin scanner, the plugins
#        vidflow uses and their shared libraries (not glibc, libstdc++,
#        libgcc_s, CUDA or the NVIDIA driver: the GPU machine has newer ones)
#   app  the vidflow binary, the models (every .onnx of models/centernet and
#        labels.txt), 300-frame 30 fps H.264 clips (1080p and 720p)
#
#   VIDFLOW_CACHE  set-up cache (default ~/.cache/vidflow); downloads and
#                  clips are kept in its gpu/ folder
#   VF_PART_MB     part size limit in MiB (default 57: a part and the working
#                  tree travel together in one device call, 64 MiB at most)
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${VIDFLOW_CACHE:-$HOME/.cache/vidflow}
DL=$CACHE/gpu
OUT=.gpu
PART_MB=${VF_PART_MB:-57}
PART=$((PART_MB * 1024 * 1024))
ORT_VERSION=1.29.0
ORT_GPU_PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
GSTLIB=/usr/lib/x86_64-linux-gnu
PLUGINDIR=$GSTLIB/gstreamer-1.0
SCANNER=$GSTLIB/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner
# Plugins: decodebin/uridecodebin (playback, typefindfunctions), demuxers
# and muxers (isomp4, matroska), parsers (videoparsersbad), decoders
# (nvcodec: NVDEC/NVENC; libav: software), x264enc, jpeg/png (images,
# jpegenc), multifilesink, RTSP in and out (udp, rtp, rtsp, rtpmanager),
# and the elements of vidflow's own descriptions (videocrop and videofilter:
# the CPU capture's run-time crop and flip).
PLUGINS=(coreelements app playback typefindfunctions pbtypes videoconvertscale videorate videotestsrc
	isomp4 matroska videoparsersbad nvcodec x264 libav jpeg png multifile udp rtp rtsp rtpmanager videocrop videofilter)
# Not shipped: glibc's libraries, the C++ runtime, CUDA and the driver.
SKIP_RE='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libresolv\.so|libutil\.so|libmvec\.so|libanl\.so|libnsl\.so|libnss_|libBrokenLocale|libthread_db|libstdc\+\+\.so|libgcc_s\.so|libcuda\.so|libnvcuvid\.so|libnvidia-|libcudart\.so|libcublas|libcurand|libcufft|libcusparse|libcusolver|libcudnn|libnvrtc|libnvJitLink)'

log() { printf '[pack] %s\n' "$*"; }
die() { printf '[pack] error: %s\n' "$*" >&2; exit 1; }

for tool in go xz sha256sum ldd npm tar dd gst-launch-1.0 gst-inspect-1.0; do
	command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh first)"
done
[ "$(uname -m)" = x86_64 ] || die "the GPU machine is x86-64: pack on an x86-64 machine"

# Keep .gpu/ out of git (and so out of the device tool's copy of the tree,
# except for the part folder each call carries).
GITDIR=$(git rev-parse --git-common-dir 2>/dev/null || echo .git) # a worktree's .git is a file
mkdir -p "$GITDIR/info"
grep -qxF '/.gpu/' "$GITDIR/info/exclude" 2>/dev/null || echo '/.gpu/' >>"$GITDIR/info/exclude"
grep -qxF '/.gpu/' .gitignore 2>/dev/null || printf '\n# scripts/gpu/pack.sh output\n/.gpu/\n' >>.gitignore
mkdir -p "$OUT" "$DL"

# ---- ort --------------------------------------------------------------------
# npm_file PKG TGZ MEMBER DEST: DEST from the package tarball (npm pack, never
# npm install), downloaded once into $DL.
npm_file() {
	local pkg=$1 tgz=$DL/$2 member=$3 dest=$4
	if [ ! -s "$tgz" ]; then
		log "npm pack $pkg"
		local got
		got=$(cd "$DL" && npm pack --silent "$pkg" | tail -n1) || die "npm pack $pkg failed"
		[ "$DL/$got" = "$tgz" ] || mv "$DL/$got" "$tgz"
	fi
	if [ ! -s "$dest" ] || [ "$tgz" -nt "$dest" ]; then
		mkdir -p "$(dirname "$dest")"
		tar -xzOf "$tgz" "$member" >"$dest.tmp" || die "$member not in $(basename "$tgz")"
		mv "$dest.tmp" "$dest"
	fi
}
ORTDIR=$DL/ort-$ORT_VERSION
npm_file "onnxruntime-node@$ORT_VERSION" "onnxruntime-node-$ORT_VERSION.tgz" \
	package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$ORTDIR/libonnxruntime.so.1"
for lib in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
	npm_file "$ORT_GPU_PKG" "$(echo "$ORT_GPU_PKG" | tr @ -).tgz" \
		"package/Plugins/Linux/x64/$lib" "$ORTDIR/$lib"
done
grep -qa "VERS_$ORT_VERSION" "$ORTDIR/libonnxruntime.so.1" || die "libonnxruntime.so.1 is not $ORT_VERSION"
grep -qaF "$ORT_VERSION" "$ORTDIR/libonnxruntime_providers_cuda.so" ||
	die "the CUDA provider of $ORT_GPU_PKG is not built for ONNX Runtime $ORT_VERSION"

# ---- app: the binary and the clips -------------------------------------------
log "go build ./cmd/vidflow"
mkdir -p "$OUT/build"
go build -trimpath -ldflags='-s -w' -o "$OUT/build/vidflow" ./cmd/vidflow || die "go build failed"
# Test binaries of the GPU code, run there by scripts/gpu/bench.sh tests.
for t in gpu:internal/gpu infer:internal/elements/infer sources:internal/elements/sources tiler:internal/elements/tiler vidflow:.; do
	go test -c -trimpath -ldflags='-s -w' -o "$OUT/build/${t%%:*}.test" "./${t#*:}" || die "go test -c ./${t#*:} failed"
done

# clip NAME W H BITRATE: the first 300 frames of vtest.avi (pedestrians,
# 10 fps) as 30 fps (3x faster motion), scaled to WxH, H.264 (x264
# ultrafast, zerolatency, a key frame every 30) in MP4.
VTEST=$CACHE/media/vtest.avi
clip() {
	local out=$DL/media/$1 w=$2 h=$3 kbps=$4
	[ -s "$out" ] && return
	[ -s "$VTEST" ] || die "$VTEST missing (run scripts/setup-media.sh)"
	mkdir -p "$DL/media"
	log "make $1 (${w}x$h, 30 fps, 300 frames, $kbps kbit/s)"
	local raw=$DL/media/vtest-300.yuv frame=$((768 * 576 * 3 / 2))
	gst-launch-1.0 -q -e filesrc location="$VTEST" ! decodebin ! identity eos-after=301 ! videoconvert \
		! video/x-raw,format=I420,width=768,height=576 ! filesink location="$raw" >/dev/null ||
		die "decoding $VTEST failed"
	[ "$(stat -c %s "$raw")" -ge $((300 * frame)) ] || die "$VTEST gave fewer than 300 frames"
	truncate -s $((300 * frame)) "$raw"
	gst-launch-1.0 -q -e filesrc location="$raw" ! rawvideoparse format=i420 width=768 height=576 framerate=30/1 \
		! videoscale ! videoconvert ! "video/x-raw,format=I420,width=$w,height=$h,pixel-aspect-ratio=1/1" \
		! x264enc speed-preset=ultrafast tune=zerolatency key-int-max=30 bitrate="$kbps" \
		! mp4mux ! filesink location="$out.part" >/dev/null || die "encoding $1 failed"
	rm -f "$raw"
	local n
	n=$(gst-launch-1.0 -v filesrc location="$out.part" ! qtdemux ! video/x-h264 ! fakesink silent=false sync=false 2>/dev/null |
		grep -c 'last-message = chain' || true)
	[ "$n" -eq 300 ] || die "$1 has $n frames, want 300"
	mv "$out.part" "$out"
}
clip vtest-1080p30.mp4 1920 1080 6000
clip vtest-720p30.mp4 1280 720 3000

# ---- staging ------------------------------------------------------------------
STAGE=$OUT/stage
rm -rf "$STAGE"
mkdir -p "$STAGE"/{ort,gst,app}

# ort
mkdir -p "$STAGE/ort/ort"
cp "$ORTDIR"/* "$STAGE/ort/ort/"

# app
mkdir -p "$STAGE/app/bin" "$STAGE/app/cache/models/centernet" "$STAGE/app/cache/media"
cp "$OUT/build/vidflow" "$OUT/build"/*.test "$STAGE/app/bin/"
mkdir -p "$STAGE/app/cache/media/images"
cp "$CACHE"/media/images/*.jpg "$STAGE/app/cache/media/images/"
MODELS=$CACHE/models/centernet
ls "$MODELS"/*.onnx >/dev/null 2>&1 || die "no .onnx in $MODELS (run scripts/setup-model.sh)"
cp "$MODELS"/*.onnx "$MODELS/labels.txt" "$STAGE/app/cache/models/centernet/"
cp "$DL"/media/vtest-1080p30.mp4 "$DL"/media/vtest-720p30.mp4 "$STAGE/app/cache/media/"

# gst: tools, scanner, plugins, then the shared libraries they need.
G=$STAGE/gst
mkdir -p "$G/bin" "$G/libexec" "$G/lib/gstreamer-1.0"
elves=()
for t in gst-launch-1.0 gst-inspect-1.0; do
	cp "$(command -v $t)" "$G/bin/"
	elves+=("$(command -v $t)")
done
[ -x "$SCANNER" ] || die "$SCANNER missing"
cp "$SCANNER" "$G/libexec/"
elves+=("$SCANNER" "$OUT/build/vidflow")
for p in "${PLUGINS[@]}"; do
	f=$PLUGINDIR/libgst$p.so
	[ -f "$f" ] || die "GStreamer plugin $p missing ($f): run scripts/setup-gstreamer.sh"
	cp "$f" "$G/lib/gstreamer-1.0/"
	elves+=("$f")
done
# ldd lists the whole closure of each file; keep soname => path.
declare -A libs=()
skipped=()
deps=$(mktemp)
for e in "${elves[@]}"; do
	out=$(ldd "$e") || die "ldd $e failed"
	! grep -q 'not found' <<<"$out" || die "$e: $(grep 'not found' <<<"$out" | head -3)"
	awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' <<<"$out" >>"$deps"
done
while read -r soname path; do
	if [[ $soname =~ $SKIP_RE ]]; then
		skipped+=("$soname")
		continue
	fi
	libs[$soname]=$path
done < <(sort -u "$deps")
rm -f "$deps"
for soname in "${!libs[@]}"; do
	cp -L "${libs[$soname]}" "$G/lib/$soname"
done
log "gst: ${#PLUGINS[@]} plugins, ${#libs[@]} libraries; left to the GPU machine: $(printf '%s\n' "${skipped[@]}" | sort -u | tr '\n' ' ')"
# The packages they come from, for the record.
printf '%s\n' "${libs[@]}" | xargs -r dpkg -S 2>/dev/null | cut -d: -f1 | sort -u >"$G/lib/PACKAGES" || true

# ---- archives -------------------------------------------------------------------
# Deterministic tar (sorted, no times or owners) compressed with xz; redone
# only when the staged files changed.
# The archives live in the cache, not in .gpu/, so that a fresh clone or
# worktree packing again recompresses only what changed (the app).
ARC=$DL/archives
mkdir -p "$ARC"
archive() {
	local g=$1 hash
	hash=$(cd "$STAGE/$g" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
	if [ -s "$ARC/$g.tar.xz" ] && [ "$(cat "$ARC/$g.input" 2>/dev/null)" = "$hash" ]; then
		log "$g: unchanged"
		return
	fi
	log "$g: compressing $(du -sh "$STAGE/$g" | cut -f1) with xz"
	tar -C "$STAGE/$g" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . |
		xz -T0 -6 -c >"$ARC/$g.tar.xz.tmp"
	mv "$ARC/$g.tar.xz.tmp" "$ARC/$g.tar.xz"
	echo "$hash" >"$ARC/$g.input"
}
for g in ort gst app; do archive $g; done

# ---- parts ------------------------------------------------------------------------
# Pieces fill the parts in order: ort, then gst; app, in one piece, ends the
# last part (beside the end of gst when it fits), so that a rebuilt binary
# changes only the last part.
rm -rf "$OUT"/p[0-9]*
MANIFEST=$(mktemp)
part=1 used=0 pieces=0
piece() { # group archive offset size
	local g=$1 f=$2 off=$3 size=$4 name
	pieces=$((pieces + 1))
	name=$(printf '%s.tar.xz.%02d' "$g" "$pieces")
	mkdir -p "$OUT/p$part"
	dd if="$f" of="$OUT/p$part/$name" iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none
	echo "piece $g p$part $name $size $(sha256sum <"$OUT/p$part/$name" | cut -d' ' -f1)" >>"$MANIFEST"
	used=$((used + size))
}
for g in ort gst app; do
	f=$ARC/$g.tar.xz
	total=$(stat -c %s "$f")
	if [ $g = app ]; then
		[ "$total" -le $((PART - 64 * 1024)) ] || die "the app group ($total bytes) does not fit in one part"
		[ "$total" -le $((PART - 64 * 1024 - used)) ] || part=$((part + 1)) used=0
	fi
	echo "group $g $total $(sha256sum <"$f" | cut -d' ' -f1)" >>"$MANIFEST"
	off=0 pieces=0
	while [ $off -lt "$total" ]; do
		room=$((PART - 64 * 1024 - used)) # 64 KiB for the manifest
		if [ $room -lt $((1024 * 1024)) ]; then part=$((part + 1)) used=0 room=$((PART - 64 * 1024)); fi
		size=$((total - off < room ? total - off : room))
		piece $g "$f" $off $size
		off=$((off + size))
	done
done
last=$part
{
	echo "# vidflow GPU bundle, made by scripts/gpu/pack.sh on $(hostname) $(date -u +%FT%TZ)"
	echo "parts $last"
	cat "$MANIFEST"
} >"$OUT/p$last/manifest"
rm -f "$MANIFEST"
for i in $(seq 1 "$last"); do echo "$i $last" >"$OUT/p$i/part"; done

# ---- report -------------------------------------------------------------------------
printf '\n%-10s %10s  %s\n' part MiB contents
for i in $(seq 1 "$last"); do
	bytes=$(du -cb "$OUT/p$i"/* | tail -1 | cut -f1)
	printf '%-10s %10s  %s\n' ".gpu/p$i" "$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')" \
		"$(cd "$OUT/p$i" && ls | grep -v -e '^part$' -e '^manifest$' | tr '\n' ' ')"
	[ "$bytes" -le "$PART" ] || die ".gpu/p$i is over $PART_MB MiB"
done
printf '\ngroups: %s\n' "$(awk '$1 == "group" {printf "%s %.1f MiB  ", $2, $3 / 1048576}' "$OUT/p$last/manifest")"
echo "send with one device call per part, .gpu/p1 first; the last (.gpu/p$last) runs scripts/gpu/unpack.sh (see scripts/gpu/README.md)"
