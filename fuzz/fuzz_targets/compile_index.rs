//! Arbitrary bytes as a project's index.html, through the HTML compile step.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = framefan::fuzzing::compile_index(data);
});
