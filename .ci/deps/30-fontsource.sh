# The font faces `plan` freezes into every plan (deterministic text, as HyperFrames renders it):
# the @fontsource packages of HyperFrames' ~18 bundled families, pinned, from the npm registry,
# into the same package cache as GSAP (see 10-gsap.sh). A user may `npm install --prefix` any
# other @fontsource/<family> into the cache and plan uses it for that family.
CACHE="${FRAMEFAN_PACKAGE_CACHE:-target/package-cache}"
FONTSOURCE_PINS=(
  inter@5.3.0 montserrat@5.3.0 outfit@5.3.0 nunito@5.3.0 oswald@5.3.0 league-gothic@5.3.0
  archivo-black@5.3.0 space-mono@5.3.0 ibm-plex-mono@5.3.0 jetbrains-mono@5.3.0
  eb-garamond@5.3.0 playfair-display@5.3.0 source-code-pro@5.3.1 noto-sans-jp@5.3.0
  roboto@5.3.0 open-sans@5.3.0 lato@5.3.0 poppins@5.3.0
)
fontsource_missing=()
for pin in "${FONTSOURCE_PINS[@]}"; do
  if ! grep -qs "\"version\": \"${pin#*@}\"" "$CACHE/node_modules/@fontsource/${pin%@*}/package.json"; then
    fontsource_missing+=("@fontsource/$pin")
  fi
done
if [ ${#fontsource_missing[@]} -gt 0 ]; then
  "${as_user[@]}" mkdir -p "$CACHE"
  "${as_user[@]}" npm install --prefix "$CACHE" --no-audit --no-fund --silent "${fontsource_missing[@]}"
fi
