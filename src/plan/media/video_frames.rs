//! Pre-extracting the frames a `<video>` clip shows, as `video-frames/<id>/frame_%05d.<jpg|png>`.
//!
//! Frames: the clip is on screen for composition frames `ceil(start·fps)` up to
//! `ceil((start + duration)·fps)` (exclusive, clamped to the composition's frames), the frame
//! snapping of timed clips. Without a duration its slot ends where the source ends: frame `f` is
//! extracted while its source time is before the end of the source's last picture (at least one
//! frame is always written, so a clip whose media start lies past the source's end holds its last
//! picture). File `k` (1-based) shows composition frame `first_frame + k − 1`.
//!
//! Mapping: composition frame `f` shows the source picture displayed at source time
//! `t = media_start + f/fps − start` (exact rationals against the integer timestamps of the stream,
//! measured from its first timestamp), as HyperFrames' extraction filters pick it
//! (`settb=intb/2,setpts=PTS-lte(TB\,0.001),fps=<fps>:start_time=0:round=up`): the last picture
//! whose timestamp is ≤ `t`, or ≤ `t` + half a tick when the stream's tick is at most 2 ms. On a
//! millisecond time base a 30 fps source is stamped 0, 33, 67, 100 ms…, so picture 2 (67 ms)
//! falls just after frame 2's 66.7 ms; the half tick makes every picture land on its own frame,
//! where the bare rule showed picture 1 twice and skipped picture 2, every third frame. On finer
//! time bases (an MP4's 1/15360, 1/90000) a picture's stamp is on the grid and nothing moves.
//! Before the first picture the first one is shown; past the source's end the last one is held
//! until the slot ends. Decoding starts with a seek to the last keyframe at or before
//! `media_start`; if the container cannot seek there exactly, the source is decoded from its start
//! instead.
//!
//! Images, by source as HyperFrames' `resolveFrameFormat` chooses: a source that may carry alpha
//! (VP8, VP9, ProRes, an alpha pixel format or `alpha_mode` tag; VP8/VP9 decoded by libvpx, which
//! keeps a WebM's alpha) gives PNG with its alpha (see [`crate::av::png`]); any other gives
//! baseline JPEG at quantiser 2, full-range BT.601 4:2:0 (see [`crate::av::jpeg`]). Both at the
//! source's decoded size. A picture held for several frames is encoded once and its bytes written
//! again. Files are built in a staging directory and renamed into place when complete.
//!
//! Not handled: `loop` on a video (the last picture is held instead) and non-square sample aspect
//! ratios (pictures keep their stored size).

use std::path::Path;

use super::clip::{check_id, slot_end};
use crate::av::jpeg::JpegEncoder;
use crate::av::png::PicturePngEncoder;
use crate::av::video_decode::{HdrTransfer, Picture, VideoDecoder};
use crate::control::Control;
use crate::error::{AvError, Code, Error, Result};
use crate::plan::layout::{video_dir_rel, PlanLayout, VideoFrameFormat};
use crate::plan::model::{ExtractedVideo, MediaClip};
use crate::publish::StagedDir;
use crate::time::{Fps, Rational};

/// Decode the frames `clip` shows at `fps` into `plan_dir/video-frames/<id>/frame_%05d.<ext>`
/// (1-based; PNG or JPEG by source, see the module docs), covering composition frames from `ceil(start·fps)` to the end of the clip's slot
/// (start + duration, or the source's end), clamped to `total_frames`.
/// Cancelling `control` stops it between two frames with `CANCELLED`, the clip's directory removed.
pub fn extract_video(
    clip: &MediaClip,
    fps: Fps,
    total_frames: i64,
    plan_dir: &Path,
    control: &Control,
) -> Result<Extraction> {
    check_id(clip)?;
    let window = Window::new(clip, fps, total_frames)?;
    let mut source = Source::open(clip, window.media_start)?;
    let hdr = source.decoder.hdr_transfer();
    let layout = PlanLayout::new(plan_dir);
    let parent = layout.video_frames_dir();
    std::fs::create_dir_all(&parent).map_err(|e| Error::io("creating", &parent, e))?;
    let staged = StagedDir::new(&layout.video_dir(&clip.id))?;
    let written = write_frames(&window, &mut source, staged.path(), control)?;
    staged.commit()?;
    let video = ExtractedVideo {
        video_id: clip.id.clone(),
        dir: video_dir_rel(&clip.id),
        first_frame: window.first,
        frame_count: written.count,
        width: written.width,
        height: written.height,
        frame_format: written.format,
    };
    Ok(Extraction { video, hdr })
}

