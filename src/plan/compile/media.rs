//! Collecting `<audio>` and `<video>` clips onto the root timeline (composition.md §7).
//!
//! Runs after [`super::timing::resolve`], so every `data-start` is a plain decimal. A clip's start
//! on the root timeline is its own start plus the start of every composition host above it
//! (below the root). An `<audio>` is heard when it has an id, is not `muted` and is not under
//! `data-hidden`; a `<video>` is heard when it says `data-has-audio="true"`. Videos need an id
//! that is safe as a directory name (`video-frames/<id>/`) and unique, since plan extracts their
//! frames under it; a `<video>` without one gets HyperFrames' positional id `hf-media-<n>` (n =
//! the media elements with a `src` before it).

use std::collections::HashSet;
use std::path::Path;

use kuchikiki::NodeRef;

use super::audio_fx;
use super::dom::{attr, describe, elements, has_attr, in_template, set_attr, tag};
use super::timing::decimal_attr;
use super::urls;
use crate::error::{Code, Error, Result};
use crate::plan::fx::rate::{clamp_rate, Speed};
use crate::plan::fx::{Automation, FxChain};
use crate::plan::model::{MediaClip, MediaKind};
use crate::time::Rational;

/// The composition's media, and the element counts for `meta/composition.json`.
#[derive(Debug, Clone, Default)]
pub struct Media {
    /// Every audio and video clip with an id, in document order.
    pub clips: Vec<MediaClip>,
    /// `<video>` elements.
    pub video_count: u32,
    /// `<audio>` elements.
    pub audio_count: u32,
    /// `<img>` elements.
    pub image_count: u32,
    /// The master bus chain (`data-fx-chain` on the root).
    pub master_fx: Option<FxChain>,
}

fn invalid(message: String) -> Error {
    Error::new(Code::CompositionInvalid, message)
}

/// Collect the media under `doc`; `root` is the root composition element.
pub fn collect(doc: &NodeRef, root: &NodeRef, project: &Path, warnings: &mut Vec<String>) -> Result<Media> {
    let mut media = Media::default();
    let groups = audio_fx::groups(doc);
    let mut video_ids = HashSet::new();
    // Media elements (`img`, `audio`, `video` with a `src`) met so far: HyperFrames names a media
    // element without an id `hf-media-<that count>`.
    let mut position = 0usize;
    for e in elements(doc).into_iter().filter(|e| !in_template(e)) {
        let counted = matches!(tag(&e).as_str(), "img" | "audio" | "video") && attr(&e, "src").is_some();
        position += usize::from(counted);
        if tag(&e) == "video" && attr(&e, "id").is_none_or(|i| i.is_empty()) {
            set_attr(&e, "id", &format!("hf-media-{}", position.saturating_sub(usize::from(counted))));
        }
        let kind = match tag(&e).as_str() {
            "img" => {
                media.image_count += 1;
                continue;
            }
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            _ => continue,
        };
        match kind {
            MediaKind::Audio => media.audio_count += 1,
            MediaKind::Video => media.video_count += 1,
        }
        let Some(src) = source_of(&e) else {
            warnings.push(format!("{} has no src and is ignored", describe(&e)));
            continue;
        };
        if matches!(urls::classify(&src, "media src"), Ok(urls::Target::External(_))) {
            // A remote source that could not be fetched (already warned about): it plays nothing.
            continue;
        }
        let id = attr(&e, "id").filter(|i| !i.is_empty());
        let Some(id) = id else {
            if kind == MediaKind::Video {
                return Err(invalid(format!(
                    "<video src={:?}> has no id; plan extracts video frames by id",
                    short(&src)
                )));
            }
            continue;
        };
        if kind == MediaKind::Video {
            check_video_id(&id)?;
            if !video_ids.insert(id.clone()) {
                return Err(invalid(format!("two <video> elements have id {:?}", short(&id))));
            }
        }
        let mut clip = clip(&e, root, project, kind, id, &src)?;
        if kind == MediaKind::Video && has_speed(&e, &clip) {
            warnings.push(format!(
                "{}: its playback rate (`rate` lane or data-playback-rate) is not applied to its pictures, \
                 which play at normal speed (its sound, when heard, follows it)",
                describe(&e)
            ));
        }
        if let Some((group, hidden)) = audio_fx::group_of(&e, &groups, clip.audible)? {
            clip.audible &= !hidden;
            clip.group = Some(group);
        }
        media.clips.push(clip);
    }
    // HyperFrames reads the master chain only when there is audio to mix.
    if media.clips.iter().any(|c| c.audible) {
        media.master_fx = audio_fx::master_chain(root)?;
    }
    Ok(media)
}

