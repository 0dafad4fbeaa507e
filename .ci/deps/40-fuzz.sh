# cargo-fuzz for scripts/check-fuzz.sh (fuzz/ is its own workspace). Installed as the invoking
# user into their cargo bin directory, which must then be on PATH; skipped when already there.
CARGO_FUZZ_VERSION=0.13.2
if ! "${as_user[@]}" bash -c 'PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"; cargo fuzz --version 2>/dev/null' \
    | grep -q "$CARGO_FUZZ_VERSION"; then
  "${as_user[@]}" bash -c 'PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"; exec cargo install --quiet --locked cargo-fuzz --version '"$CARGO_FUZZ_VERSION"
fi
