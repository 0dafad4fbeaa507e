//! Arbitrary bytes as a sub-composition file inlined into a fixed host page.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = framefan::fuzzing::compile_subcomposition(data);
});