fn clip(e: &NodeRef, root: &NodeRef, project: &Path, kind: MediaKind, id: String, src: &str) -> Result<MediaClip> {
    let context = format!("{} src", describe(e));
    let rel = urls::local_file(src, &context)?;
    let media_start = media_start(e)?;
    let duration = decimal_attr(e, "data-duration")?;
    if media_start < Rational::ZERO || duration.is_some_and(|d| d < Rational::ZERO) {
        return Err(invalid(format!("{} has a negative data-media-start or data-duration", describe(e))));
    }
    let audible = match kind {
        MediaKind::Audio => !has_attr(e, "muted") && !e.inclusive_ancestors().any(|a| has_attr(&a, "data-hidden")),
        MediaKind::Video => attr(e, "data-has-audio").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
    };
    Ok(MediaClip {
        id,
        kind,
        src: urls::join(project, &rel),
        src_rel: rel,
        start: root_start(e, root)?,
        duration,
        media_start,
        volume: volume(e),
        looped: has_attr(e, "loop"),
        playback_rate: playback_rate(e),
        audible,
        // HyperFrames reads the effects of the clips it mixes only.
        fx: if audible { audio_fx::clip_fx(e)? } else { Default::default() },
        group: None,
    })
}

/// The element's own start plus each composition host's start above it, below the root.
fn root_start(e: &NodeRef, root: &NodeRef) -> Result<Rational> {
    let mut start = decimal_attr(e, "data-start")?.unwrap_or(Rational::ZERO);
    for a in e.ancestors() {
        if a == *root {
            break;
        }
        if has_attr(&a, "data-composition-id") {
            let host = decimal_attr(&a, "data-start")?.unwrap_or(Rational::ZERO);
            start = start.checked_add(host).ok_or_else(|| invalid(format!("{} starts too late", describe(e))))?;
        }
    }
    Ok(start)
}

/// `data-volume` as HyperFrames reads it (`parseFloat(… || "1")`; not a number → 1). The mix
/// clamps it to 0..+12 dB (`fx::mix_gain`), so 20 plays at +12 dB and a negative one is silent.
fn volume(e: &NodeRef) -> f32 {
    let volume = attr(e, "data-volume").and_then(|v| audio_fx::leading_float(&v)).unwrap_or(1.0);
    // Held as f32: a huge value stays finite (and mixes at the clamp).
    volume.clamp(f64::from(f32::MIN), f64::from(f32::MAX)) as f32
}

/// Whether the clip plays at another speed than 1 (its `rate` lane, else `data-playback-rate`);
/// the lane of a clip that is not heard is read here only for this.
fn has_speed(e: &NodeRef, clip: &MediaClip) -> bool {
    let unread = || attr(e, audio_fx::AUTOMATION_ATTR).and_then(|json| Automation::parse(&json).ok());
    let automation = clip.fx.automation.clone().or_else(unread);
    Speed::of(automation.as_ref(), clip.playback_rate).is_some()
}

/// `data-playback-rate` as HyperFrames reads it (`readPlaybackRate`: JavaScript's `parseFloat`,
/// a positive number clamped to 0.1..10, else 1).
fn playback_rate(e: &NodeRef) -> f64 {
    attr(e, "data-playback-rate").and_then(|v| audio_fx::leading_float(&v)).map_or(1.0, clamp_rate)
}

/// `src`, or the first `<source src>` child.
fn source_of(e: &NodeRef) -> Option<String> {
    attr(e, "src").filter(|s| !s.trim().is_empty()).or_else(|| {
        e.children().filter(|c| tag(c) == "source").find_map(|c| attr(&c, "src").filter(|s| !s.trim().is_empty()))
    })
}

