//! The browser's process tree: started as a process group of its own, ended by killing that whole
//! group and waiting for every member of it.
//!
//! Chromium forks zygotes, and through them its GPU, renderer and utility processes. Killing the
//! browser alone leaves them running for a moment, and once they exit they stay zombies under
//! whatever adopts orphans (PID 1 in a container, which may never reap them). So:
//!
//! - every browser is the leader of a new process group; its descendants stay in that group
//!   (Chromium moves none of them out), so one `kill(-pgid, SIGKILL)` reaches all of them;
//! - this process becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`) before the first launch,
//!   so that a browser's descendants are re-parented to it, not to PID 1, when their parent dies;
//! - [`BrowserProcess::end`] kills the group and waits for the browser and then for every other
//!   member of its group, so that none is left running or unreaped when it returns.
//!
//! Becoming a subreaper lasts for the life of this process: an orphan among any of its
//! descendants is re-parented to it from then on, and only the browsers' groups are reaped here.
//! A process killed outright (SIGKILL, OOM) runs none of this: `setpriv --pdeathsig KILL` makes
//! the browser die with the thread that started it, and its children follow as their pipes to
//! it close; a shell between setpriv and the browser refuses to start it when this process died
//! before the signal was set (the kill-soak found a browser left by a worker killed 29 ms in).

use std::path::Path;
use std::process::Stdio;
use std::sync::Once;
use std::time::Duration;

use rustix::process::{Pid, Signal, WaitOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

use crate::control::Control;
use crate::error::{Code, Error, Result};

/// How long [`BrowserProcess::end`] waits for the killed group to exit. SIGKILLed processes
/// exit in milliseconds; only one stuck in the kernel (uninterruptible I/O) takes longer, and
/// waiting for that one would only hang the caller.
pub const REAP_LIMIT: Duration = Duration::from_secs(5);

const SETPRIV: &str = "/usr/bin/setpriv";
const SH: &str = "/bin/sh";

/// What the browser prints on stderr once its DevTools endpoint listens.
const LISTENING: &str = "DevTools listening on ";

/// A running browser process, the leader of its own process group.
pub struct BrowserProcess {
    child: Child,
    /// The group's id: the browser's pid. It cannot be reused while the browser is unreaped.
    pgid: Option<Pid>,
}

impl BrowserProcess {
    /// Start `binary` with `args` (each with its leading `--`) in a new process group and wait
    /// (at most `timeout`) for its DevTools WebSocket URL. A browser that fails to start, or
    /// whose start `control` cancels, is ended (its group killed and reaped) before the error
    /// returns.
    pub async fn spawn(
        binary: &Path,
        args: &[String],
        timeout: Duration,
        control: &Control,
    ) -> Result<(BrowserProcess, String)> {
        become_subreaper();
        let mut command = launcher(binary);
        command.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        // A group of its own; kill_on_drop is the last resort for the browser itself when its
        // owner is dropped without `end` (the group gets SIGKILL in `Drop` below).
        command.process_group(0).kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| crashed("failed to start", e))?;
        let stderr = child.stderr.take();
        let pgid = child.id().and_then(|id| Pid::from_raw(id as i32));
        let process = BrowserProcess { child, pgid };
        let found = match stderr {
            Some(stderr) => control.race(async { Ok(tokio::time::timeout(timeout, devtools_url(stderr)).await) }).await,
            None => Ok(Ok(Err("its stderr was not captured".to_string()))),
        };
        let found = match found {
            Ok(found) => found,
            Err(cancelled) => {
                process.end().await;
                return Err(cancelled);
            }
        };
        match found {
            Ok(Ok(url)) => Ok((process, url)),
            Ok(Err(why)) => {
                process.end().await;
                Err(crashed("failed to start", why))
            }
            Err(_) => {
                process.end().await;
                Err(crashed("failed to start", format!("no DevTools endpoint within {timeout:?}")))
            }
        }
    }

    /// Kill the browser and every process of its group (SIGKILL), and wait until each has
    /// exited and been reaped (at most [`REAP_LIMIT`]).
    pub async fn end(mut self) {
        let Some(pgid) = self.pgid.take() else { return };
        let _sent = rustix::process::kill_process_group(pgid, Signal::KILL);
        let deadline = tokio::time::Instant::now() + REAP_LIMIT;
        // The browser first, through tokio, which owns its pid; by the time it is reaped, its
        // children have been re-parented to this process.
        let _exited = tokio::time::timeout_at(deadline, self.child.wait()).await;
        reap_group(pgid, deadline).await;
    }
}

