//! `verify`: read an output back and say whether it is what framefan promises.
//!
//! Contract: [`verify()`] opens an MP4/MOV/WebM file with libav in-process, counts its video
//! frames and reports both frame rates, the exact video duration, the audio duration, and
//! whether the index (`moov`; WebM's Cues) precedes the media data (`mdat`; the first Cluster);
//! for WebM also whether the video carries alpha (`ALPHA_MODE=1` and every block's
//! BlockAdditional); given a plan, it also compares frame count, frame rate, size and codec with
//! it, and requires alpha when the plan's format has it. The report is `consistent` when: there
//! is one video stream; r_frame_rate equals avg_frame_rate; the video duration is exactly
//! frames ÷ fps (WebM counts milliseconds: there, the last frame ends on the millisecond
//! framefan stamps it at, `Fps::frame_to_ts`); the index comes first; the audio (if any) lasts
//! as long as the video within one AAC frame (WebM's Opus is decoded and its samples counted,
//! since only decoding applies the pre-skip and the end's discard padding); and the plan (if
//! given) matches. Every failed check is a sentence in `problems`. Errors are only for files
//! that cannot be read at all.
//!
//! A GIF is read by walking its blocks ([`gif`]): it has no frame rate and no index, so it is
//! consistent when it is complete, loops, and (given a plan) holds the plan's frames and size
//! with every delay exactly as the plan's frame times round to centiseconds.

pub mod gif;

mod color;
mod ebml;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::av::audio::{AudioReader, SAMPLE_RATE};
use crate::av::probe::{probe, ColorTags, StreamInfo};
use crate::error::{Code, Error, Result};
use crate::plan::layout::PlanLayout;
use crate::plan::model::EncoderConfig;
use crate::plan::Plan;
use crate::time::{Fps, Rational};

/// Largest audio/video duration difference that is still consistent: one AAC frame at 48 kHz.
pub const AUDIO_TOLERANCE_SECONDS: f64 = 1024.0 / 48_000.0;

/// How the output compares with a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanComparison {
    /// The plan's hash.
    pub plan_hash: String,
    /// The plan's frame count.
    pub total_frames: i64,
    /// The plan's frame rate, `num/den`.
    pub fps: String,
    /// The plan's width.
    pub width: u32,
    /// The plan's height.
    pub height: u32,
    /// Whether frames, rate and size all agree.
    pub matches: bool,
}

/// What [`verify()`](crate::verify()) found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// The file read.
    pub path: PathBuf,
    /// The container format libav detected.
    pub container: String,
    /// The video codec.
    pub codec: String,
    /// Video frames (packets) counted.
    pub frames: i64,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// `r_frame_rate`, `num/den`.
    pub r_frame_rate: String,
    /// `avg_frame_rate`, `num/den`.
    pub avg_frame_rate: String,
    /// The video stream's duration in seconds.
    pub duration_seconds: f64,
    /// Whether that duration is exactly frames ÷ fps.
    pub duration_exact: bool,
    /// The audio stream's duration in seconds, if there is one.
    pub audio_duration_seconds: Option<f64>,
    /// Audio minus video duration in milliseconds, if there is audio.
    pub audio_offset_ms: Option<f64>,
    /// Whether the index (`moov`, or WebM's Cues) precedes the media data (`mdat`, or the first
    /// Cluster).
    pub index_first: bool,
    /// The video's colour tags (matrix, range, primaries, transfer) as the file states them.
    pub color: ColorTags,
    /// WebM only: whether the video carries alpha (`ALPHA_MODE=1` and a BlockAdditional on
    /// every block); `None` for other containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<bool>,
    /// The comparison with `--plan`, if one was given.
    pub plan: Option<PlanComparison>,
    /// Every check that failed, in words.
    pub problems: Vec<String>,
    /// Whether every check passed.
    pub consistent: bool,
}

fn ratio(r: Rational) -> String {
    format!("{}/{}", r.num, r.den)
}

fn seconds(ticks: i64, time_base: Rational) -> f64 {
    ticks as f64 * time_base.num as f64 / time_base.den.max(1) as f64
}

