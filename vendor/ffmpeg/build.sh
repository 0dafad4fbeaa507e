#!/usr/bin/env bash
# Build the minimal static libav framefan links under `--features static` (vendor/ffmpeg/README.md).
#
#   bash vendor/ffmpeg/build.sh [PREFIX]        # PREFIX defaults to target/vendor-ffmpeg
#
# Obtains Debian bookworm's FFmpeg source package (the version the shared build links) through
# apt with a private configuration (nothing under /etc is changed), checks it against the sha256
# sums pinned below, configures only the components framefan uses, and installs static libraries,
# headers and .pc files into PREFIX (lib/, include/). FFMPEG_DIR=PREFIX is what cargo needs.
#
# Cached: PREFIX/.stamp holds a hash of every input (configure line, source sums, compiler, x264,
# nasm); when it matches and the libraries are there, the script does nothing.
#
# Needs (.ci/deps/30-static.apt): dpkg-dev (dpkg-source), nasm, xz-utils, libx264-dev,
# libvpx-dev, libopus-dev, libx265-dev and libnuma-dev (their .a), zlib1g-dev, a C compiler, make,
# pkg-config.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="$(realpath -m "${1:-$REPO/target/vendor-ffmpeg}")"
WORK="$PREFIX/work"

# The source: Debian's package of FFmpeg 5.1.9 (bookworm and bookworm-security carry it).
DEB_VERSION="7:5.1.9-0+deb12u1"
UPSTREAM="5.1.9"
# av_version_info() of Debian's build is "<upstream>-<Debian revision>"; the same suffix keeps a
# plan's ffmpegVersion identical between the shared and the static build.
EXTRA_VERSION="0+deb12u1"
declare -A SHA256=(
  [ffmpeg_5.1.9-0+deb12u1.dsc]=055f82fca9a92f1d47216be2c2488d09373c7ca154806fbc36b0127c191d5104
  [ffmpeg_5.1.9.orig.tar.xz]=d9b593bb2ba93d4b50f74177e0cdcd41747e708596367deed0c30348a71dd176
  [ffmpeg_5.1.9-0+deb12u1.debian.tar.xz]=71b20472ecd2764bc98e3229d34c0f7c8dcfe4a6cbacc23fd5604c23bac04632
)

# Exactly what framefan uses (src/av): encoders for mp4/mov/png-sequence/webm and the capture path,
# decoders for captures, soundtracks and users' source media, and their containers. libvpx's VP9
# and VP8 decoders are there for alpha (the native ones, which libav picks first, ignore a WebM's
# alpha plane): framefan decodes every VP9 / VP8 source with them, as HyperFrames extracts such
# sources with `-c:v libvpx-vp9` / `libvpx` (src/av/video_decode.rs).
ENCODERS="libx264,libx265,prores_ks,png,mjpeg,aac,libvpx_vp9,libopus,gif"
DECODERS="h264,hevc,vp8,vp9,libvpx_vp8,libvpx_vp9,prores,mpeg4,mjpeg,png,gif,mp3,mp3float,aac,opus,vorbis,flac,pcm_*"
MUXERS="mp4,mov,webm,gif"
DEMUXERS="mov,matroska,mp3,wav,ogg,flac,aac,gif"
# GIF's whole-video palette, as HyperFrames makes it (palettegen, paletteuse); scale and format
# are what libavfilter inserts between pixel formats. A clip's playback speed, as HyperFrames
# plays it (src/plan/media/speed.rs): the ramp's graph (asplit, atrim, asetpts, atempo, apad,
# concat), anull, the aformat the ffmpeg CLI puts before a 16-bit output, and aresample, which
# libavfilter inserts between sample formats (abuffer/abuffersink are always built).
FILTERS="palettegen,paletteuse,scale,format,aformat,anull,apad,aresample,asetpts,asplit,atempo,atrim,concat"
PARSERS="h264,hevc,aac,mpegaudio,vp8,vp9,opus,vorbis,flac,mjpeg,png,mpeg4video"
# vp9_superframe: the WebM muxer adds it to every VP9 stream (it fails without it).
BSFS="aac_adtstoasc,h264_mp4toannexb,hevc_mp4toannexb,vp9_superframe"
# --pkg-config-flags=--static: the .pc files then name what the static encoder libraries need
# themselves (x265 is C++: libstdc++, libnuma), which build.rs links after them.
# A fixed --prefix: libav embeds its configure line (avcodec_configuration(), shown by `framefan
# version`), which should not depend on where the checkout is; `make install prefix=` puts the
# files into PREFIX. Nothing reads the prefix at run time (no programs, no data files).
CONFIGURE=(
  --prefix=/usr/local --extra-version="$EXTRA_VERSION" --pkg-config-flags=--static
  --disable-everything --disable-autodetect --disable-programs --disable-doc --disable-network
  --disable-avdevice --disable-postproc
  --enable-static --disable-shared --enable-pic
  --enable-gpl --enable-libx264 --enable-libx265 --enable-libvpx --enable-libopus --enable-zlib
  --enable-encoder="$ENCODERS" --enable-decoder="$DECODERS"
  --enable-muxer="$MUXERS" --enable-demuxer="$DEMUXERS" --enable-filter="$FILTERS"
  --enable-parser="$PARSERS" --enable-bsf="$BSFS" --enable-protocol=file,pipe
)

