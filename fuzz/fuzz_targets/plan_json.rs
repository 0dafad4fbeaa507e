//! Arbitrary bytes as `plan.json` and `meta/chunks.json` (split at the first 0xFF byte; without
//! one, the bytes are plan.json and chunks.json is a valid one-chunk list).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_, valid_chunks) = framefan::fuzzing::plan_json_text(5);
    let (plan, chunks) = match data.iter().position(|&b| b == 0xFF) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, valid_chunks.as_bytes()),
    };
    let _ = framefan::fuzzing::plan_json(plan, chunks);
});
