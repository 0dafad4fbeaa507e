//! Arbitrary bytes as a chunk file given to assemble's checks (and to assemble when they pass).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = framefan::fuzzing::chunk_probe(data);
});
