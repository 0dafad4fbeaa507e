#!/usr/bin/env bash
# Write THIRD-PARTY.md for the static binary to stdout, and copy the Rust crates' own licence
# files into LICENSES_DIR/crates/<name>-<version>/.
#
#   bash scripts/third-party.sh VERSION_JSON LICENSES_DIR BIN
#
# VERSION_JSON is the binary's `framefan version --json` (its libav configure line and versions
# are quoted from it, so the notice describes the binary actually packaged); BIN is the binary,
# whose `framefan licenses --write` gives the texts of the npm files built into it (HyperFrames'
# runtime and font faces) into LICENSES_DIR/npm/. Used by package.sh.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
version_json="$1"
licenses="$2"
bin="$3"
builtin_list="$("$bin" licenses --write "$licenses/npm" | grep '^- ')"
runtime="$(jq -r '.builtin.runtime | "\(.package)@\(.version) (sha256 \(.sha256))"' "$version_json")"
faces="$(jq -r '.builtin.fonts.faces' "$version_json")"
families="$(jq -r '[.builtin.fonts.families[] | "\(.family) \(.weights | map(tostring) | join("/"))"] | join(", ")' "$version_json")"
configuration="$(jq -r .libav.configuration "$version_json")"
libav="$(jq -r .libav.version "$version_json")"
x264="$(jq -r .x264 "$version_json")"
x264_deb="$(dpkg-query -W -f='${Version}' libx264-dev)"
zlib_deb="$(dpkg-query -W -f='${Version}' zlib1g-dev)"
vpx_deb="$(dpkg-query -W -f='${Version}' libvpx-dev)"
opus_deb="$(dpkg-query -W -f='${Version}' libopus-dev)"
x265_deb="$(dpkg-query -W -f='${Version}' libx265-dev)"
numa_deb="$(dpkg-query -W -f='${Version}' libnuma-dev)"
stdcxx_deb="$(dpkg-query -W -f='${Version}' libstdc++-12-dev)"
# Their BSD licences ask for the copyright notices and licence texts: Debian's copyright files
# hold both, per file group.
cp /usr/share/doc/libvpx-dev/copyright "$licenses/libvpx-copyright.txt"
cp /usr/share/doc/libopus-dev/copyright "$licenses/libopus-copyright.txt"
cp /usr/share/doc/libx265-dev/copyright "$licenses/libx265-copyright.txt"
cp /usr/share/doc/libnuma-dev/copyright "$licenses/libnuma-copyright.txt"
cp /usr/share/doc/libstdc++-12-dev/copyright "$licenses/libstdc++-copyright.txt"

# The crates compiled into the binary: normal dependencies only (no build or dev dependencies).
crates="$(cargo tree --locked -e normal --features static --prefix none --format '{p}|{l}' \
  | sed 's/ (\*)$//; s/ (proc-macro)//' | grep -v '^framefan ' | sort -u)"
# name|version|directory of every package, from one `cargo metadata` (Linux targets only).
dirs="$(cargo metadata --locked --format-version 1 --features static --filter-platform x86_64-unknown-linux-gnu \
  | jq -r '.packages[] | "\(.name)|\(.version)|\(.manifest_path | sub("/Cargo.toml$"; ""))"')"
while IFS='|' read -r pkg _; do
  name="${pkg%% *}" ver="${pkg#* v}" ver="${ver%% *}"
  dir="$(awk -F'|' -v n="$name" -v v="$ver" '$1 == n && $2 == v { print $3; exit }' <<<"$dirs")"
  files="$(find "$dir" -maxdepth 1 -type f \( -iname 'LICEN[CS]E*' -o -iname 'COPYING*' -o -iname 'NOTICE*' \))"
  [ -n "$files" ] || continue
  mkdir -p "$licenses/crates/$name-$ver"
  xargs -d '\n' cp -t "$licenses/crates/$name-$ver/" <<<"$files"
done <<<"$crates"

cat <<EOF
# Third-party software in this framefan binary