/// A clip's frames in the plan, and the HDR transfer its source is tagged with, if any.
#[derive(Debug)]
pub struct Extraction {
    /// What `meta/videos.json` lists for the clip.
    pub video: ExtractedVideo,
    /// PQ or HLG when the source is tagged HDR (its frames are taken as SDR all the same).
    pub hdr: Option<HdrTransfer>,
}

impl Extraction {
    /// The warning for an HDR source: framefan draws it as SDR, where HyperFrames renders such
    /// a composition as 10-bit HDR H.265 on one machine; `None` for an SDR source.
    pub fn hdr_warning(&self, clip: &MediaClip) -> Option<String> {
        let hdr = self.hdr?;
        Some(format!(
            "video clip \"{}\" ({}) is HDR ({}): framefan draws its signal as SDR, without tone mapping; \
             `hyperframes render` makes such a composition 10-bit HDR H.265 (framefan does not render HDR yet)",
            clip.id,
            clip.src_rel,
            hdr.name()
        ))
    }
}

/// Which composition frames the clip covers and how they map to source time.
struct Window {
    first: i64,
    limit: i64,
    /// Whether the slot has a fixed end (then the last picture is held up to it).
    fixed_end: bool,
    start: Rational,
    media_start: Rational,
    fps: Fps,
    id: String,
}

impl Window {
    fn new(clip: &MediaClip, fps: Fps, total_frames: i64) -> Result<Window> {
        let limit = match clip.duration {
            Some(d) => fps.frames_for(slot_end(clip, d)?).min(total_frames),
            None => total_frames,
        };
        Ok(Window {
            first: fps.frames_for(clip.start).max(0),
            limit,
            fixed_end: clip.duration.is_some(),
            start: clip.start,
            media_start: clip.media_start.max(Rational::ZERO),
            fps,
            id: clip.id.clone(),
        })
    }

    /// The source time shown at composition frame `f`: `media_start + f/fps − start`.
    fn source_time(&self, f: i64) -> Result<Rational> {
        Rational::int(f)
            .checked_mul(self.fps.frame_duration())
            .and_then(|t| t.checked_sub(self.start))
            .and_then(|t| t.checked_add(self.media_start))
            .ok_or_else(|| Error::new(Code::CompositionInvalid, format!("video clip \"{}\": time overflows", self.id)))
    }
}

/// Whether `ticks` of `tb` is at or before `t`, exactly.
fn not_after(ticks: i64, tb: Rational, t: Rational) -> bool {
    ticks as i128 * tb.num as i128 * t.den as i128 <= t.num as i128 * tb.den as i128
}

/// Whether the picture stamped `ticks` of `tb` is shown by the time `t`, as HyperFrames'
/// `settb=intb/2,setpts=PTS-lte(TB\,0.001),fps=…:round=up` decides: the stamp, doubled on a
/// half-tick base and less one half tick when that half tick is at most 1 ms, is rounded up to a
/// frame of the output rate; the frame at `t` shows it when that frame is at or after it, that is
/// when `ticks·tb − tb/2 ≤ t` (else `ticks·tb ≤ t`).
fn shown_by(ticks: i64, tb: Rational, t: Rational) -> bool {
    // lte(TB, 0.001) with TB = tb/2: tb.num/(2·tb.den) ≤ 1/1000.
    let half_tick = 1000 * tb.num as i128 <= 2 * tb.den as i128;
    if !half_tick {
        return not_after(ticks, tb, t);
    }
    // (2·ticks − 1)·tb/2 ≤ t, exactly.
    (2 * ticks as i128 - 1) * tb.num as i128 * t.den as i128 <= 2 * t.num as i128 * tb.den as i128
}

