//! Watching a page for a script that never yields (an endless loop, a busy wait).
//!
//! A page whose main thread is stuck in a script answers no evaluation, so the renderer would
//! only see its bounded wait run out. A heartbeat (one trivial evaluation in flight at a time)
//! finds it instead — while `plan` probes a page, all along, within
//! [`super::policy::BUSY_LIMIT`]; in render-chunk, only once a frame's seek or beginFrame has
//! gone unanswered for [`super::capture::STALL_CHECK`], within
//! [`super::policy::RENDER_BUSY_LIMIT`] — and the debugger says where it is stuck:
//! `Debugger.pause` interrupts even a running script (it is one of the commands Chromium
//! delivers by interrupt), and the paused event names the script and line. `Debugger.enable` is
//! not delivered that way, so the watch starts before the page loads, in both. Breakpoints are
//! deactivated, so a `debugger;` statement never holds the page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::js_protocol::debugger::{
    EnableParams, EventPaused, EventScriptParsed, PauseParams, SetBreakpointsActiveParams,
};
use chromiumoxide::Page;
use futures_util::StreamExt;

use super::protocol::heartbeat;
use crate::error::{Code, Error, Result};

/// How long the debugger gets to say where a stuck script is.
const LOCATE_LIMIT: Duration = Duration::from_secs(2);

type Scripts = Arc<Mutex<HashMap<String, String>>>;

/// The heartbeat and the debugger's view of a page.
pub struct Watch {
    page: Page,
    busy: Duration,
    beat: Option<(Instant, tokio::task::JoinHandle<()>)>,
    scripts: Scripts,
    collector: tokio::task::JoinHandle<()>,
}

impl Watch {
    /// Start watching `page` (before it navigates, so every script of the page is seen).
    pub async fn start(page: Page, busy: Duration) -> Result<Watch> {
        let broken =
            |e: chromiumoxide::error::CdpError| Error::new(Code::BrowserCrashed, format!("enabling the debugger: {e}"));
        let mut parsed = page.event_listener::<EventScriptParsed>().await.map_err(broken)?;
        page.execute(EnableParams::default()).await.map_err(broken)?;
        page.execute(SetBreakpointsActiveParams::new(false)).await.map_err(broken)?;
        let scripts: Scripts = Arc::default();
        let seen = Arc::clone(&scripts);
        let collector = tokio::spawn(async move {
            while let Some(script) = parsed.next().await {
                // Evaluations (a seek per frame) have no URL, and an unknown script is named
                // `index.html` anyway: only scripts with a URL are kept.
                if script.url.is_empty() {
                    continue;
                }
                if let Ok(mut map) = seen.lock() {
                    map.insert(script.script_id.inner().clone(), script.url.clone());
                }
            }
        });
        Ok(Watch { page, busy, beat: None, scripts, collector })
    }

    /// Start a beat when none is in flight; `PAGE_SCRIPT_TIMEOUT` when the one in flight is overdue.
    pub async fn check(&mut self) -> Result<()> {
        match &self.beat {
            Some((_, task)) if task.is_finished() => self.beat = None,
            Some((sent, task)) if sent.elapsed() > self.busy => {
                task.abort();
                let at = self.stuck_at().await.map(|at| format!(" ({at})")).unwrap_or_default();
                return Err(Error::new(
                    Code::PageScriptTimeout,
                    format!(
                        "page index.html: a script{at} kept the page from answering for {:?}; it never yields \
                         (an endless loop?)",
                        self.busy
                    ),
                ));
            }
            Some(_) => {}
            None => {
                let page = self.page.clone();
                let task = tokio::spawn(async move {
                    let _answered = page.execute(heartbeat()).await;
                });
                self.beat = Some((Instant::now(), task));
            }
        }
        Ok(())
    }

    /// Forget the beat in flight (the page has answered the step it watched), so that the next
    /// step's overdue check starts from its own beat.
    pub fn rest(&mut self) {
        if let Some((_, task)) = self.beat.take() {
            task.abort();
        }
    }

    /// `script.js:LINE` of the stuck script, from a pause the debugger answers.
    async fn stuck_at(&self) -> Option<String> {
        let mut paused = self.page.event_listener::<EventPaused>().await.ok()?;
        let page = self.page.clone();
        let pause = tokio::spawn(async move {
            let _asked = page.execute(PauseParams::default()).await;
        });
        let event = tokio::time::timeout(LOCATE_LIMIT, paused.next()).await.ok().flatten();
        pause.abort();
        let frame = event?.call_frames.first()?.clone();
        let url = self.scripts.lock().ok()?.get(frame.location.script_id.inner()).cloned().unwrap_or_default();
        Some(format!("{}:{}", script_name(&url), frame.location.line_number + 1))
    }
}

/// A script's URL without the loopback origin (its port differs on every run); an inline script
/// is the page's own.
fn script_name(url: &str) -> String {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    if path.is_empty() {
        "index.html".to_string()
    } else {
        path.to_string()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.collector.abort();
        if let Some((_, task)) = &self.beat {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::script_name;

    #[test]
    fn scripts_are_named_without_their_origin() {
        assert_eq!(script_name("http://127.0.0.1:4444/js/spin.js"), "js/spin.js");
        assert_eq!(script_name("http://127.0.0.1:4444/index.html"), "index.html");
        assert_eq!(script_name(""), "index.html");
    }
}