impl Drop for BrowserProcess {
    fn drop(&mut self) {
        // Not ended (a panic, a dropped future): kill the group at least. Tokio reaps the browser
        // (kill_on_drop); the rest are reaped by no one until this process exits.
        if let Some(pgid) = self.pgid {
            let _sent = rustix::process::kill_process_group(pgid, Signal::KILL);
        }
    }
}

/// Adopt the browsers' orphans (see the module docs). Failing is harmless beyond losing that:
/// they go to PID 1 as before.
fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _set = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    });
}

/// Run by `/bin/sh` between setpriv and the browser (`$0` is this process's pid): the death
/// signal only covers a parent that dies after setpriv set it, so a parent already gone (killed
/// between the fork and `prctl`; the child was re-parented) means the browser must not start.
const PARENT_CHECK: &str = r#"[ "$PPID" = "$0" ] || exit 97; exec "$@""#;

/// The command that starts `binary`: through `setpriv --pdeathsig KILL`, so that a worker killed
/// outright takes its browser with it, then a shell that starts the browser only while this
/// process is still its parent (closing the window before the death signal is set), or the
/// binary itself where setpriv or `/bin/sh` is missing. The shell `exec`s the browser, so its
/// pid and process group are the browser's.
fn launcher(binary: &Path) -> Command {
    if !Path::new(SETPRIV).is_file() || !Path::new(SH).is_file() {
        return Command::new(binary);
    }
    let mut command = Command::new(SETPRIV);
    command.args(["--pdeathsig", "KILL", "--", SH, "-c", PARENT_CHECK]).arg(std::process::id().to_string());
    command.arg(binary);
    command
}

/// Read the browser's stderr up to the line announcing its DevTools endpoint; the URL, or why
/// there is none (the stream ended: the browser exited, with its last lines).
async fn devtools_url(stderr: ChildStderr) -> std::result::Result<String, String> {
    let mut lines = BufReader::new(stderr).lines();
    let mut tail: Vec<String> = Vec::new();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                if let Some(url) = line.split_once(LISTENING).map(|(_, u)| u.trim()) {
                    if url.starts_with("ws") {
                        return Ok(url.to_string());
                    }
                }
                tail.push(line);
                if tail.len() > 8 {
                    tail.remove(0);
                }
            }
            Ok(None) => return Err(format!("it exited: {}", tail.join(" | "))),
            Err(e) => return Err(format!("reading its stderr: {e}")),
        }
    }
}

/// Reap every process of group `pgid` that is (or becomes, as its parent dies) a child of this
/// process, until none is left or `deadline` passes. Woken by SIGCHLD; without a signal driver
/// (a runtime built without `enable_all`), it looks every few milliseconds instead.
async fn reap_group(pgid: Pid, deadline: tokio::time::Instant) {
    use tokio::signal::unix::{signal, SignalKind};
    // Made before the first look, so that a child exiting after it is not missed.
    let mut sigchld = signal(SignalKind::child()).ok();
    loop {
        match rustix::process::waitpgid(pgid, WaitOptions::NOHANG) {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            // ECHILD: no process of the group is a child of ours any more.
            Err(_) => return,
        }
        let woken = async {
            match sigchld.as_mut() {
                Some(s) => drop(tokio::time::timeout(Duration::from_millis(50), s.recv()).await),
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        if tokio::time::timeout_at(deadline, woken).await.is_err() {
            return;
        }
    }
}

fn crashed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(Code::BrowserCrashed, format!("browser {what}: {e}"))
}
