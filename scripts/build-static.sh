#!/usr/bin/env bash
# Build the static release binary and print its path (the last line of stdout).
#
#   bash scripts/build-static.sh
#
# 1. vendor/ffmpeg/build.sh builds the minimal static libav into target/vendor-ffmpeg (cached);
# 2. cargo builds `--release --features static` with FFMPEG_DIR pointing there, into its own
#    target directory (target/static, or $FRAMEFAN_STATIC_TARGET_DIR) so that the normal build's
#    artifacts (shared libav) are not rebuilt each time one switches between the two.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
export FFMPEG_DIR="${FFMPEG_DIR:-$REPO/target/vendor-ffmpeg}"
export CARGO_TARGET_DIR="${FRAMEFAN_STATIC_TARGET_DIR:-$REPO/target/static}"

bash vendor/ffmpeg/build.sh "$FFMPEG_DIR" >&2

# ffmpeg-sys-next copies the libav archives into its rlib when it is compiled, and reruns only
# when FFMPEG_DIR's value changes: after a vendor rebuild with other inputs, recompile it.
stamp="$(cat "$FFMPEG_DIR/.stamp")"
if [ -d "$CARGO_TARGET_DIR/release" ] && [ "$(cat "$CARGO_TARGET_DIR/.vendor-stamp" 2>/dev/null)" != "$stamp" ]; then
  cargo clean --release -p ffmpeg-sys-next >&2
fi
cargo build --release --locked --features static --bin framefan >&2
echo "$stamp" >"$CARGO_TARGET_DIR/.vendor-stamp"
echo "$CARGO_TARGET_DIR/release/framefan"
