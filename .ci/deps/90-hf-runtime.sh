# HyperFrames' published page runtime (npm `hyperframes`, Apache-2.0): `plan` freezes
# dist/hyperframe.runtime.iife.js into every plan. Only the tarball is fetched (`npm pack`, no
# dependency install); the runtime, package.json (its licence field: the tarball ships no LICENSE
# file) and README are extracted into the package cache in npm's layout
# (node_modules/hyperframes/...), and the runtime's sha256 is checked against the pin in
# src/runtime/mod.rs, so a changed upstream file fails here rather than in a render.
#
# It runs last (90-): it is placed by hand, not by npm, so any `npm install --prefix` into the
# same cache afterwards (GSAP, @fontsource) would prune it as extraneous.
CACHE="${FRAMEFAN_PACKAGE_CACHE:-target/package-cache}"
HF_RUNTIME_VERSION=$(sed -n 's/^pub const VERSION: &str = "\(.*\)";/\1/p' "$REPO/src/runtime/mod.rs")
HF_RUNTIME_SHA=$(sed -n 's/^pub const SHA256: &str = "\(.*\)";/\1/p' "$REPO/src/runtime/mod.rs")
HF_RUNTIME_DIR="$CACHE/node_modules/hyperframes"
if ! echo "$HF_RUNTIME_SHA  $HF_RUNTIME_DIR/dist/hyperframe.runtime.iife.js" | sha256sum -c --status 2>/dev/null; then
  hf_tmp=$("${as_user[@]}" mktemp -d)
  (cd "$hf_tmp" && "${as_user[@]}" npm pack --silent "hyperframes@$HF_RUNTIME_VERSION" >/dev/null)
  "${as_user[@]}" tar -xzf "$hf_tmp/hyperframes-$HF_RUNTIME_VERSION.tgz" -C "$hf_tmp" \
    package/package.json package/README.md package/dist/hyperframe.runtime.iife.js
  echo "$HF_RUNTIME_SHA  $hf_tmp/package/dist/hyperframe.runtime.iife.js" | sha256sum -c --status || {
    echo "90-hf-runtime: hyperframes@$HF_RUNTIME_VERSION's runtime does not match the pinned sha256 $HF_RUNTIME_SHA" >&2
    exit 1
  }
  "${as_user[@]}" mkdir -p "$HF_RUNTIME_DIR/dist"
  "${as_user[@]}" cp "$hf_tmp/package/package.json" "$hf_tmp/package/README.md" "$HF_RUNTIME_DIR/"
  "${as_user[@]}" cp "$hf_tmp/package/dist/hyperframe.runtime.iife.js" "$HF_RUNTIME_DIR/dist/"
  rm -rf "$hf_tmp"
fi
