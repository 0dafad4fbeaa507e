//! A libavfilter graph run over a stereo signal held in memory, as the ffmpeg CLI runs a
//! `-filter_complex` that writes 16-bit WAV: the graph's text unchanged, its input labelled
//! `[0:a]`, its output `[out]` followed by the CLI's `aformat` for a `pcm_s16le` stereo 48 kHz
//! output, then `abuffersink`.
//!
//! The samples enter the graph as packed 16-bit stereo at 48 kHz, stamped from 0 in 1/48000 s, in
//! frames of the caller's size: where a frame starts can change what a filter puts out (`atempo`
//! aligns differently), so the caller gives the size the CLI's source would have. With a 16-bit output every link of such a graph negotiates 16-bit samples
//! (its filters take any format), so the filters compute on the integers the CLI's graph
//! computes on for a 16-bit source: a float sample is rounded to its 16-bit value first (ties to
//! even, as libswresample rounds) and the output is read back over 32768, as ffmpeg reads a WAV.

use super::audio::{Pcm, SAMPLE_RATE};
use super::{ff, find_filter, Context as _};
use crate::error::AvError;

/// The name the graph's text gives its input, as the CLI labels a first input's audio.
const INPUT: &str = "0:a";
/// The name the graph's text gives its output.
const OUTPUT: &str = "out";
/// What the CLI puts before the sink for `-acodec pcm_s16le -ar 48000` with two channels.
const OUTPUT_FORMAT: &str = "sample_fmts=s16:sample_rates=48000:channel_layouts=stereo";
/// Packed 16-bit samples, in and out.
const S16: ff::format::Sample = ff::format::Sample::I16(ff::format::sample::Type::Packed);

/// Run `graph` (ffmpeg filter graph text from `[0:a]` to `[out]`) over `pcm`, fed in frames of
/// `frame` samples (the CLI's source frames: [`AudioReader::cli_frame_samples`]); `subject`
/// names the signal in errors. Returns every sample the graph puts out.
///
/// [`AudioReader::cli_frame_samples`]: super::audio::AudioReader::cli_frame_samples
pub fn filter_audio(pcm: &Pcm, graph: &str, frame: usize, subject: &str) -> Result<Pcm, AvError> {
    super::init();
    let mut g = build(graph, subject)?;
    let mut out = Pcm::default();
    let mut pts = 0;
    while (pts as usize) < pcm.len() {
        let from = pts as usize;
        let to = (from + frame.max(1)).min(pcm.len());
        let frame = s16_frame(&pcm.left[from..to], &pcm.right[from..to], pts);
        context(&mut g, INPUT)?.source().add(&frame).ctx("av_buffersrc_add_frame", &subject)?;
        drain(&mut g, &mut out, subject)?;
        pts = to as i64;
    }
    context(&mut g, INPUT)?.source().flush().ctx("av_buffersrc_add_frame", &subject)?;
    drain(&mut g, &mut out, subject)?;
    Ok(out)
}

/// The graph: `abuffer` named [`INPUT`], the text, `aformat` and `abuffersink`.
fn build(text: &str, subject: &str) -> Result<ff::filter::Graph, AvError> {
    let mut g = ff::filter::Graph::new();
    let source = format!("time_base=1/{SAMPLE_RATE}:sample_rate={SAMPLE_RATE}:sample_fmt=s16:channel_layout=stereo");
    g.add(&find_filter("abuffer")?, INPUT, &source).ctx("avfilter_graph_create_filter", &subject)?;
    g.add(&find_filter("aformat")?, OUTPUT, OUTPUT_FORMAT).ctx("avfilter_graph_create_filter", &subject)?;
    g.add(&find_filter("abuffersink")?, "sink", "").ctx("avfilter_graph_create_filter", &subject)?;
    link(&mut g, OUTPUT, "sink", subject)?;
    let parser = g.output(INPUT, 0).and_then(|p| p.input(OUTPUT, 0)).ctx("avfilter_inout", &subject)?;
    parser.parse(text).ctx("avfilter_graph_parse_ptr", &subject)?;
    g.validate().ctx("avfilter_graph_config", &subject)?;
    Ok(g)
}

