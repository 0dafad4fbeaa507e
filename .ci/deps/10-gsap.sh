# The package cache that `plan` resolves CDN scripts from and the GSAP tests use: GSAP from the
# npm registry, pinned. Installed once per checkout (target/ is never committed).
CACHE="${FRAMEFAN_PACKAGE_CACHE:-target/package-cache}"
GSAP_VERSION=3.15.0
if ! grep -qs "\"version\": \"$GSAP_VERSION\"" "$CACHE/node_modules/gsap/package.json"; then
  "${as_user[@]}" mkdir -p "$CACHE"
  "${as_user[@]}" npm install --prefix "$CACHE" --no-audit --no-fund --silent "gsap@$GSAP_VERSION"
fi
