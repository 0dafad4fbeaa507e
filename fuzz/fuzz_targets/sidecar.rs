//! Arbitrary bytes as a chunk's `.perf.json` sidecar.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = framefan::fuzzing::sidecar(data);
});
