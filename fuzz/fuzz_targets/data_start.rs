//! Arbitrary text as a clip's `data-start` expression.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = framefan::fuzzing::data_start(&String::from_utf8_lossy(data));
});
