//! `verify`: read an output back and say whether it is what framefan promises.
//!
//! Contract: [`verify()`] opens an MP4/MOV file with libav in-process, counts its video frames
//! and reports both frame rates, the exact video duration, the audio duration, and whether the
//! index (`moov`) precedes the media data (`mdat`); given a plan, it also compares frame count,
//! frame rate and size with it. The report is `consistent` when: there is one video stream;
//! r_frame_rate equals avg_frame_rate; the video duration is exactly frames ÷ fps; the index
//! comes first; the audio (if any) lasts as long as the video within one AAC frame; and the plan
//! (if given) matches. Every failed check is a sentence in `problems`. Errors are only for files
//! that cannot be read at all.
//!
//! A GIF is read by walking its blocks ([`gif`]): it has no frame rate and no index, so it is
//! consistent when it is complete, loops, and (given a plan) holds the plan's frames and size
//! with every delay exactly as the plan's frame times round to centiseconds.

pub mod gif;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::av::probe::{probe, StreamInfo};
use crate::error::{Code, Error, Result};
use crate::plan::Plan;
use crate::time::Rational;

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

/// What [`verify()`] found.
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
    /// Whether the index (`moov`) precedes the media data (`mdat`).
    pub index_first: bool,
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
            format!("{} is a directory; verify reads mp4 and mov files", file.display()),
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
    let duration_exact = exactly_frames(video.duration, video.time_base, video.packets, fps);
    if !duration_exact {
        problems.push(format!(
            "the video lasts {} ticks of {}, not exactly {} frames at {}",
            video.duration,
            ratio(video.time_base),
            video.packets,
            ratio(fps)
        ));
    }
    let index_first = index_first(file)?;
    if !index_first {
        problems.push("the index (moov) does not precede the media data (mdat)".to_string());
    }
    let video_seconds = seconds(video.duration, video.time_base);
    let audio_seconds = info.audio.as_ref().map(|a| seconds(a.duration, a.time_base));
    let audio_offset_ms = audio_seconds.map(|a| (a - video_seconds) * 1000.0);
    if let Some(offset) = audio_offset_ms.filter(|o| o.abs() > AUDIO_TOLERANCE_SECONDS * 1000.0) {
        problems.push(format!("the audio lasts {offset:+.3} ms longer than the video (more than one AAC frame)"));
    }
    let plan = plan.map(|p| compare(&p, &video, &mut problems));
    Ok(VerifyReport {
        path: file.to_path_buf(),
        container: info.format,
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
    let codec = d.format.codec_name();
    if video.codec != codec {
        problems.push(format!("{} video, the plan's format {} is {codec}", video.codec, d.format));
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
        plan: comparison,
        consistent: problems.is_empty(),
        problems,
    })
}