fn check_video_id(id: &str) -> Result<()> {
    let ok =
        id.len() <= 128 && !id.starts_with('.') && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "<video id={:?}>: a video id must be 1-128 ASCII letters, digits, '-', '_' or '.', not starting with '.'",
            short(id)
        )))
    }
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Where the source starts playing, as HyperFrames' `readMediaStart` reads it:
/// `data-playback-start` when it is a number of seconds not below 0, else `data-media-start`
/// (framefan refuses a malformed or negative one, which HyperFrames reads as 0), else 0.
fn media_start(e: &NodeRef) -> Result<Rational> {
    let playback_start = attr(e, "data-playback-start").and_then(|t| Rational::parse_decimal(&t));
    match playback_start.filter(|s| *s >= Rational::ZERO) {
        Some(start) => Ok(start),
        None => Ok(decimal_attr(e, "data-media-start")?.unwrap_or(Rational::ZERO)),
    }
}

#[cfg(test)]
mod tests {
    use kuchikiki::traits::TendrilSink;

    use super::*;

    #[test]
    fn playback_rates_are_read_as_hyperframes_reads_them_and_only_pictures_warn() {
        let doc = kuchikiki::parse_html().one(
            "<div id=\"root\" data-composition-id=\"main\">\
             <audio id=\"a\" src=\"a.wav\" data-playback-rate=\" 2.5x\"></audio>\
             <audio id=\"b\" src=\"b.wav\" data-playback-rate=\"-1\"></audio>\
             <video id=\"v\" src=\"v.mp4\" data-playback-rate=\"40\"></video>\
             <video id=\"w\" src=\"w.mp4\"></video></div>",
        )
        .document_node;
        let root = doc.select_first("#root").unwrap().as_node().clone();
        let mut warnings = Vec::new();
        let media = collect(&doc, &root, Path::new("/project"), &mut warnings).unwrap();
        let rates: Vec<f64> = media.clips.iter().map(|c| c.playback_rate).collect();
        assert_eq!(rates, [2.5, 1.0, 10.0, 1.0]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("id=\"v\""), "{warnings:?}");
    }

    #[test]
    fn data_playback_start_comes_before_data_media_start() {
        let doc = kuchikiki::parse_html().one(
            "<div id=\"root\" data-composition-id=\"main\">\
             <audio id=\"a\" src=\"a.wav\" data-playback-start=\"2.5\" data-media-start=\"1\"></audio>\
             <audio id=\"b\" src=\"b.wav\" data-playback-start=\"-1\" data-media-start=\"1\"></audio>\
             <audio id=\"c\" src=\"c.wav\" data-playback-start=\"soon\"></audio>\
             <video id=\"v\" src=\"v.mp4\" data-playback-start=\"0.75\"></video></div>",
        )
        .document_node;
        let root = doc.select_first("#root").unwrap().as_node().clone();
        let media = collect(&doc, &root, Path::new("/project"), &mut Vec::new()).unwrap();
        let starts: Vec<Rational> = media.clips.iter().map(|c| c.media_start).collect();
        let half = |n| Rational::new(n, 4).unwrap();
        assert_eq!(starts, [half(10), Rational::int(1), Rational::ZERO, half(3)]);
    }

    #[test]
    fn data_volume_is_read_as_hyperframes_reads_it() {
        let doc = kuchikiki::parse_html().one(
            "<div id=\"root\" data-composition-id=\"main\">\
             <audio id=\"a\" src=\"a.wav\" data-volume=\"20\"></audio>\
             <audio id=\"b\" src=\"b.wav\" data-volume=\"-1\"></audio>\
             <audio id=\"c\" src=\"c.wav\" data-volume=\"loud\"></audio>\
             <audio id=\"d\" src=\"d.wav\" data-volume=\" 0.5x\"></audio>\
             <audio id=\"e\" src=\"e.wav\" data-volume=\"1e300\"></audio>\
             <audio id=\"f\" src=\"f.wav\"></audio></div>",
        )
        .document_node;
        let root = doc.select_first("#root").unwrap().as_node().clone();
        let media = collect(&doc, &root, Path::new("/project"), &mut Vec::new()).unwrap();
        let volumes: Vec<f32> = media.clips.iter().map(|c| c.volume).collect();
        assert_eq!(volumes, [20.0, -1.0, 1.0, 0.5, f32::MAX, 1.0]);
    }
}