/// The clip's decoder and the pictures on either side of the current time.
struct Source {
    decoder: VideoDecoder,
    tb: Rational,
    /// The picture on screen and its sequence number (to encode each picture once).
    current: Option<(u64, Picture)>,
    /// The next picture in presentation order; `None` once the stream has ended.
    next: Option<Picture>,
    seq: u64,
    label: String,
}

impl Source {
    /// Open the clip's source positioned at or before `media_start`.
    fn open(clip: &MediaClip, media_start: Rational) -> Result<Source> {
        let label = format!("video clip \"{}\" ({})", clip.id, clip.src_rel);
        if media_start > Rational::ZERO {
            if let Some(source) = Source::start(clip, &label, Some(media_start))? {
                return Ok(source);
            }
        }
        Source::start(clip, &label, None)?.ok_or_else(|| {
            Error::new(Code::VideoSourceUnrenderable, format!("{label}: the source has no decodable picture"))
        })
    }

    /// Open, seek (if asked) and decode the first picture. `None` when there is no picture, or
    /// when the seek overshot `seek_to` (the caller then decodes from the start).
    fn start(clip: &MediaClip, label: &str, seek_to: Option<Rational>) -> Result<Option<Source>> {
        let fail = |e: AvError| Error::av(Code::VideoSourceUnrenderable, e).prefixed(label);
        let mut decoder = VideoDecoder::open(&clip.src).map_err(fail)?;
        if let Some(t) = seek_to {
            if decoder.seek(t).is_err() {
                return Ok(None);
            }
        }
        let Some(first) = decoder.next_picture().map_err(fail)? else {
            return Ok(None);
        };
        let tb = decoder.time_base();
        if seek_to.is_some_and(|t| !not_after(first.pts(), tb, t)) {
            return Ok(None);
        }
        Ok(Some(Source { decoder, tb, current: None, next: Some(first), seq: 0, label: label.to_string() }))
    }

    /// Make `current` the last picture shown by `t` (see [`shown_by`]; the first picture if none is).
    fn advance(&mut self, t: Rational) -> Result<()> {
        while self.next.as_ref().is_some_and(|p| shown_by(p.pts(), self.tb, t)) || self.current.is_none() {
            let Some(picture) = self.next.take() else { break };
            self.seq += 1;
            self.current = Some((self.seq, picture));
            self.next = self.decoder.next_picture().map_err(|e| self.unrenderable(e))?;
        }
        Ok(())
    }

    fn unrenderable(&self, e: AvError) -> Error {
        Error::av(Code::VideoSourceUnrenderable, e).prefixed(&self.label)
    }

    /// Whether `t` lies at or past the end of the source's last picture.
    fn ended_before(&self, t: Rational) -> bool {
        match (&self.current, &self.next) {
            (Some((_, last)), None) => not_after(last.pts().saturating_add(last.duration()), self.tb, t),
            _ => false,
        }
    }
}

/// What was written.
struct Written {
    count: u32,
    width: u32,
    height: u32,
    format: VideoFrameFormat,
}

/// The encoder of a clip's frames, opened on its first picture.
enum FrameEncoder {
    Jpg(JpegEncoder),
    Png(PicturePngEncoder),
}

impl FrameEncoder {
    fn open(format: VideoFrameFormat, (w, h): (u32, u32), first: &Picture) -> std::result::Result<Self, AvError> {
        Ok(match format {
            VideoFrameFormat::Jpg => FrameEncoder::Jpg(JpegEncoder::open(w, h)?),
            VideoFrameFormat::Png => FrameEncoder::Png(PicturePngEncoder::open(w, h, first.has_alpha())?),
        })
    }

