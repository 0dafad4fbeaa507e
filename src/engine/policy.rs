//! Why a page is loaded, and what follows from it: [`Policy::Probe`] (plan's one load of the
//! frozen page, where every failure is deterministic and final) or [`Policy::Capture`]
//! (render-chunk, on a page that already passed the probe). Every decision that differs between
//! the two is a method here, so the capturer does not branch on a flag.

use std::time::Duration;

use super::protocol::FailureKind;
use crate::error::Code;

/// How long a probed page may go without answering a trivial evaluation (its main thread busy
/// in a script) before it is taken for an endless loop. Loading a page's scripts takes
/// milliseconds; a script that runs this long without yielding would stall every frame too.
pub const BUSY_LIMIT: Duration = Duration::from_secs(5);

/// In render-chunk: how long a watched page may go without answering before the script that
/// holds it is taken for an endless loop (`PAGE_SCRIPT_TIMEOUT`, final). Twice the probe's
/// [`BUSY_LIMIT`]: render-chunk shares the machine with other browsers and the encoders, and a
/// slow but finite frame must not fail the render.
pub const RENDER_BUSY_LIMIT: Duration = Duration::from_secs(10);

/// Why a page is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The plan-time probe: a page that fails to become ready fails for good, one whose scripts
    /// keep the browser from answering for [`BUSY_LIMIT`] is stopped at once, and nothing is
    /// captured (a watched seek to frame 0 is the last check).
    Probe,
    /// render-chunk: the page is watched from the first frame step that stalls, anything but a
    /// script error may be transient (retryable), and frame 0 is drawn before the first capture.
    Capture,
}

impl Policy {
    /// How long a watched page may go without answering before a script is taken for an
    /// endless loop.
    pub fn busy_limit(self) -> Duration {
        match self {
            Policy::Probe => BUSY_LIMIT,
            Policy::Capture => RENDER_BUSY_LIMIT,
        }
    }

    /// The code for a page that did not become ready, by the kind `__framefan.ready` reports (a
    /// failed font face is no failure: it is reported apart, as `brokenFonts`). At plan time each
    /// kind is deterministic and final; in render-chunk the page passed that probe, so anything
    /// but a script error may be transient and stays retryable.
    pub fn failure_code(self, kind: FailureKind) -> Code {
        match (kind, self) {
            (FailureKind::Script, _) => Code::PageScriptError,
            (FailureKind::Image, Policy::Probe) => Code::ImageLoadFailed,
            (FailureKind::NotReady, Policy::Probe) => Code::PageNeverReady,
            (_, Policy::Capture) => Code::PageNotReady,
        }
    }

    /// The code for a page that did not load (or answer `ready`) within its bound.
    pub fn load_timeout_code(self) -> Code {
        match self {
            Policy::Probe => Code::PageNeverReady,
            Policy::Capture => Code::PageNotReady,
        }
    }

    /// Whether the page is watched all along while it loads. render-chunk loads a page that
    /// passed the probe: its bounded ready wait stands for the watch there.
    pub fn watches_load(self) -> bool {
        self == Policy::Probe
    }

    /// Whether a loading page's beginFrames run beside the wait (one in flight at a time), so
    /// that a page whose main thread is stuck cannot hold the heartbeat back.
    pub fn frames_beside_wait(self) -> bool {
        self == Policy::Probe
    }

    /// Whether failed font faces are a warning of this load. The probe judges them itself
    /// (a warning, or `FONT_LOAD_FAILED` with `--strict-fonts`); a render draws the fallback.
    pub fn warns_of_broken_fonts(self) -> bool {
        self == Policy::Capture
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probed_page_fails_for_good_and_a_rendered_one_may_be_retried() {
        for (kind, probed, rendered) in [
            (FailureKind::Script, Code::PageScriptError, Code::PageScriptError),
            (FailureKind::Image, Code::ImageLoadFailed, Code::PageNotReady),
            (FailureKind::NotReady, Code::PageNeverReady, Code::PageNotReady),
        ] {
            assert_eq!(Policy::Probe.failure_code(kind), probed);
            assert!(!probed.is_retryable(), "{kind:?} at plan time");
            assert_eq!(Policy::Capture.failure_code(kind), rendered);
        }
        assert!(!Policy::Probe.load_timeout_code().is_retryable());
        for code in [Code::PageScriptTimeout, Code::FontLoadFailed, Code::ImageLoadFailed, Code::PageNeverReady] {
            assert!(!code.is_retryable(), "{code}");
        }
        // What render-chunk reports for a browser or a page that stopped answering stays retryable.
        assert!(Policy::Capture.load_timeout_code().is_retryable() && Code::BrowserCrashed.is_retryable());
    }
}
