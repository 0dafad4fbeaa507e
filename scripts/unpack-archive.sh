#!/usr/bin/env bash
# The release archive, checked and extracted, for the checks that use framefan as shipped
# (scripts/check-shipped.sh, scripts/check-container.sh):
#
#   bash scripts/unpack-archive.sh DEST     # prints DEST/framefan-<version>-x86_64-linux
#
# The archive is $FRAMEFAN_ARCHIVE (e.g. a release artifact, its .sha256 beside it), else the one
# scripts/package.sh writes from this checkout into target/dist/. package.sh runs every time
# rather than an archive left in target/dist/ being reused: that one may predate the sources (a
# stale binary would fail or pass for the wrong reason), and rerunning costs little, since
# scripts/build-static.sh rebuilds nothing when nothing changed (and package.sh takes
# FRAMEFAN_STATIC_BIN). Its .sha256 is checked, then it is extracted into DEST (which must be
# empty or absent). stdout: line 1 the extracted folder, line 2 the archive; the rest is stderr.
set -euo pipefail
dest="$(realpath -m "${1:?usage: unpack-archive.sh DEST}")"
archive="${FRAMEFAN_ARCHIVE:+$(realpath "$FRAMEFAN_ARCHIVE")}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"

if [ -z "$archive" ]; then
  archive="$(timeout 2400 bash scripts/package.sh | tail -n1)"
fi
case "$archive" in
  *.tar.gz) ;;
  *) echo "unpack-archive: $archive is not a .tar.gz" >&2; exit 1 ;;
esac
[ -f "$archive.sha256" ] || { echo "unpack-archive: no $archive.sha256 beside the archive" >&2; exit 1; }
(cd "$(dirname "$archive")" && sha256sum --check --quiet "$(basename "$archive").sha256") >&2 \
  || { echo "unpack-archive: $archive does not match its .sha256" >&2; exit 1; }

mkdir -p "$dest"
[ -z "$(ls -A "$dest")" ] || { echo "unpack-archive: $dest is not empty" >&2; exit 1; }
tar -xzf "$archive" -C "$dest" --no-same-owner
name="$(basename "$archive" .tar.gz)"
[ -x "$dest/$name/framefan" ] || { echo "unpack-archive: $archive has no $name/framefan" >&2; exit 1; }
echo "$dest/$name"
echo "$archive"
