//! Exit codes (contracts §7): 0 success, 2 usage, 3 non-retryable failure, 75 retryable failure;
//! and 128 + the signal (130 for Ctrl-C, 143 for SIGTERM) when `render` or `render-chunk` was
//! stopped by one (see `signals`).

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// Bad command line (clap exits with it itself for parse errors).
pub const USAGE: u8 = 2;
/// Bad input or a plan mismatch: retrying the same thing cannot help.
pub const FAILED: u8 = 3;
/// A transient failure (I/O, browser crash, partial download): retrying may help.
pub const RETRYABLE: u8 = 75;

/// Report `err` on stderr (as one JSON line with `--json`) and pick its exit code.
pub fn report(err: &framefan::Error, json: bool) -> ExitCode {
    if json {
        eprintln!("{}", err.to_json());
    } else {
        eprintln!("framefan: error: {err}");
    }
    ExitCode::from(if err.is_retryable() { RETRYABLE } else { FAILED })
}
