//! Arbitrary text through the CSS scanner (scoping and URL listing).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = framefan::fuzzing::css(&String::from_utf8_lossy(data));
});
