//! Types handed from compiling a composition to the plan's media steps.
//!
//! Compiling resolves every `<audio>` and `<video>` clip of the composition onto the root timeline;
//! the audio mix and the video frame extraction consume these clips. All times are exact
//! rationals in seconds.

use std::path::PathBuf;

use crate::time::Rational;

/// What kind of element a media clip came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// An `<audio>` element.
    Audio,
    /// A `<video>` element.
    Video,
}

/// One `<audio>` or `<video>` clip, resolved onto the root composition's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaClip {
    /// The element's `id` (required for media that is rendered or heard).
    pub id: String,
    /// Which element it is.
    pub kind: MediaKind,
    /// The source file, inside the project directory (already checked to stay inside it).
    pub src: PathBuf,
    /// `src` as written in the page, relative to the project root (for `meta/videos.json`).
    pub src_rel: String,
    /// When the clip starts on the root timeline, in seconds, with every ancestor composition's
    /// start added.
    pub start: Rational,
    /// How long the clip is shown or heard, in seconds; `None` = until the source ends (or, for a
    /// looped clip, until the composition ends).
    pub duration: Option<Rational>,
    /// Offset into the source where playback starts (`data-media-start`), in seconds.
    pub media_start: Rational,
    /// Linear gain, 1.0 = 0 dB (`data-volume`). A gain, not a time: float is fine here.
    pub volume: f32,
    /// Whether the source loops (`loop`).
    pub looped: bool,
    /// Whether the clip is heard: an `<audio>` with an id that is not muted nor under
    /// `data-hidden`, or a `<video data-has-audio="true">`.
    pub audible: bool,
}