    fn encode(&mut self, picture: &Picture) -> std::result::Result<Vec<u8>, AvError> {
        match self {
            FrameEncoder::Jpg(e) => e.encode(picture),
            FrameEncoder::Png(e) => e.encode(picture),
        }
    }
}

/// Write one image per composition frame of `window` into `dir`.
fn write_frames(window: &Window, source: &mut Source, dir: &Path, control: &Control) -> Result<Written> {
    let (w, h) = source.next.as_ref().map_or(source.decoder.size(), |p| (p.width(), p.height()));
    let format = if source.decoder.may_have_alpha() { VideoFrameFormat::Png } else { VideoFrameFormat::Jpg };
    let mut written = Written { count: 0, width: w, height: h, format };
    let mut encoder: Option<FrameEncoder> = None;
    let mut cached: Option<(u64, Vec<u8>)> = None;
    let label = format!("encoding {}", source.label);
    let failed = |e: AvError| Error::av(Code::MediaFailed, e).prefixed(&label);
    for f in window.first..window.limit {
        control.check()?;
        let t = window.source_time(f)?;
        source.advance(t)?;
        if !window.fixed_end && written.count > 0 && source.ended_before(t) {
            break;
        }
        let Some((seq, picture)) = source.current.as_ref() else { break };
        if cached.as_ref().is_none_or(|(s, _)| s != seq) {
            let image = match encoder.as_mut() {
                Some(e) => e,
                None => encoder.insert(FrameEncoder::open(format, (w, h), picture).map_err(failed)?),
            };
            cached = Some((*seq, image.encode(picture).map_err(failed)?));
        }
        let path = dir.join(format.file_name().of(u64::from(written.count) + 1));
        let bytes = cached.as_ref().map_or(&[][..], |(_, b)| b.as_slice());
        std::fs::write(&path, bytes).map_err(|e| Error::io("writing", &path, e))?;
        written.count += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frame (at 30 fps) that first shows the picture stamped `ticks` of `tb`.
    fn first_frame_showing(ticks: i64, tb: Rational) -> i64 {
        (0..).find(|&f| shown_by(ticks, tb, Rational::new(f, 30).expect("t"))).expect("some frame")
    }

    #[test]
    fn a_millisecond_stamp_counts_half_a_tick_early() {
        // A 30 fps WebM's pictures at 0, 33, 67, 100, 133, 167 ms: each on its own frame (the bare
        // "at or before" rule gave 0, 1, 3, 3, 4, 6).
        let ms = Rational::new(1, 1000).expect("tb");
        let firsts: Vec<i64> = [0, 33, 67, 100, 133, 167].iter().map(|&p| first_frame_showing(p, ms)).collect();
        assert_eq!(firsts, [0, 1, 2, 3, 4, 5]);
        assert!(!not_after(67, ms, Rational::new(2, 30).expect("t")), "the bare rule misses picture 2 at frame 2");
        // Exactly half a tick early, not a hair more.
        assert!(shown_by(67, ms, Rational::new(133, 2000).expect("t")));
        assert!(!shown_by(67, ms, Rational::new(1329, 20000).expect("t")));
    }

    #[test]
    fn stamps_on_fine_time_bases_are_taken_as_they_are() {
        // An MP4's 1/15360 and 1/90000: a picture on the frame grid is shown from its frame,
        // one tick late from the next.
        for den in [15360, 90000] {
            let tb = Rational::new(1, den).expect("tb");
            let per_frame = den / 30;
            assert_eq!(first_frame_showing(2 * per_frame, tb), 2);
            assert_eq!(first_frame_showing(2 * per_frame + 1, tb), 3);
        }
        // A coarse tick (1/25 s, over 2 ms): no half tick either.
        let coarse = Rational::new(1, 25).expect("tb");
        assert!(!shown_by(1, coarse, Rational::new(1, 30).expect("t")));
    }
}
