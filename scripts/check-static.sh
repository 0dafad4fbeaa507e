#!/usr/bin/env bash
# CI check for the packaged static binary (issue 13; vendor/ffmpeg/README.md).
#
# 1. builds it: scripts/build-static.sh (vendor/ffmpeg/build.sh, then `cargo build --release
#    --features static` into target/static, apart from the normal build);
# 2. `ldd` names only the C runtime: libc, libm, libgcc_s, ld-linux (and the vDSO);
# 3. renders examples/title-card with it as mp4, as mp4 with --codec h265 (x265, libstdc++,
#    libnuma) and as webm (libvpx, libopus), with LD_LIBRARY_PATH
#    empty and, when this runs as root, in a mount namespace where every shared
#    libav/libsw*/libx264/libx265/libnuma/libpostproc file is replaced by /dev/null (a machine without them; the
#    shared build is shown to fail to start there; libvpx and libopus stay, because Debian's
#    Chromium loads them itself), and checks that framefan's /proc/<pid>/maps, sampled through
#    the whole render, maps none of those nor libvpx/libopus;
# 4. `framefan verify` on each output, and its decoded frames (ffmpeg -f framemd5) and its bytes
#    against the shared build's render of the same example (same libav, x264, libvpx, libopus →
#    same file).
#
# Bounded: the vendor build is ~3 min CPU on 2 cores and the release build ~5 min; each step is
# under `timeout`. Set FRAMEFAN_STATIC_BIN to check an already built binary (skips step 1).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
MEDIA_LIBS='lib(av(codec|format|util|filter|device|resample)|sw(scale|resample)|postproc|x264|x265|vpx|dav1d|aom|opus|mp3lame|vorbis)[^/ ]*\.so'
ALLOWED_LDD='^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|/lib64/ld-linux-x86-64\.so\.2)$'

# Inner step (run by this script under `unshare`): hide the shared media libraries, then render.
if [ "${1:-}" = "--hidden-render" ]; then
  shift
  # libvpx and libopus stay visible: Chromium loads the system's libopus itself. That framefan
  # maps neither is what the /proc/<pid>/maps check below shows.
  for lib in /usr/lib/x86_64-linux-gnu/lib{av,sw,postproc,x264,x265,numa}*.so.*; do
    [ -e "$lib" ] && [ ! -L "$lib" ] && mount --bind /dev/null "$lib"
  done
  if "$2" version >/dev/null 2>&1; then
    echo "check-static: the shared build still starts with the libav files hidden" >&2
    exit 1
  fi
  exec bash "$0" --render "$1" "$3"
fi

# The render options of an output name: `--format` from its extension, `--codec h265` for
# `*.h265.mp4`.
format_args() {
  case "$1" in
    *.h265.mp4) echo "--format mp4 --codec h265" ;;
    *) echo "--format ${1##*.}" ;;
  esac
}

# Inner step: render OUT (.mp4) and OUT's .h265.mp4 and .webm twins with BIN, sampling the
# process's mappings into OUT.maps until each render exits.
if [ "${1:-}" = "--render" ]; then
  bin="$2" out="$3"
  for target in "$out" "${out%.mp4}.h265.mp4" "${out%.mp4}.webm"; do
    # Started directly (not under `timeout`) so that $! is framefan's own pid; bounded below.
    # shellcheck disable=SC2046 # format_args is a list of words
    LD_LIBRARY_PATH='' "$bin" render examples/title-card -o "$target" $(format_args "$target") \
      --package-cache target/package-cache --progress none --json >"$target.json" &
    pid=$! deadline=$(( $(date +%s) + 300 ))
    while kill -0 "$pid" 2>/dev/null; do
      cat "/proc/$pid/maps" >>"$out.maps" 2>/dev/null || true
      [ "$(date +%s)" -lt "$deadline" ] || { kill "$pid"; echo "check-static: render timed out" >&2; }
      sleep 0.2
    done
    wait "$pid"
  done
  exit 0
fi

start=$(date +%s)
tmp="$(mktemp -d "$REPO/target/check-static.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

bin="${FRAMEFAN_STATIC_BIN:-}"
if [ -z "$bin" ]; then
  bin="$(timeout 1800 bash scripts/build-static.sh | tail -n1)"
fi
size=$(stat -c %s "$bin")
echo "check-static: $bin, $size bytes ($(( size / 1048576 )) MiB), built after $(( $(date +%s) - start )) s"

# 2. Only the C runtime, by name.
ldd "$bin" | awk '{print $1}' >"$tmp/ldd"
if grep -Ev "$ALLOWED_LDD" "$tmp/ldd"; then
  echo "check-static: the static binary needs the libraries above (ldd $bin)" >&2
  exit 1
fi
echo "check-static: ldd: $(tr '\n' ' ' <"$tmp/ldd")"
"$bin" version --json | grep -q '"linkage":"static"' || { echo "check-static: version does not say static" >&2; exit 1; }

# 3. The render, on a machine without the shared libav where we can make one.
timeout 1800 cargo test --no-run --quiet
shared="$REPO/target/debug/framefan"
if [ "$(id -u)" -eq 0 ] && unshare --mount --propagation private true 2>/dev/null; then
  unshare --mount --propagation private bash "$0" --hidden-render "$bin" "$shared" "$tmp/static.mp4"
  echo "check-static: rendered with the shared libav files hidden (mount namespace)"
else
  bash "$0" --render "$bin" "$tmp/static.mp4"
  echo "check-static: not root, rendered with the shared libav installed (LD_LIBRARY_PATH empty)"
fi
grep -q "$bin" "$tmp/static.mp4.maps" || { echo "check-static: no mappings of $bin were sampled" >&2; exit 1; }
if grep -E "$MEDIA_LIBS" "$tmp/static.mp4.maps" | sort -u | grep .; then
  echo "check-static: the static render loaded the shared media libraries above" >&2
  exit 1
fi
echo "check-static: mapped by the render: $(grep -o '/[^ ]*\.so[^ ]*' "$tmp/static.mp4.maps" | sort -u | xargs -n1 basename | tr '\n' ' ')"

# 4. Each output verifies, and equals the shared build's render of the same example.
for ext in mp4 h265.mp4 webm; do
  "$bin" verify "$tmp/static.$ext"
  # shellcheck disable=SC2046 # format_args is a list of words
  timeout 300 "$shared" render examples/title-card -o "$tmp/shared.$ext" $(format_args "$tmp/shared.$ext") \
    --package-cache target/package-cache --progress none --json >/dev/null
  for f in static shared; do
    ffmpeg -v error -i "$tmp/$f.$ext" -map 0:v -f framemd5 "$tmp/$f.$ext.framemd5"
  done
  if ! cmp -s "$tmp/static.$ext.framemd5" "$tmp/shared.$ext.framemd5"; then
    diff "$tmp/static.$ext.framemd5" "$tmp/shared.$ext.framemd5" | head -n 20 >&2
    echo "check-static: the static and the shared build decode to different $ext frames" >&2
    exit 1
  fi
  frames=$(grep -cv '^#' "$tmp/static.$ext.framemd5")
  if cmp -s "$tmp/static.$ext" "$tmp/shared.$ext"; then
    echo "check-static: static and shared $ext renders are byte-identical ($frames frames, sha256 $(sha256sum <"$tmp/static.$ext" | cut -c1-16)…)"
  else
    echo "check-static: static and shared $ext renders decode to the same $frames frames but differ in bytes" >&2
    exit 1
  fi
done
echo "check-static: passed in $(( $(date +%s) - start )) s"
