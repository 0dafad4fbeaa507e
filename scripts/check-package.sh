#!/usr/bin/env bash
# CI check that framefan is publishable as a crate (issue 22 item 5).
#
# 1. `cargo package --list`: the files a build reads are in the package (every tracked file
#    under src/ and build/, build.rs, vendor/npm/pins.tsv, LICENSE which src/builtin.rs
#    includes, README.md, Cargo.lock) and nothing else of the repository is: no tests/ (the
#    parity renders alone are megabytes), benches/, examples/, deploy/, fuzz/, scripts/, .ci/,
#    vendor/ffmpeg/ or target/.
# 2. `cargo package` itself, which unpacks that list under target/package/ and builds it: the
#    list is enough to build the library and the binary. That build runs build.rs as a user's
#    would: libav and x264 through pkg-config, and the pinned npm files fetched from the
#    registry (set FRAMEFAN_NPM_TARBALLS to a folder of `npm pack` outputs to build offline).
# 3. The library without its default features (no command line, no cloud) still compiles, and
#    with only `s3` a gs:// or az:// URL fails with STORAGE_PROVIDER_NOT_BUILT (the unit test
#    store::tests::a_compiled_out_provider_is_named, in both feature sets).
# 4. `cargo doc --no-deps` has no warning (RUSTDOCFLAGS=-D warnings), twice: with the default
#    features, and as docs.rs builds it (DOCS_RS set, the features of
#    [package.metadata.docs.rs], the npm registry unreachable: build.rs must fetch nothing).
#
# --allow-dirty: CI runs on a clean checkout, where it changes nothing; it lets the check run
# in a working tree with uncommitted edits (the list is then of the working tree's files).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
fail() { echo "check-package: $*" >&2; exit 1; }

list="$(timeout 300 cargo package --list --locked --allow-dirty)"
echo "check-package: the package holds $(wc -l <<<"$list") files"

bad="$(grep -E '^(tests|benches|examples|deploy|fuzz|scripts|\.ci|target|vendor/ffmpeg)/' <<<"$list" || true)"
[ -z "$bad" ] || fail "files that must stay out of the package are in it:
$bad"

need="$(git ls-files src build; printf '%s\n' Cargo.toml Cargo.lock build.rs LICENSE README.md vendor/npm/pins.tsv)"
missing="$(comm -23 <(sort -u <<<"$need") <(sort -u <<<"$list"))"
[ -z "$missing" ] || fail "files a build needs are missing from the package (Cargo.toml include):
$missing"

# Builds the unpacked package in target/package/framefan-<version>/ (the dependencies are
# shared with the debug build through the workspace target directory).
timeout 1800 cargo package --locked --allow-dirty --quiet
echo "check-package: the packaged crate builds"

timeout 1200 cargo check --locked --quiet --lib --no-default-features
timeout 1800 cargo test --locked --quiet --lib --no-default-features --features s3 -- \
  store::tests::a_compiled_out_provider_is_named
timeout 1800 cargo test --locked --quiet --lib -- store::tests::a_compiled_out_provider_is_named
echo "check-package: the library builds without the command line and the clouds"

RUSTDOCFLAGS="-D warnings" timeout 1800 cargo doc --locked --quiet --no-deps
DOCS_RS=1 FRAMEFAN_NPM_REGISTRY=http://127.0.0.1:9 RUSTDOCFLAGS="-D warnings" \
  timeout 1800 cargo doc --locked --quiet --no-deps --lib --no-default-features --features s3,gcs,azure
echo "check-package: cargo doc has no warnings (default features, and as on docs.rs)"