/// Whether `ticks` of `time_base` are exactly `frames` frames at `fps`.
fn exactly_frames(ticks: i64, time_base: Rational, frames: i64, fps: Rational) -> bool {
    fps.num > 0
        && i128::from(ticks) * i128::from(time_base.num) * i128::from(fps.num)
            == i128::from(frames) * i128::from(fps.den) * i128::from(time_base.den)
}

/// Read `file` back and check it, against the plan at `plan_dir` when given.
pub fn verify(file: &Path, plan_dir: Option<&Path>) -> Result<VerifyReport> {
    let meta = std::fs::metadata(file).map_err(|e| Error::io("reading", file, e))?;
    if meta.is_dir() {
        return Err(Error::new(
            Code::InvalidConfig,
            format!("{} is a directory; verify reads mp4, mov and webm files", file.display()),
        ));
    }
    let plan = plan_dir.map(Plan::load).transpose()?;
    if gif::is_gif(&head(file)?) {
        return verify_gif(file, plan.as_ref());
    }
    let info = probe(file).map_err(|e| Error::av(Code::CorruptChunk, e).prefixed("reading the output"))?;
    let mut problems = Vec::new();
    let video = info.video.clone().unwrap_or_else(|| {
        problems.push("the file has no video stream".to_string());
        empty_stream()
    });
    let fps = video.r_frame_rate;
    if fps != video.avg_frame_rate {
        problems.push(format!(
            "r_frame_rate {} differs from avg_frame_rate {}",
            ratio(fps),
            ratio(video.avg_frame_rate)
        ));
    }
    let webm = is_matroska(&info.format);
    let (duration, duration_exact) = video_duration(&video, webm, &mut problems);
    let index_first = match webm {
        true => webm_index(file, &mut problems)?,
        false => mp4_index(file, &mut problems)?,
    };
    let alpha = webm.then(|| webm_alpha(&video, &mut problems));
    let video_seconds = seconds(duration, video.time_base);
    let audio_seconds = match (&info.audio, webm) {
        (Some(_), true) => Some(decoded_seconds(file)?),
        (Some(a), false) => Some(seconds(a.duration, a.time_base)),
        (None, _) => None,
    };
    // WebM stamps in milliseconds: the audio (counted in samples) is compared with the time the
    // frames stand for, which the last frame's millisecond only rounds.
    let video_time = match (webm && duration_exact, fps.num > 0) {
        (true, true) => video.packets as f64 * fps.den as f64 / fps.num as f64,
        _ => video_seconds,
    };
    let audio_offset_ms = audio_seconds.map(|a| (a - video_time) * 1000.0);
    if let Some(offset) = audio_offset_ms.filter(|o| o.abs() > AUDIO_TOLERANCE_SECONDS * 1000.0) {
        problems.push(format!("the audio lasts {offset:+.3} ms longer than the video (more than one AAC frame)"));
    }
    if let (Some(p), false) = (&plan, alpha.unwrap_or(true)) {
        if p.dimensions.format.spec().alpha {
            problems.push(format!("the plan's format {} keeps alpha, the video carries none", p.dimensions.format));
        }
    }
    let plan = plan.map(|p| compare(&p, &video, &mut problems));
    Ok(VerifyReport {
        path: file.to_path_buf(),
        container: info.format,
        color: video.color.clone(),
        codec: video.codec.clone(),
        frames: video.packets,
        width: video.size.0,
        height: video.size.1,
        r_frame_rate: ratio(fps),
        avg_frame_rate: ratio(video.avg_frame_rate),
        duration_seconds: video_seconds,
        duration_exact,
        audio_duration_seconds: audio_seconds,
        audio_offset_ms,
        index_first,
        alpha,
        plan,
        consistent: problems.is_empty(),
        problems,
    })
}

fn empty_stream() -> StreamInfo {
    StreamInfo {
        codec: String::new(),
        time_base: Rational { num: 0, den: 1 },
        duration: 0,
        packets: 0,
        r_frame_rate: Rational { num: 0, den: 1 },
        avg_frame_rate: Rational { num: 0, den: 1 },
        size: (0, 0),
        sample_rate: 0,
        span: 0,
        alpha_mode: false,
        alpha_packets: 0,
        color: ColorTags::default(),
    }
}

