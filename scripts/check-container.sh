#!/usr/bin/env bash
# CI check: the worker image (deploy/container/Dockerfile) built and run for real, as the deploy/
# engine recipes run it. No Docker engine and no registry are needed: Debian's podman (rootful,
# .ci/deps/50-container.apt) builds the Dockerfile unchanged.
#
# 1. The base image `debian:12-slim`, made here once when podman's storage lacks it:
#    `debootstrap --variant=minbase bookworm` from the mirror apt already uses (the first `URIs:`
#    of /etc/apt/sources.list.d/debian.sources, which is copied in as the image's own sources, as
#    in the published image), imported under the name Docker would pull,
#    docker.io/library/debian:12-slim. Cached in podman's storage: later runs reuse it.
# 2. The packaged archive: scripts/unpack-archive.sh ($FRAMEFAN_ARCHIVE, else
#    scripts/package.sh), its .sha256 checked, extracted.
# 3. The image: only the Dockerfile's `runtime` stage, with the extracted archive as the named
#    build context `dist` in place of the stage of that name (so the Rust `builder` stage, which
#    needs a rust:* image, is skipped), tagged localhost/framefan:<version>. The apt layer is
#    cached between runs.
# 4. Runs, each `podman run --rm --network none` as the image's user (uid 10001), with a work
#    folder bind-mounted at /job (examples/title-card and a package cache holding GSAP alone):
#    `version --json` (static libav, a browser found); `plan`; `render-chunk` once per chunk with
#    the index from JOB_COMPLETION_INDEX and FRAMEFAN_CACHE_DIR set, as the Kubernetes recipe
#    runs it; `assemble --chunks-dir --plan-audio`; `render` end to end; `verify` of both outputs.
#    Every step exits 0, no stderr line or `warnings` entry mentions a font, both outputs decode
#    (ffprobe outside) to the plan's frame count, and they are byte-identical.
#
# Every step is timed and under `timeout`. Containers are named framefan-check-<pid>-<n> and
# removed on exit with the temp folder (nothing is left running). Needs root (CI runs as root).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
start=$(date +%s)
[ "$(id -u)" -eq 0 ] || { echo "check-container: needs root (podman runs rootful here)" >&2; exit 1; }
BASE=docker.io/library/debian:12-slim
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
IMAGE="localhost/framefan:$version"
W="$(mktemp -d /tmp/framefan-check-container.XXXXXX)"
PREFIX="framefan-check-$$"

# podman as it works on this machine (Debian 12's 4.3.1, rootful): runc (crun, which podman would
# pick, is not installed: it refuses this machine's hybrid cgroup layout); cgroupfs (PID 1 is not
# systemd); and a containers.conf without default ulimits, since the runtime may not raise
# RLIMIT_NOFILE here ("error setting rlimit type 7: operation not permitted").
printf '[containers]\ndefault_ulimits = []\n' >"$W/containers.conf"
export CONTAINERS_CONF="$W/containers.conf"
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
pm() { "${PODMAN[@]}" "$@"; }

cleanup() {
  local ids
  ids="$(pm ps -a -q --filter "name=^$PREFIX-" 2>/dev/null || true)"
  [ -z "$ids" ] || pm rm -f $ids >/dev/null 2>&1 || true
  # An interrupted debootstrap may leave /proc or /sys mounted in its root file system.
  findmnt -rn -o TARGET | grep "^$W/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  # KEEP=1 keeps the temp folder (logs, the job folder) for a look after a failure.
  if [ -n "${KEEP:-}" ]; then echo "check-container: kept $W" >&2; else rm -rf --one-file-system "$W"; fi
}
trap cleanup EXIT

step() { # step NAME COMMAND...: run, time, and keep stdout/stderr in $W/log/NAME.{out,err}
  local name="$1" t0 rc=0
  shift
  t0=$(date +%s%N)
  "$@" >"$W/log/$name.out" 2>"$W/log/$name.err" || rc=$?
  printf 'check-container: %-24s %7d ms\n' "$name" $(( ($(date +%s%N) - t0) / 1000000 ))
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$W/log/$name.err" "$W/log/$name.out" >&2
    echo "check-container: $name failed (exit $rc)" >&2
    exit 1
  fi
}
mkdir -p "$W/log"

# Storage: the kernel's overlay on this machine (root on ext4). Where the kernel cannot stack
# overlay on the root file system (a CI runner that is itself a container on overlayfs),
# fuse-overlayfs does the same in user space (tested here), in a storage of its own, because one
# storage cannot switch drivers.
if ! pm info >/dev/null 2>&1; then
  PODMAN+=(--storage-driver overlay --storage-opt overlay.mount_program=/usr/bin/fuse-overlayfs
    --root /var/lib/containers/storage-fuse --runroot /run/containers/storage-fuse)
  pm info >/dev/null
fi
echo "check-container: ${PODMAN[*]} (podman $(pm version --format '{{.Client.Version}}'))"

# 1. The base image.
make_base() {
  local mirror rootfs="$W/rootfs" deb822=/etc/apt/sources.list.d/debian.sources
  # The host's mirror: deb822 sources (Debian 12's default), else a one-line sources.list.
  if [ -f "$deb822" ]; then
    mirror="$(awk '/^URIs:/ {print $2; exit}' "$deb822")"
  else
    mirror="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)"
  fi
  [ -n "$mirror" ] || { echo "check-container: no Debian mirror in $deb822 or /etc/apt/sources.list" >&2; exit 1; }
  timeout 1200 debootstrap --variant=minbase bookworm "$rootfs" "$mirror"
  if [ -f "$deb822" ]; then
    rm -f "$rootfs/etc/apt/sources.list"
    cp "$deb822" "$rootfs/etc/apt/sources.list.d/debian.sources"
  else
    cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
  fi
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$rootfs" -c . | pm import --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase bookworm $mirror (scripts/check-container.sh)" - "$BASE"
  rm -rf --one-file-system "$rootfs"
}
if pm image exists "$BASE"; then
  echo "check-container: base image $BASE present"
