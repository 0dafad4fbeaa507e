//! Inputs the fuzz targets (`fuzz/`, `scripts/check-fuzz.sh`) found, fed again through the same
//! entry points. Each must return (an `Ok` or an `Err`, whichever its bytes deserve) instead of
//! panicking or hanging. A hang is bounded by running the input on its own thread: the bound
//! only turns a regression into a failure instead of a stuck test binary.

use std::path::Path;
use std::time::Duration;

fn input(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-inputs").join(name)).unwrap()
}

fn returns<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(Duration::from_secs(120)).unwrap_or_else(|_| panic!("{what} did not return"))
}

/// `<template>`s nested in a sub-composition: `flatten_templates` searched each moved template
/// again from itself and looped forever.
#[test]
fn nested_templates_in_a_sub_composition_compile() {
    let bytes = input("compile_subcomposition-nested-template-hang");
    let result = returns("compile_subcomposition", move || framefan::fuzzing::compile_subcomposition(&bytes));
    assert!(result.is_ok(), "{result:?}");
}