/// The video's duration in time-base ticks (WebM: its packets' span, since Matroska states no
/// stream duration) and whether it is exactly its frames (WebM: where `Fps::frame_to_ts` puts
/// the end in milliseconds); a problem when it is not.
fn video_duration(video: &StreamInfo, webm: bool, problems: &mut Vec<String>) -> (i64, bool) {
    let fps = video.r_frame_rate;
    let duration = if webm { video.span } else { video.duration };
    let exact = match webm {
        true => Fps::new(fps.num, fps.den).is_some_and(|f| duration == f.frame_to_ts(video.packets, video.time_base)),
        false => exactly_frames(duration, video.time_base, video.packets, fps),
    };
    if !exact {
        problems.push(format!(
            "the video lasts {} ticks of {}, not exactly {} frames at {}",
            duration,
            ratio(video.time_base),
            video.packets,
            ratio(fps)
        ));
    }
    (duration, exact)
}

/// An MP4/MOV's index: the moov before the mdat, else a problem.
fn mp4_index(file: &Path, problems: &mut Vec<String>) -> Result<bool> {
    let first = index_first(file)?;
    if !first {
        problems.push("the index (moov) does not precede the media data (mdat)".to_string());
    }
    Ok(first)
}

/// Whether libav's demuxer name is Matroska's (which reads WebM).
fn is_matroska(format: &str) -> bool {
    format.split(',').any(|f| f == "matroska" || f == "webm")
}

/// A WebM's index: present and before the first Cluster, else a problem saying which.
fn webm_index(file: &Path, problems: &mut Vec<String>) -> Result<bool> {
    let place = ebml::cues_place(file)?;
    if !place.present {
        problems.push("the file has no Cues (index)".to_string());
    } else if !place.before_clusters {
        problems.push("the Cues (index) do not precede the first Cluster".to_string());
    }
    Ok(place.present && place.before_clusters)
}

/// Whether a WebM video carries alpha; tagged alpha that some blocks lack is a problem.
fn webm_alpha(video: &StreamInfo, problems: &mut Vec<String>) -> bool {
    let every = video.packets > 0 && video.alpha_packets == video.packets;
    if video.alpha_mode && !every {
        problems.push(format!(
            "the video is tagged ALPHA_MODE=1 but {} of its {} blocks carry no alpha (BlockAdditional)",
            video.packets - video.alpha_packets,
            video.packets
        ));
    }
    video.alpha_mode && every
}

/// Seconds of audio a decoder plays from `file`'s first audio stream (48 kHz samples counted).
fn decoded_seconds(file: &Path) -> Result<f64> {
    let failed = |e| Error::av(Code::CorruptChunk, e).prefixed("decoding the output's audio");
    let mut reader = AudioReader::open(file).map_err(failed)?;
    let mut samples = 0u64;
    while let Some(pcm) = reader.read().map_err(failed)? {
        samples += pcm.len() as u64;
    }
    Ok(samples as f64 / f64::from(SAMPLE_RATE))
}

/// The video codec the plan's output holds: its locked encoder's (`--codec`), or any its format
/// can be made with when `meta/encoder.json` is not framefan's (a HyperFrames plan, `None`).
fn expected_codecs(plan: &Plan, encoder: Option<&EncoderConfig>) -> Vec<&'static str> {
    let format = plan.dimensions.format;
    match encoder {
        Some(e) => vec![format.codec_name(e.encoder)],
        None => format.spec().encoders().map(|e| format.codec_name(e)).collect(),
    }
}