else
  step base-image make_base
fi

# 2. The packaged archive, extracted: the build context that stands for the `dist` stage.
step package bash scripts/unpack-archive.sh "$W/dist"
dist="$(head -n1 "$W/log/package.out")"
archive="$(sed -n 2p "$W/log/package.out")"
echo "check-container: $(basename "$archive") ($(stat -c %s "$archive") bytes)"

# 3. The runtime stage only. The context is an empty folder: the runtime stage copies nothing from
#    the source tree, only from `dist`. --pull=never: the base image is the local one.
old_id="$(pm image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
mkdir -p "$W/context"
step image-build timeout 1800 "${PODMAN[@]}" build --network host --pull=never --layers \
  --build-context dist="$dist" --target runtime -f deploy/container/Dockerfile -t "$IMAGE" "$W/context"
new_id="$(pm image inspect --format '{{.Id}}' "$IMAGE")"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  pm rmi "$old_id" >/dev/null 2>&1 || true # the previous build of this tag, now untagged
fi
echo "check-container: $IMAGE $(pm image inspect --format '{{.Size}}' "$IMAGE") bytes"

# 4. The worker, as the engine recipes run it: no network, the image's own user.
job="$W/job"
mkdir -p "$job/pkg/node_modules" "$job/chunks" "$job/cache"
cp -a examples/title-card "$job/title-card"
gsap_version="$(sed -n 's/^GSAP_VERSION=//p' .ci/deps/10-gsap.sh)"
gsap="${FRAMEFAN_PACKAGE_CACHE:-target/package-cache}/node_modules/gsap"
if grep -qs "\"version\": \"$gsap_version\"" "$gsap/package.json"; then
  mkdir -p "$job/pkg/node_modules/gsap" && cp -a "$gsap/." "$job/pkg/node_modules/gsap/"
else
  npm install --prefix "$job/pkg" --no-audit --no-fund --silent "gsap@$gsap_version"
fi
chown -R 10001:10001 "$job"
n=0
ctr() { # ctr [podman run options...] -- framefan arguments...
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  n=$((n + 1))
  timeout 600 "${PODMAN[@]}" run --rm --network none --shm-size 256m --name "$PREFIX-$n" \
    -v "$job:/job" "${opts[@]}" "$IMAGE" "$@"
}

step run-version ctr -- version --json
jq -e '.libav.linkage == "static" and .browser.error == null' "$W/log/run-version.out" >/dev/null \
  || { cat "$W/log/run-version.out" >&2; echo "check-container: not the static build, or no browser" >&2; exit 1; }
echo "check-container: $(jq -c '{version, ffmpegVersion, browser: .browser.path, captureMode: .browser.captureMode}' "$W/log/run-version.out")"

step run-plan ctr -- plan /job/title-card /job/plan --package-cache /job/pkg --json
chunks="$(jq -r .chunkCount "$job/plan/plan.json")"
frames="$(jq -r .totalFrames "$job/plan/plan.json")"
for i in $(seq 0 $((chunks - 1))); do
  step "run-render-chunk-$i" ctr -e JOB_COMPLETION_INDEX="$i" -e FRAMEFAN_CACHE_DIR=/job/cache -- \
    render-chunk /job/plan /job/chunks/ --json
done
step run-assemble ctr -- assemble /job/plan /job/output.mp4 --chunks-dir /job/chunks/ --plan-audio --json
step run-render ctr -- render /job/title-card -o /job/render.mp4 --package-cache /job/pkg --progress none --json
step run-verify-assembled ctr -- verify /job/output.mp4 --plan /job/plan --json
step run-verify-render ctr -- verify /job/render.mp4 --plan /job/plan --json

# The results: no font warning anywhere, both decode to the plan's frames, and they are equal.
# (Only framefan's own output, in the run-* logs: the build logs name font packages.)
if grep -i font "$W"/log/run-*.err; then
  echo "check-container: a step warned about fonts (above)" >&2
  exit 1
fi
for f in "$W"/log/run-*.out; do
  if jq -r '.warnings[]?' "$f" 2>/dev/null | grep -i font; then
    echo "check-container: $(basename "$f" .out) reported a font warning (above)" >&2
    exit 1
  fi
done
for out in output render; do
  decoded="$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
    -of csv=p=0 "$job/$out.mp4")"
  [ "$decoded" = "$frames" ] || { echo "check-container: $out.mp4 decodes to $decoded frames, the plan has $frames" >&2; exit 1; }
done
if ! cmp -s "$job/output.mp4" "$job/render.mp4"; then
  echo "check-container: plan + render-chunk × $chunks + assemble and render differ in bytes" >&2
  exit 1
fi
echo "check-container: title-card, $frames frames in $chunks chunks: plan + render-chunk × $chunks + assemble = render, byte-identical (sha256 $(sha256sum <"$job/render.mp4" | cut -c1-16)…), verified, no font warning"
echo "check-container: passed in $(( $(date +%s) - start )) s"
