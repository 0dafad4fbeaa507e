//! Drawing a render's events: an indicatif bar on a terminal, NDJSON lines, or nothing.
//!
//! NDJSON goes to **stdout**, one object per line: `render.progress` {stage, framesRendered,
//! totalFrames, progress}, then exactly one of `render.completed` {result} or `render.failed`
//! {code, retryable, message}. Notices (a retried or duplicated chunk) go to stderr as
//! `{"level":"info","message":…}` lines in every mode, or above the bar on a terminal.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use framefan::{Direction, Event, EventSink, ProgressEvent, RenderResult, TransferProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar on stderr with frames done / total, frames per second and ETA.
    Tty,
    /// One JSON event per line on stdout.
    Ndjson,
    /// Nothing but the result.
    None,
}

impl ProgressMode {
    /// The default: a bar when stderr is a terminal, else nothing.
    pub fn detect() -> ProgressMode {
        if std::io::stderr().is_terminal() {
            ProgressMode::Tty
        } else {
            ProgressMode::None
        }
    }
}

/// Draws events in one mode.
pub struct Display {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
}

fn notice(bar: Option<&ProgressBar>, message: &str) {
    match bar {
        Some(bar) => bar.println(format!("framefan: {message}")),
        None => eprintln!("{}", serde_json::json!({"level": "info", "message": message})),
    }
}

fn progress_line(p: &ProgressEvent) -> String {
    serde_json::json!({"event": "render.progress", "stage": p.stage.as_str(), "framesRendered": p.frames_rendered,
                       "totalFrames": p.total_frames, "progress": p.progress})
    .to_string()
}

impl Display {
    pub fn new(mode: ProgressMode) -> Display {
        let bar = (mode == ProgressMode::Tty).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} {msg:8} [{bar:40.cyan/blue}] {pos}/{len} frames  {fps}  ETA {eta}  ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("fps", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} fps", state.per_sec());
            })
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message("plan");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Display { mode, bar }
    }

    /// The sink handed to `framefan::render`.
    pub fn sink(&self) -> EventSink {
        let (mode, bar) = (self.mode, self.bar.clone());
        Arc::new(move |event: &Event| match event {
            Event::Notice(message) => notice(bar.as_ref(), message),
            Event::Progress(p) => match (mode, &bar) {
                (ProgressMode::Ndjson, _) => println!("{}", progress_line(p)),
                (ProgressMode::Tty, Some(bar)) => {
                    bar.set_length(p.total_frames.max(0) as u64);
                    bar.set_position(p.frames_rendered.max(0) as u64);
                    bar.set_message(p.stage.as_str());
                }
                _ => {}
            },
            Event::Transfer(t) => transfer(mode, bar.as_ref(), t),
            _ => {}
        })
    }

    /// The render succeeded.
    pub fn completed(&self, result: &RenderResult) {
        if let Some(bar) = &self.bar {
            // The summary line that follows says what the bar said, and more.
            bar.finish_and_clear();
        }
        if self.mode == ProgressMode::Ndjson {
            println!("{}", serde_json::json!({"event": "render.completed", "result": result}));
        }
    }

    /// The render failed.
    pub fn failed(&self, err: &framefan::Error) {
        if let Some(bar) = &self.bar {
            bar.abandon_with_message("failed");
        }
        if self.mode == ProgressMode::Ndjson {
            println!(
                "{}",
                serde_json::json!({"event": "render.failed", "code": err.code(), "retryable": err.is_retryable(),
                                   "message": err.message()})
            );
        }
    }
}

/// A transfer's progress: a `transfer.progress` line in NDJSON mode, the bar's message on a
/// terminal.
fn transfer(mode: ProgressMode, bar: Option<&ProgressBar>, t: &TransferProgress) {
    match (mode, bar) {
        (ProgressMode::Ndjson, _) => println!("{}", transfer_line(t)),
        (ProgressMode::Tty, Some(bar)) => bar.set_message(format!(
            "{} {:.1}/{:.1} MB",
            if t.direction == Direction::Upload { "upload" } else { "download" },
            t.bytes as f64 / 1e6,
            t.total_bytes as f64 / 1e6
        )),
        _ => {}
    }
}

fn transfer_line(t: &TransferProgress) -> String {
    serde_json::json!({"event": "transfer.progress", "direction": t.direction, "url": t.url, "bytes": t.bytes,
                       "totalBytes": t.total_bytes, "done": t.done})
    .to_string()
}

/// Events as NDJSON on stderr (`render-chunk --progress`, `assemble --progress`): transfers as
/// `transfer.progress` lines, frames done as the line `frames(done, total)` makes (none when it
/// makes `null`).
pub fn ndjson_stderr(frames: impl Fn(i64, i64) -> serde_json::Value + Send + Sync + 'static) -> EventSink {
    Arc::new(move |event: &Event| match event {
        Event::Transfer(t) => eprintln!("{}", transfer_line(t)),
        Event::Frames { done, total, .. } => match frames(*done, *total) {
            serde_json::Value::Null => {}
            line => eprintln!("{line}"),
        },
        _ => {}
    })
}
