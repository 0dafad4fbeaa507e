#!/usr/bin/env bash
# CI check: framefan as shipped (issue 18). The packaged binary renders HyperFrames compositions
# on a machine with no checkout, no npm cache, no FRAMEFAN_* settings and no flags beyond what a
# user passes (a package cache holding only GSAP, for the CDN script of the compositions that
# load it); what it needs (HyperFrames' page runtime, the bundled font faces) is in the binary.
#
# 1. The archive: scripts/unpack-archive.sh ($FRAMEFAN_ARCHIVE, else scripts/package.sh, which
#    takes FRAMEFAN_STATIC_BIN), its .sha256 checked, extracted into a temp folder in /tmp.
# 2. The inputs are copied there first: examples/title-card, examples/nested-scenes,
#    examples/media (assets made by `cargo run --example gen-media` when missing: the same bytes
#    in a debug build, which `cargo test` has already compiled) and tests/shipped/fonts-card
#    (12 faces of 5 bundled families and 2 aliases), plus a package cache with GSAP alone.
# 3. As root, in a private mount namespace (`unshare --mount`), empty tmpfs mounts hide: this
#    checkout, any other checkout whose target/package-cache the binary names by path, the cargo
#    target directories, $HOME and /root (npm's ~/.npm, ~/.cache, ~/.config); the renders run
#    from an empty working directory under `env -i` (PATH and HOME only, HOME an empty folder):
#    `framefan render PROJECT -o OUT --format F [--package-cache GSAP_ONLY] --progress none --json`
#    (title-card as mp4, mp4 with --codec h265, gif and webm; tests/parity/audio-fx-chain, whose
#    HyperFrames audio effects run in the browser from the built-in runtime, its tone made by
#    ffmpeg from its parity.json as tests/parity.rs makes it; tests/parity/audio-rate, whose
#    speed ramps need the vendor build's atempo graph filters), then
#    `framefan verify OUT --json`.
# 4. Each render exited 0 and verifies consistent; neither its stderr nor its `warnings` mention
#    a font; and its output is byte-identical (sha256) to the same render made in the checkout by
#    the debug build (target/debug/framefan) with the full package cache (target/package-cache),
#    or, for a project marked "plan" below, its planHash equals the checkout's plan of it.
#
# Prints the archive and binary sizes and each render's wall time. Bounded: every render is
# under `timeout`. The temp folder is removed on exit; nothing is left mounted (the namespace
# dies with its process). Needs root (CI runs as root) for the mount namespace.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"

# name, project (from the checkout), package cache: "gsap" (GSAP only) or "none", what is
# compared with the checkout's: "bytes" (a full debug render, sha256 equal) or "plan" (the
# checkout's plan: planHash equal, so the same runtime, faces, page and encoder settings), and the
# output format (its extension), with `:codec` for `--codec` (mp4:h265): every format and codec
# the binary renders is rendered as shipped.
# nested-scenes is compared by plan: its outro's discrete letter-spacing keyframe was seen drawn
# at another time in one chunk of one render out of four on a loaded machine (a renderer
# nondeterminism, open), and its 300 1080p frames would take 3 minutes in the debug build.
PROJECTS=(
  "title-card examples/title-card gsap bytes mp4"
  "nested-scenes examples/nested-scenes none plan mp4"
  "media examples/media none bytes mp4"
  "fonts-card tests/shipped/fonts-card gsap bytes mp4"
  "title-card-gif examples/title-card gsap bytes gif"
  "title-card-webm examples/title-card gsap bytes webm"
  "title-card-h265 examples/title-card gsap bytes mp4:h265"
  "audio-fx tests/parity/audio-fx-chain none bytes mp4"
  "audio-rate tests/parity/audio-rate none bytes mp4"
)
RENDER_TIMEOUT=600
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The render options of a PROJECTS format field: `--format EXT`, and `--codec C` for `EXT:C`.
format_args() {
  case "$1" in
    *:*) echo "--format ${1%%:*} --codec ${1#*:}" ;;
    *) echo "--format $1" ;;
  esac
}

# Inner step, in the private mount namespace: hide DIRS, then render every project as a user
# would, from an empty working directory with a bare environment. Results go to W/shipped/.
if [ "${1:-}" = "--inside" ]; then
  W="$2" BIN="$3"
  shift 3
  for dir in "$@"; do
    # A dir inside one already hidden is gone; the rest get an empty, read-only tmpfs.
    [ -d "$dir" ] && mount -t tmpfs -o ro,size=4k,mode=0755 framefan-hidden "$dir"
  done
  cd "$W/home"
  bare=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$W/home")
  for p in "${PROJECTS[@]}"; do
    read -r name _ cache _ spec <<<"$p"
    format="${spec%%:*}"
    # shellcheck disable=SC2046 # format_args is a list of words
    args=(render "$W/in/$name" -o "$W/shipped/$name.$format" $(format_args "$spec") --progress none --json)
    [ "$cache" = gsap ] && args+=(--package-cache "$W/gsap-cache")
    t0=$(ms)
    rc=0
    timeout "$RENDER_TIMEOUT" "${bare[@]}" "$BIN" "${args[@]}" \
      >"$W/shipped/$name.json" 2>"$W/shipped/$name.err" || rc=$?
    echo "$rc $(( $(ms) - t0 ))" >"$W/shipped/$name.rc"
    if [ "$rc" -eq 0 ]; then
      "${bare[@]}" "$BIN" verify "$W/shipped/$name.$format" --json >"$W/shipped/$name.verify.json" 2>&1 || true
    fi
  done
  exit 0