/// Link output pad 0 of the filter named `from` to input pad 0 of `to`.
fn link(g: &mut ff::filter::Graph, from: &str, to: &str, subject: &str) -> Result<(), AvError> {
    let mut from = context(g, from)?;
    let mut to = context(g, to)?;
    // SAFETY: both contexts belong to `g`, which outlives the call; pads 0 exist on aformat
    // (one output) and abuffersink (one input).
    let ret = unsafe { ff::ffi::avfilter_link(from.as_mut_ptr(), 0, to.as_mut_ptr(), 0) };
    super::check(ret, "avfilter_link", &subject).map(drop)
}

/// Move every frame the sink has ready into `out`.
fn drain(g: &mut ff::filter::Graph, out: &mut Pcm, subject: &str) -> Result<(), AvError> {
    let mut frame = ff::frame::Audio::empty();
    loop {
        match context(g, "sink")?.sink().frame(&mut frame) {
            Ok(()) => {}
            Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => return Ok(()),
            Err(ff::Error::Eof) => return Ok(()),
            Err(e) => return Err(super::wrap(e, "av_buffersink_get_frame", &subject)),
        }
        if frame.format() != S16 || frame.channels() != 2 {
            return Err(AvError {
                op: "av_buffersink_get_frame",
                subject: subject.into(),
                code: ff::ffi::AVERROR_BUG,
                message: format!("the graph put out {:?} × {} channels, not s16 stereo", frame.format(), frame.channels()),
            });
        }
        for (l, r) in frame.plane::<(i16, i16)>(0).iter().take(frame.samples()) {
            out.left.push(f32::from(*l) / 32768.0);
            out.right.push(f32::from(*r) / 32768.0);
        }
    }
}

/// A packed 16-bit stereo frame of `left`/`right` stamped `pts`.
fn s16_frame(left: &[f32], right: &[f32], pts: i64) -> ff::frame::Audio {
    let mut frame = ff::frame::Audio::new(S16, left.len(), ff::ChannelLayout::STEREO);
    frame.set_rate(SAMPLE_RATE as u32);
    for (o, (l, r)) in frame.plane_mut::<(i16, i16)>(0).iter_mut().zip(left.iter().zip(right)) {
        *o = (to_s16(*l), to_s16(*r));
    }
    frame.set_pts(Some(pts));
    frame
}

/// A float sample as a 16-bit one: ×32768, rounded ties to even, clamped.
fn to_s16(s: f32) -> i16 {
    (f64::from(s) * 32768.0).round_ties_even().clamp(-32768.0, 32767.0) as i16
}

fn context(g: &mut ff::filter::Graph, name: &str) -> Result<ff::filter::Context, AvError> {
    g.get(name).ok_or_else(|| AvError {
        op: "avfilter_graph_get_filter",
        subject: name.into(),
        code: ff::ffi::AVERROR_BUG,
        message: format!("filter {name} is not in its graph"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Pcm {
        let left: Vec<f32> = (0..n).map(|i| ((i % 200) as f32 - 100.0) / 32768.0).collect();
        Pcm { right: left.iter().map(|s| -s).collect(), left }
    }

    #[test]
    fn a_null_graph_passes_every_sample() {
        let pcm = ramp(5000);
        let out = filter_audio(&pcm, "[0:a]anull[out]", 1024, "test").unwrap();
        assert_eq!(out.left, pcm.left);
        assert_eq!(out.right, pcm.right);
    }

    #[test]
    fn a_trim_cuts_by_time_and_a_bad_graph_names_the_call() {
        let out = filter_audio(&ramp(48_000), "[0:a]atrim=start=0.25:end=0.5,asetpts=PTS-STARTPTS[out]", 700, "t").unwrap();
        assert_eq!(out.len(), 12_000);
        assert_eq!(out.left[0], ramp(48_000).left[12_000]);
        let err = filter_audio(&ramp(10), "[0:a]nosuchfilter[out]", 1024, "clip \"x\"").unwrap_err();
        assert_eq!(err.op, "avfilter_graph_parse_ptr");
        assert!(err.to_string().contains("clip \"x\""), "{err}");
    }
}