fn compare(plan: &Plan, video: &StreamInfo, problems: &mut Vec<String>) -> PlanComparison {
    let d = plan.dimensions;
    let before = problems.len();
    if video.packets != plan.total_frames {
        problems.push(format!("{} frames, the plan has {}", video.packets, plan.total_frames));
    }
    if video.r_frame_rate != d.fps.rate() {
        problems.push(format!("{} fps, the plan has {}", ratio(video.r_frame_rate), d.fps));
    }
    if video.size != (d.width, d.height) {
        problems.push(format!("{}x{}, the plan has {}x{}", video.size.0, video.size.1, d.width, d.height));
    }
    let encoder = PlanLayout::new(&plan.dir).read_encoder().ok();
    let codecs = expected_codecs(plan, encoder.as_ref());
    if !codecs.contains(&video.codec.as_str()) {
        problems.push(format!("{} video, the plan's format {} is {}", video.codec, d.format, codecs.join(" or ")));
    }
    if let Some(e) = &encoder {
        problems.extend(color::problems(e, &video.color));
    }
    PlanComparison {
        plan_hash: plan.plan_hash.clone(),
        total_frames: plan.total_frames,
        fps: d.fps.to_string(),
        width: d.width,
        height: d.height,
        matches: problems.len() == before,
    }
}

/// Whether the first top-level `moov` box comes before the first `mdat`, walking box headers.
fn index_first(file: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(file).map_err(|e| Error::io("opening", file, e))?;
    let len = f.metadata().map_err(|e| Error::io("reading", file, e))?.len();
    let mut at = 0u64;
    while at + 8 <= len {
        f.seek(SeekFrom::Start(at)).map_err(|e| Error::io("seeking", file, e))?;
        let mut header = [0u8; 16];
        let want = if at + 16 <= len { 16 } else { 8 };
        f.read_exact(&mut header[..want]).map_err(|e| Error::io("reading", file, e))?;
        let mut size = u64::from(u32::from_be_bytes([header[0], header[1], header[2], header[3]]));
        if size == 1 && want == 16 {
            size = u64::from_be_bytes([
                header[8], header[9], header[10], header[11], header[12], header[13], header[14], header[15],
            ]);
        } else if size == 0 {
            size = len - at;
        }
        match &header[4..8] {
            b"moov" => return Ok(true),
            b"mdat" => return Ok(false),
            _ if size < 8 => return Ok(false),
            _ => at = at.saturating_add(size),
        }
    }
    Ok(false)
}

/// The first bytes of `file` (fewer when it is shorter).
fn head(file: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(8);
    let f = std::fs::File::open(file).map_err(|e| Error::io("opening", file, e))?;
    f.take(8).read_to_end(&mut head).map_err(|e| Error::io("reading", file, e))?;
    Ok(head)
}

/// [`verify`] of a GIF (see the module doc).
fn verify_gif(file: &Path, plan: Option<&Plan>) -> Result<VerifyReport> {
    let info = gif::read(file)?;
    let mut problems = Vec::new();
    let frames = info.delays.len() as i64;
    if !info.complete {
        problems.push("the GIF has no trailer (cut short)".to_string());
    }
    if info.loops.is_none() {
        problems.push("the GIF has no Netscape loop extension, so players show it once".to_string());
    }
    if frames == 0 {
        problems.push("the GIF has no frames".to_string());
    }
    let centiseconds: i64 = info.delays.iter().map(|&d| i64::from(d)).sum();
    let (rate, duration_exact, comparison) = match plan {
        Some(plan) => {
            let expected = gif::expected_delays(plan.total_frames, plan.dimensions.fps);
            let exact = info.delays == expected;
            if !exact && frames == plan.total_frames {
                problems.push(format!("the GIF's delays are not the plan's {} fps frame times", plan.dimensions.fps));
            }
            let video = StreamInfo {
                codec: "gif".into(),
                packets: frames,
                r_frame_rate: plan.dimensions.fps.rate(),
                size: (info.width, info.height),
                ..empty_stream()
            };
            (ratio(plan.dimensions.fps.rate()), exact, Some(compare(plan, &video, &mut problems)))
        }
        None => ("0/1".to_string(), false, None),
    };
    Ok(VerifyReport {
        path: file.to_path_buf(),
        container: "gif".into(),
        color: ColorTags::default(),
        codec: "gif".into(),
        frames,
        width: info.width,
        height: info.height,
        r_frame_rate: rate.clone(),
        avg_frame_rate: rate,
        duration_seconds: centiseconds as f64 / 100.0,
        duration_exact,
        audio_duration_seconds: None,
        audio_offset_ms: None,
        index_first: true,
        alpha: None,
        plan: comparison,
        consistent: problems.is_empty(),
        problems,
    })
}
