//! SIGINT and SIGTERM for the long-running commands (`plan`, `render`, `render-chunk`,
//! `assemble`).
//!
//! The first signal asks the work to stop: workers and browsers are stopped, scratch is removed
//! and nothing is left at the output. A second one exits at once. The exit code is 128 + the
//! signal, the shell's convention: 130 after Ctrl-C, 143 after the SIGTERM that Kubernetes,
//! Cloud Run and AWS Batch send a task before they kill it (preemption, cancellation), so a
//! stopped worker cleans up inside the engine's grace period instead of leaving a scratch
//! directory beside its output.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use framefan::Control;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::exit;

/// What the signal thread tells the command.
pub struct Stop {
    control: Control,
    signal: Arc<AtomicI32>,
}

/// Start watching SIGINT and SIGTERM; `what` names the work in the message printed on the first
/// one.
pub fn install(what: &'static str) -> Stop {
    let stop = Stop { control: Control::new(), signal: Arc::new(AtomicI32::new(0)) };
    let (control, signal) = (stop.control.clone(), Arc::clone(&stop.signal));
    let watching = Signals::new([SIGINT, SIGTERM]).and_then(|mut signals| {
        std::thread::Builder::new().name("signals".into()).spawn(move || {
            for sig in signals.forever() {
                if control.is_cancelled() {
                    std::process::exit(128 + sig);
                }
                // The signal is recorded before the work is woken, so that its error is
                // reported with the signal's exit code.
                signal.store(sig, Ordering::SeqCst);
                control.cancel();
                let name = if sig == SIGINT { "interrupted" } else { "terminated" };
                eprintln!("framefan: {name}; stopping {what} (signal again to quit at once)");
            }
        })
    });
    if let Err(e) = watching {
        eprintln!("{}", serde_json::json!({"level": "warn", "message": format!("signal handler not installed: {e}")}));
    }
    stop
}

impl Stop {
    /// The token the work runs under, cancelled by the first signal, sending its events to
    /// `events` (none: dropped).
    pub fn control(&self, events: Option<framefan::EventSink>) -> Control {
        self.control.child_with_events(events)
    }

    /// Report `err` as [`exit::report`] does; the exit code is 128 + the signal when one
    /// stopped the work, else the error's own.
    pub fn report(&self, err: &framefan::Error, json: bool) -> ExitCode {
        let code = exit::report(err, json);
        match self.signal.load(Ordering::SeqCst) {
            sig if sig > 0 && err.kind() == framefan::Code::Cancelled => {
                u8::try_from(128 + sig).map_or(code, ExitCode::from)
            }
            _ => code,
        }
    }
}