fi

cd "$REPO"
start=$(date +%s)
if [ "$(id -u)" -ne 0 ] || ! unshare --mount --propagation private true 2>/dev/null; then
  echo "check-shipped: needs root and mount namespaces (unshare --mount), to hide the checkout" >&2
  exit 1
fi
W="$(mktemp -d /tmp/framefan-check-shipped.XXXXXX)"
# KEEP=1 keeps the temp folder (renders, logs) for a look after a failure.
trap '[ -n "${KEEP:-}" ] && echo "check-shipped: kept $W" >&2 || rm -rf --one-file-system "$W"' EXIT
mkdir -p "$W/in" "$W/home" "$W/shipped" "$W/ref" "$W/gsap-cache/node_modules"

# 1. The archive, checked and extracted outside the checkout.
mapfile -t unpacked < <(bash scripts/unpack-archive.sh "$W/dist")
[ ${#unpacked[@]} -eq 2 ] || { echo "check-shipped: could not unpack the archive" >&2; exit 1; }
dist="${unpacked[0]}" archive="${unpacked[1]}"
BIN="$dist/framefan"
echo "check-shipped: $(basename "$archive"): $(stat -c %s "$archive") bytes; framefan $(stat -c %s "$BIN") bytes (packaged and unpacked at $(( $(date +%s) - start )) s)"

# 2. The inputs, copied out before the checkout is hidden.
if [ ! -f examples/media/assets/clip.mp4 ] || [ ! -f examples/media/assets/tone.m4a ]; then
  timeout 1200 cargo run --quiet --example gen-media >&2
fi
# A parity case's media files are made from its parity.json `generate` (ffmpeg arguments per
# file), as tests/parity.rs makes them; both renders read this copy.
generate_media() {
  local dir="$1" spec="$1/parity.json" file
  [ -f "$spec" ] || return 0
  while IFS= read -r file; do
    mapfile -t args < <(jq -r --arg f "$file" '.generate[$f][]' "$spec")
    ffmpeg -v error -y "${args[@]}" "$dir/$file"
  done < <(jq -r '.generate // {} | keys[]' "$spec")
  rm "$spec"
}
for p in "${PROJECTS[@]}"; do
  read -r name src _ <<<"$p"
  cp -a "$src" "$W/in/$name"
  generate_media "$W/in/$name"
done
gsap_version="$(sed -n 's/^GSAP_VERSION=//p' .ci/deps/10-gsap.sh)"
gsap="${FRAMEFAN_PACKAGE_CACHE:-target/package-cache}/node_modules/gsap"
if grep -qs "\"version\": \"$gsap_version\"" "$gsap/package.json"; then
  mkdir -p "$W/gsap-cache/node_modules/gsap" && cp -a "$gsap/." "$W/gsap-cache/node_modules/gsap/"
else
  npm install --prefix "$W/gsap-cache" --no-audit --no-fund --silent "gsap@$gsap_version" >&2
fi

# 3. What to hide: this checkout, every checkout whose package cache the binary names by path
#    (a binary built elsewhere, through FRAMEFAN_ARCHIVE), the cargo target directories, homes.
# (The binary holds a checkout's root and "target/package-cache" as neighbouring strings.)
hide=("$REPO")
while read -r named; do
  named="${named%target/package-cache}"
  named="${named%/}"
  [ -n "$named" ] && [ -d "$named" ] && hide+=("$named")
done < <(grep -aoE '/[A-Za-z0-9._+/-]*target/package-cache' "$BIN" | sort -u)
for d in "${CARGO_TARGET_DIR:-}" "${FRAMEFAN_STATIC_TARGET_DIR:-}" "${HOME:-}" /root; do
  [ -n "$d" ] && hide+=("$d")
done
mapfile -t hide < <(printf '%s\n' "${hide[@]}" | awk '!seen[$0]++')
for d in "${hide[@]}"; do
  case "$W/" in
    "$d"/*) echo "check-shipped: the temp folder $W lies inside $d, which must be hidden" >&2; exit 1 ;;
  esac
  [ "$d" != / ] || { echo "check-shipped: refusing to hide /" >&2; exit 1; }
done
echo "check-shipped: hidden from the renders: ${hide[*]} (inputs ready at $(( $(date +%s) - start )) s)"
unshare --mount --propagation private bash "$0" --inside "$W" "$BIN" "${hide[@]}"
echo "check-shipped: shipped renders done at $(( $(date +%s) - start )) s"

# What differs between the shipped and the checkout's render of NAME: the plan, or which frames.
compare_frames() {
  local name="$1" format="$2" a b
  a="$(jq -r .planHash "$W/shipped/$name.json")" b="$(jq -r .planHash "$W/ref/$name.json")"
  if [ "$a" != "$b" ]; then
    echo "planHash $a vs $b"
    return
  fi
  for d in shipped ref; do
    ffmpeg -v error -i "$W/$d/$name.$format" -map 0:v -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}' >"$W/$d/$name.framemd5"
  done
  echo "same planHash; decoded frames differ in runs starting at index $(diff "$W/shipped/$name.framemd5" "$W/ref/$name.framemd5" \
    | sed -n 's/^\([0-9]*\)[0-9,]*c.*/\1/p' | awk '{printf "%s%d", s, $1 - 1; s=","}') (of $(wc -l <"$W/ref/$name.framemd5"))"
}

# 4. The same renders in the checkout with the debug build and the full package cache; compare.
timeout 1800 cargo build --quiet --bin framefan
failed=0
printf '%-14s %10s %10s  %s\n' project shipped_ms checkout_ms result
for p in "${PROJECTS[@]}"; do
  read -r name _ _ compare spec <<<"$p"
  format="${spec%%:*}"
  read -r rc wall <"$W/shipped/$name.rc"
  result=ok ref_wall=-
  if [ "$rc" -ne 0 ]; then
    result="exit $rc: $(tail -n 3 "$W/shipped/$name.err" | tr '\n' ' ')"
  elif ! jq -e '.consistent == true' "$W/shipped/$name.verify.json" >/dev/null 2>&1; then
    result="verify: $(cat "$W/shipped/$name.verify.json")"
  elif font=$(cat "$W/shipped/$name.err" <(jq -r '.warnings[]?' "$W/shipped/$name.json") | grep -i font); then
    result="font warning: $font"
  elif [ "$compare" = plan ]; then
    t0=$(ms)
    target/debug/framefan plan "$W/in/$name" "$W/ref/$name.plan" --package-cache "${FRAMEFAN_PACKAGE_CACHE:-target/package-cache}" \
      --json >"$W/ref/$name.json" 2>"$W/ref/$name.err" || result="checkout plan failed: $(tail -n 3 "$W/ref/$name.err")"
    ref_wall=$(( $(ms) - t0 ))
    a="$(jq -r .planHash "$W/shipped/$name.json")" b="$(jq -r .planHash "$W/ref/$name.json" 2>/dev/null)"
    frames="$(jq -r .frames "$W/shipped/$name.verify.json")"
    if [ "$result" = ok ] && [ "$a" = "$b" ] && [ "$frames" = "$(jq -r .totalFrames "$W/shipped/$name.json")" ]; then
      result="ok: $frames frames verified, planHash equal to the checkout's plan (${a:0:16}…)"
    elif [ "$result" = ok ]; then
      result="planHash $a vs the checkout's $b, or $frames frames"
    fi
  else
    t0=$(ms)
    # shellcheck disable=SC2046 # format_args is a list of words
    timeout "$RENDER_TIMEOUT" target/debug/framefan render "$W/in/$name" -o "$W/ref/$name.$format" $(format_args "$spec") \
      --package-cache "${FRAMEFAN_PACKAGE_CACHE:-target/package-cache}" --progress none --json \
      >"$W/ref/$name.json" 2>"$W/ref/$name.err" || { result="checkout render failed: $(tail -n 3 "$W/ref/$name.err")"; }
    ref_wall=$(( $(ms) - t0 ))
    if [ "$result" = ok ]; then
      shipped_sha=$(sha256sum <"$W/shipped/$name.$format" | cut -d' ' -f1)
      ref_sha=$(sha256sum <"$W/ref/$name.$format" | cut -d' ' -f1)
      if [ "$shipped_sha" = "$ref_sha" ]; then
        result="ok: $(jq -r '"\(.totalFrames) frames, \(.chunkCount) chunks"' "$W/shipped/$name.json"), byte-identical (sha256 ${ref_sha:0:16}…)"
      else
        result="differs from the checkout's render (sha256 ${shipped_sha:0:16}… vs ${ref_sha:0:16}…): $(compare_frames "$name" "$format")"
      fi
    fi
  fi
  case "$result" in ok:*) ;; *) failed=1 ;; esac
  printf '%-14s %10s %10s  %s\n' "$name" "$wall" "$ref_wall" "$result"
  # Anything else the shipped render said, for the log.
  if [ -s "$W/shipped/$name.err" ] && [ "$rc" -eq 0 ]; then sed "s/^/  $name stderr: /" "$W/shipped/$name.err"; fi
done
if [ "$failed" -ne 0 ]; then
  echo "check-shipped: the packaged binary does not render as shipped (above)" >&2
  exit 1
fi
echo "check-shipped: passed in $(( $(date +%s) - start )) s"