**The binary as distributed is GPL-2.0-or-later.** framefan's own code is Apache-2.0
(\`LICENSE\`), but this binary contains FFmpeg configured with \`--enable-gpl\`, x264 and x265,
all GPL-2.0-or-later, linked statically; the combined work is therefore distributed under the GNU
General Public License, version 2 or later (\`licenses/GPL-2.0.txt\`). framefan's source alone,
from its repository, remains Apache-2.0.

Corresponding source: framefan's repository at the commit of this release; FFmpeg as the Debian
source package \`ffmpeg=7:5.1.9-0+deb12u1\` (\`apt-get source\`), built by
\`vendor/ffmpeg/build.sh\` with the configuration below; x264 as the Debian source package
\`x264=$x264_deb\`; x265 as \`x265=$x265_deb\`; libvpx as \`libvpx=$vpx_deb\`; libopus as
\`opus=$opus_deb\`; libnuma as \`numactl=$numa_deb\`; libstdc++ as \`gcc-12=$stdcxx_deb\`; zlib
as \`zlib=$zlib_deb\`.

## FFmpeg $libav (libavcodec, libavformat, libavutil, libswscale, libswresample)

- Licence: LGPL-2.1-or-later for most files (\`licenses/LGPL-2.1.txt\`); with \`--enable-gpl\` and
  libx264, as here, **GPL-2.0-or-later**.
- Copyright: the FFmpeg developers, <https://ffmpeg.org/>.
- Source sha256: \`ffmpeg_5.1.9.orig.tar.xz\`
  d9b593bb2ba93d4b50f74177e0cdcd41747e708596367deed0c30348a71dd176, Debian's
  \`ffmpeg_5.1.9-0+deb12u1.debian.tar.xz\`
  71b20472ecd2764bc98e3229d34c0f7c8dcfe4a6cbacc23fd5604c23bac04632.
- Configuration: \`$configuration\`

## x264 $x264

- Licence: **GPL-2.0-or-later** (\`licenses/GPL-2.0.txt\`). Copyright 2003-2022 x264 project,
  <https://www.videolan.org/developers/x264.html>.
- Linked from Debian's \`libx264-dev\` $x264_deb (\`libx264.a\`).

## x265 $(pkg-config --modversion x265) (H.265 encoder of mp4 with \`--codec h265\`)

- Licence: **GPL-2.0-or-later** (\`licenses/GPL-2.0.txt\`). Copyright 2013-2020 MulticoreWare,
  Inc., and the x265 authors listed in \`licenses/libx265-copyright.txt\` (Debian's copyright
  file). <https://www.x265.org/>.
- Linked from Debian's \`libx265-dev\` $x265_deb (\`libx265.a\`).

## libnuma $(pkg-config --modversion numa) (x265's thread placement)

- Licence: LGPL-2.1 (\`licenses/LGPL-2.1.txt\`); copyright Silicon Graphics, Inc., Andi Kleen,
  SUSE Labs, and others as listed in \`licenses/libnuma-copyright.txt\`. Linked statically from
  Debian's \`libnuma-dev\` $numa_deb (\`libnuma.a\`); its source is part of the corresponding
  source above, so the binary can be relinked with a modified libnuma.

## libstdc++ (GCC 12, the C++ runtime x265 needs)

- Licence: GPL-3.0-or-later with the GCC Runtime Library Exception 3.1, which lets it be linked
  into a binary under any licence; see \`licenses/libstdc++-copyright.txt\` (Debian's copyright
  file of gcc-12). Linked statically from Debian's \`libstdc++-12-dev\` $stdcxx_deb.

## libvpx $(pkg-config --modversion vpx) (VP9 encoder of webm)

- Licence: BSD-3-Clause (parts ISC, public domain); copyright (c) 2010-2018 The WebM Project
  authors, Google Inc., the LibYuv Project Authors, the x264 project (x86inc), and others as
  listed, with each licence text, in \`licenses/libvpx-copyright.txt\` (Debian's copyright file).
  <https://www.webmproject.org/>.
- Linked from Debian's \`libvpx-dev\` $vpx_deb (\`libvpx.a\`).

## libopus $(pkg-config --modversion opus) (Opus encoder of webm's audio)

- Licence: BSD-3-Clause (parts BSD-2-Clause); copyright 2001-2018 Xiph.Org, Skype Limited,
  Octasic, Jean-Marc Valin, Timothy B. Terriberry, CSIRO, Gregory Maxwell, Mark Borgerding,
  Erik de Castro Lopo, and others as listed, with each licence text, in
  \`licenses/libopus-copyright.txt\` (Debian's copyright file). <https://opus-codec.org/>.
- Linked from Debian's \`libopus-dev\` $opus_deb (\`libopus.a\`).

## zlib

- Licence: Zlib. Copyright (C) 1995-2022 Jean-loup Gailly and Mark Adler. Linked from Debian's
  \`zlib1g-dev\` $zlib_deb (\`libz.a\`).

> This software is provided 'as-is', without any express or implied warranty. In no event will
> the authors be held liable for any damages arising from the use of this software.
> Permission is granted to anyone to use this software for any purpose, including commercial
> applications, and to alter it and redistribute it freely, subject to the following
> restrictions: 1. The origin of this software must not be misrepresented; you must not claim
> that you wrote the original software. If you use this software in a product, an
> acknowledgment in the product documentation would be appreciated but is not required.
> 2. Altered source versions must be plainly marked as such, and must not be misrepresented as
> being the original software. 3. This notice may not be removed or altered from any source
> distribution.

## Built in from npm: HyperFrames' page runtime and its bundled font faces

The binary carries, byte for byte, files of these npm packages (fetched by name from the npm
registry at build time and checked against the sha256 pins of \`vendor/npm/pins.tsv\`); each
licence text is in \`licenses/npm/<package>@<version>/LICENSE\` (\`framefan licenses\` lists them
too):

- HyperFrames' page runtime \`$runtime\`, \`dist/hyperframe.runtime.iife.js\`: Apache-2.0,
  by HeyGen (<https://github.com/heygen-com/hyperframes>; the package states its licence in
  \`package.json\`, the text is in \`licenses/npm/hyperframes@0.8.170/LICENSE\`).
- $faces font faces (latin subset, woff2) of the \`@fontsource\` packages of: $families. SIL Open
  Font License 1.1; each family's copyright line heads its licence file.

$builtin_list

## The C runtime

glibc (libc, libm), libgcc_s and the dynamic loader are not in the binary: it loads the system's.

## Rust crates

Compiled in from crates.io (normal dependencies of framefan, \`cargo tree -e normal\`); each
crate's own licence and notice files are in \`licenses/crates/<name>-<version>/\`.

| crate | licence |
|---|---|
EOF
while IFS='|' read -r pkg license; do
  echo "| ${pkg% (*} | ${license:-see licenses/crates} |"
done <<<"$crates"
