#!/usr/bin/env bash
# Build the static binary and write the release archive:
#
#   target/dist/framefan-<version>-x86_64-linux.tar.gz  (+ .sha256)
#     framefan-<version>-x86_64-linux/
#       framefan          the static binary (debug info stripped; needs only libc, libm, libgcc_s)
#       README.md         this repository's README
#       LICENSE           Apache-2.0, framefan's own code
#       THIRD-PARTY.md    what the binary contains and under which licences (GPL-2.0-or-later
#                         as a whole, because of x264 and FFmpeg's --enable-gpl)
#       licenses/         GPL-2.0, LGPL-2.1, each Rust crate's licence files, version JSON, and
#                         npm/<package>@<version>/LICENSE for the runtime and fonts built in
#
# The archive is reproducible from the same commit and inputs: sorted entries, fixed owner, and
# every mtime set to the commit's time (SOURCE_DATE_EPOCH), gzip without a name or time stamp.
# Set FRAMEFAN_STATIC_BIN to package an already built binary.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"

bin="${FRAMEFAN_STATIC_BIN:-$(bash scripts/build-static.sh | tail -n1)}"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
name="framefan-$version-x86_64-linux"
dist="$REPO/target/dist"
stage="$dist/$name"
rm -rf "$stage"
mkdir -p "$stage/licenses"

objcopy --strip-debug "$bin" "$stage/framefan"
# What the binary says about itself, minus the packaging machine's browser.
"$stage/framefan" version --json | jq 'del(.browser)' >"$stage/licenses/framefan-version.json"
jq -e '.libav.linkage == "static"' "$stage/licenses/framefan-version.json" >/dev/null \
  || { echo "package: $bin is not the static build" >&2; exit 1; }
cp README.md LICENSE "$stage/"
cp /usr/share/common-licenses/GPL-2 "$stage/licenses/GPL-2.0.txt"
cp /usr/share/common-licenses/LGPL-2.1 "$stage/licenses/LGPL-2.1.txt"
bash scripts/third-party.sh "$stage/licenses/framefan-version.json" "$stage/licenses" "$stage/framefan" >"$stage/THIRD-PARTY.md"

epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
archive="$dist/$name.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
  -C "$dist" -cf - "$name" | gzip -n -9 >"$archive.part"
mv "$archive.part" "$archive"
(cd "$dist" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
echo "package: $archive ($(stat -c %s "$archive") bytes; binary $(stat -c %s "$stage/framefan") bytes)" >&2
cat "$archive.sha256" >&2
echo "$archive"