inputs_hash() {
  {
    printf '%s\n' "${CONFIGURE[@]}"
    for f in "${!SHA256[@]}"; do echo "$f ${SHA256[$f]}"; done | sort
    cc --version | head -n1
    nasm -v
    pkg-config --modversion x264 vpx opus x265 numa
  } | sha256sum | cut -d' ' -f1
}

stamp="$(inputs_hash)"
if [ -f "$PREFIX/.stamp" ] && [ "$(cat "$PREFIX/.stamp")" = "$stamp" ] && [ -f "$PREFIX/lib/libavcodec.a" ]; then
  echo "vendor/ffmpeg: $PREFIX is up to date (inputs $stamp)"
  exit 0
fi

sources_ok() {
  for f in "${!SHA256[@]}"; do
    [ -f "$WORK/src/$f" ] && echo "${SHA256[$f]}  $WORK/src/$f" | sha256sum --check --status || return 1
  done
}

# apt with its own sources.list, lists and cache under WORK: deb-src entries without touching the
# system's configuration. APT::Sandbox::User=root because _apt cannot write into target/.
fetch_sources() {
  local apt="$WORK/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$WORK/src"
  local key="signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"
  cat >"$apt/sources.list" <<EOF
deb-src [$key] http://deb.debian.org/debian bookworm main
deb-src [$key] http://deb.debian.org/debian-security bookworm-security main
EOF
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" -qq update
  (cd "$WORK/src" && apt-get "${opts[@]}" -qq source --download-only "ffmpeg=$DEB_VERSION")
}

if ! sources_ok; then
  echo "vendor/ffmpeg: fetching ffmpeg $DEB_VERSION (Debian source package)"
  fetch_sources
  sources_ok || { echo "vendor/ffmpeg: source files do not match the pinned sha256 sums" >&2; exit 1; }
fi

# A fresh tree every time: a half-built one from an interrupted run is never reused.
rm -rf "$WORK/build" "$PREFIX/lib" "$PREFIX/include" "$PREFIX/.stamp"
mkdir -p "$WORK/build"
dpkg-source -x "$WORK/src/ffmpeg_${DEB_VERSION#*:}.dsc" "$WORK/build/ffmpeg-$UPSTREAM" >/dev/null
cd "$WORK/build/ffmpeg-$UPSTREAM"
echo "vendor/ffmpeg: configure ${CONFIGURE[*]}"
./configure "${CONFIGURE[@]}" >"$WORK/configure.log" 2>&1 || { tail -n 30 ffbuild/config.log >&2; exit 1; }
make -j"$(nproc)" >"$WORK/make.log" 2>&1 || { tail -n 40 "$WORK/make.log" >&2; exit 1; }
make install prefix="$PREFIX" >>"$WORK/make.log" 2>&1
echo "$stamp" >"$PREFIX/.stamp"
echo "vendor/ffmpeg: installed into $PREFIX in ${SECONDS} s"
