//! The media half of `plan` (issue 3): the mixed soundtrack and the pre-extracted video frames.
//!
//! Audio is checked by decoding `audio.m4a` back and comparing it sample by sample with the
//! ideal placed, trimmed, looped and scaled sines; video by decoding the JPEGs back and reading
//! the grey level each source frame was painted with.

use std::path::{Path, PathBuf};

use framefan::av::video::{FrameFormat, VideoCodec, VideoEncoderConfig};
use framefan::av::video_decode::VideoDecoder;
use framefan::plan::media::{extract_video, mix_audio};
use framefan::plan::model::{MediaClip, MediaKind};
use framefan::plan::OutputFormat;
use framefan::render::ChunkWriter;
use framefan::time::{Fps, Rational};
use framefan::Control;

use crate::util::{decode_audio, sine_value, write_sine_m4a};

fn r(text: &str) -> Rational {
    Rational::parse_decimal(text).unwrap()
}

fn clip(id: &str, kind: MediaKind, src: &Path, start: &str) -> MediaClip {
    MediaClip {
        id: id.to_string(),
        kind,
        src: src.to_path_buf(),
        src_rel: format!("assets/{}", src.file_name().unwrap().to_string_lossy()),
        start: r(start),
        duration: None,
        media_start: Rational::ZERO,
        volume: 1.0,
        looped: false,
        playback_rate: 1.0,
        audible: kind == MediaKind::Audio,
        fx: Default::default(),
        group: None,
    }
}

/// Max |decoded − expected| on the left channel over `range`.
fn max_error(pcm: &[f32], range: std::ops::Range<usize>, expected: impl Fn(usize) -> f32) -> f32 {
    range.map(|n| (pcm[n] - expected(n)).abs()).fold(0.0, f32::max)
}

fn peak(pcm: &[f32], range: std::ops::Range<usize>) -> f32 {
    pcm[range].iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

fn rms(pcm: &[f32], range: std::ops::Range<usize>) -> f64 {
    let n = range.len() as f64;
    (pcm[range].iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>() / n).sqrt()
}

/// First and last sample louder than `level` within `range`.
fn loud_span(pcm: &[f32], range: std::ops::Range<usize>, level: f32) -> (usize, usize) {
    let first = range.clone().find(|&n| pcm[n].abs() > level).unwrap();
    let last = range.rev().find(|&n| pcm[n].abs() > level).unwrap();
    (first, last)
}

fn no_leftovers(dir: &Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.filter(|n| n.starts_with('.')).collect()
}

#[test]
fn two_tones_land_at_their_offsets_and_levels() {
    let dir = tempfile::tempdir().unwrap();
    let (a_src, b_src) = (dir.path().join("a.m4a"), dir.path().join("b.m4a"));
    write_sine_m4a(&a_src, 48_000, 440.0);
    write_sine_m4a(&b_src, 48_000, 1000.0);
    let a = clip("a", MediaKind::Audio, &a_src, "0.25");
    let mut b = clip("b", MediaKind::Audio, &b_src, "1.5");
    b.media_start = r("0.25");
    b.volume = 0.5;
    let out = dir.path().join("audio.m4a");
    let summary = mix_audio(&[a.clone(), b.clone()], 144_000, &out).unwrap().unwrap();
    assert_eq!((summary.clips, summary.samples, summary.limited), (2, 144_000, false));
    let pcm = decode_audio(&out);
    // `AudioReader` stops at the length the MP4 states, so this is exact.
    assert_eq!(pcm.len(), 144_000);
    let l = &pcm.left;
    // A: source sample n − 12000 at 0.25 s; B: source sample n − 72000 + 12000, half volume.
    let ideal_a = |n: usize| sine_value(440.0, 0.5, (n - 12_000) as u64);
    let ideal_b = |n: usize| 0.5 * sine_value(1000.0, 0.5, (n - 60_000) as u64);
    assert!(max_error(l, 13_024..58_976, ideal_a) < 0.02, "tone A misplaced");
    assert!(max_error(l, 73_024..106_976, ideal_b) < 0.02, "tone B misplaced");
    assert!(max_error(&pcm.right, 13_024..58_976, |n| -ideal_a(n)) < 0.02, "right channel");
    assert!((rms(l, 12_000..60_000) - 0.5 / 2f64.sqrt()).abs() < 0.01);
    assert!((rms(l, 72_000..108_000) - 0.25 / 2f64.sqrt()).abs() < 0.005);
    // Onsets and ends within one AAC frame, silence elsewhere.
    let (a0, a1) = loud_span(l, 0..66_000, 0.05);
    assert!(a0 + 1024 >= 12_000 && a0 <= 12_000 + 16, "A starts at {a0}");
    assert!(a1 + 16 >= 60_000 && a1 < 60_000 + 1024, "A ends at {a1}");
    let (b0, b1) = loud_span(l, 66_000..144_000, 0.05);
    assert!(b0 + 1024 >= 72_000 && b0 <= 72_000 + 16, "B starts at {b0}");
    assert!(b1 + 16 >= 108_000 && b1 < 108_000 + 1024, "B ends at {b1}");
    for silent in [0..10_976, 61_024..70_976, 109_024..144_000] {
        assert!(peak(l, silent.clone()) < 2e-3, "noise in {silent:?}");
    }
    // Same inputs, same bytes.
    let again = dir.path().join("again.m4a");
    mix_audio(&[a, b], 144_000, &again).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    assert!(no_leftovers(dir.path()).is_empty());
}

#[test]
fn loops_restart_at_the_source_start_and_durations_trim() {
    let dir = tempfile::tempdir().unwrap();
    // 441 Hz over 0.5 s is 220.5 cycles: a loop seam flips the phase, so misplaced seams show.
    let (loop_src, trim_src) = (dir.path().join("loop.m4a"), dir.path().join("trim.m4a"));
    write_sine_m4a(&loop_src, 24_000, 441.0);
    write_sine_m4a(&trim_src, 48_000, 1000.0);
    let mut looped = clip("bed", MediaKind::Audio, &loop_src, "0.5");
    looped.media_start = r("0.1");
    looped.duration = Some(r("1.3"));
    looped.looped = true;
    let mut trimmed = clip("sting", MediaKind::Audio, &trim_src, "2");
    trimmed.duration = Some(r("0.25"));
    let out = dir.path().join("audio.m4a");
    mix_audio(&[looped, trimmed], 144_000, &out).unwrap().unwrap();
    let l = decode_audio(&out).left;
    // Loop: source 4800.. for 19200 samples, then source 0.. again, until 86400 on the timeline.
    let source_pos = |n: usize| {
        let k = n - 24_000;
        if k < 19_200 {
            4_800 + k
        } else {
            (k - 19_200) % 24_000
        }
    };
    let ideal = |n: usize| sine_value(441.0, 0.5, source_pos(n) as u64);
    for span in [25_024..41_600, 44_800..65_600, 68_800..85_376] {
        let err = max_error(&l, span.clone(), ideal);
        assert!(err < 0.02, "looped clip deviates by {err} in {span:?}");
    }
    let (_, end) = loud_span(&l, 0..95_000, 0.05);
    assert!(end + 16 >= 86_400 && end < 86_400 + 1024, "loop ends at {end}");
    // Trim: 0.25 s of the 1 s source from 2 s on, then silence.
    assert!(max_error(&l, 97_024..106_976, |n| sine_value(1000.0, 0.5, (n - 96_000) as u64)) < 0.02);
    let (start, end) = loud_span(&l, 90_000..144_000, 0.05);
    assert!(start + 1024 >= 96_000 && end < 108_000 + 1024, "trimmed clip spans {start}..{end}");
    assert!(peak(&l, 109_024..144_000) < 2e-3);
}

#[test]
fn the_limiter_keeps_a_hot_sum_below_full_scale() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("tone.m4a");
    write_sine_m4a(&src, 48_000, 440.0);
    let mut one = clip("one", MediaKind::Audio, &src, "0");
    one.volume = 1.5;
    let two = MediaClip { id: "two".into(), ..one.clone() };
    let out = dir.path().join("audio.m4a");
    // Unlimited, the in-phase sum would peak at 2 × 0.5 × 1.5 = 1.5.
    let summary = mix_audio(&[one, two], 48_000, &out).unwrap().unwrap();
    assert!(summary.limited);
    let pcm = decode_audio(&out);
    let p = peak(&pcm.left, 0..48_000).max(peak(&pcm.right, 0..48_000));
    assert!(p <= 1.02 && p > 0.9, "limited peak {p}");
}

#[test]
fn nothing_audible_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("tone.m4a");
    write_sine_m4a(&src, 4_800, 440.0);
    let out = dir.path().join("audio.m4a");
    let mut muted = clip("muted", MediaKind::Audio, &src, "0");
    muted.audible = false;
    let silent_video = clip("v", MediaKind::Video, &src, "0");
    let after_the_end = clip("late", MediaKind::Audio, &src, "2");
    assert_eq!(mix_audio(&[], 48_000, &out).unwrap(), None);
    assert_eq!(mix_audio(&[muted, silent_video, after_the_end], 48_000, &out).unwrap(), None);
    assert!(!out.exists());
    assert!(no_leftovers(dir.path()).is_empty());
}

#[test]
fn undecodable_audio_is_audio_invalid_and_names_the_clip() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("noise.mp3");
    std::fs::write(&bad, b"definitely not audio, just bytes".repeat(64)).unwrap();
    let out = dir.path().join("audio.m4a");
    for src in [bad, dir.path().join("missing.wav")] {
        let err = mix_audio(&[clip("voiceover", MediaKind::Audio, &src, "0")], 48_000, &out).unwrap_err();
        assert_eq!(err.code(), "AUDIO_INVALID", "{err}");
        assert!(err.message().contains("\"voiceover\""), "{err}");
        assert!(err.message().contains(src.file_name().unwrap().to_str().unwrap()), "{err}");
    }
    assert!(!out.exists());
    assert!(no_leftovers(dir.path()).is_empty());
}

const W: u32 = 64;
const H: u32 = 48;

/// Source frame `k` is a flat TV-range grey of `grey(k)`.
fn grey(k: i64) -> u8 {
    (20 + 5 * k) as u8
}

/// A 25 fps H.264 source (keyframe every 10 frames) whose frames come from `frame(k)`.
fn write_video(path: &Path, frames: i64, frame: impl Fn(i64) -> Vec<u8>) {
    let codec = VideoCodec::H264 {
        preset: "ultrafast".into(),
        crf: Some(12),
        bitrate: None,
        threads: 1,
        params: String::new(),
    };
    let config = VideoEncoderConfig { width: W, height: H, fps: Fps::new(25, 1).unwrap(), gop: 10, codec };
    let mut writer = ChunkWriter::create(path, OutputFormat::Mp4, config, 0).unwrap();
    for k in 0..frames {
        writer.push(FrameFormat::Yuv420p, &frame(k)).unwrap();
    }
    writer.finish().unwrap();
}

fn flat_yuv(y: u8, u: u8, v: u8) -> Vec<u8> {
    let (luma, chroma) = ((W * H) as usize, (W * H / 4) as usize);
    [vec![y; luma], vec![u; chroma], vec![v; chroma]].concat()
}

/// The mean R, G, B of a JPEG decoded back with libav.
fn jpeg_rgb(path: &Path) -> [f64; 3] {
    let mut decoder = VideoDecoder::open(path).unwrap();
    let picture = decoder.next_picture().unwrap().unwrap();
    assert_eq!((picture.width(), picture.height()), (W, H));
    let rgb = picture.to_rgb().unwrap();
    let n = (rgb.len() / 3) as f64;
    let mut sum = [0.0; 3];
    for px in rgb.chunks_exact(3) {
        for c in 0..3 {
            sum[c] += f64::from(px[c]);
        }
    }
    sum.map(|s| s / n)
}

/// Which source frame a JPEG shows, from its grey level (TV-range grey → full-range RGB).
fn source_frame_of(path: &Path) -> i64 {
    let level = jpeg_rgb(path)[1];
    let y = level * 219.0 / 255.0 + 16.0;
    let k = ((y - 20.0) / 5.0).round() as i64;
    assert!((y - f64::from(grey(k))).abs() < 1.5, "{}: luma {y} is no frame's grey", path.display());
    k
}

fn frame_files(plan: &Path, id: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(plan.join("video-frames").join(id)).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn grey_source(dir: &Path) -> PathBuf {
    let src = dir.join("counter.mp4");
    write_video(&src, 40, |k| flat_yuv(grey(k), 128, 128));
    src
}

#[test]
fn video_frames_follow_start_media_start_and_duration() {
    let dir = tempfile::tempdir().unwrap();
    let src = grey_source(dir.path());
    let fps = Fps::new(30, 1).unwrap();
    let plan = dir.path().join("plan");
    std::fs::create_dir(&plan).unwrap();
    let mut v = clip("intro", MediaKind::Video, &src, "0.5");
    v.media_start = r("0.4");
    v.duration = Some(r("0.6"));
    let got = extract_video(&v, fps, 60, &plan, &Control::default()).unwrap().video;
    assert_eq!((got.video_id.as_str(), got.dir.as_str()), ("intro", "video-frames/intro"));
    assert_eq!((got.first_frame, got.frame_count, got.width, got.height), (15, 18, W, H));
    let files = frame_files(&plan, "intro");
    assert_eq!(files.len(), 18);
    assert!(files[0].ends_with("frame_00001.jpg") && files[17].ends_with("frame_00018.jpg"));
    // Composition frame f shows source time 0.4 + f/30 − 0.5, i.e. source frame ⌊(f − 3)·25/30⌋:
    // frame 15 → exactly source frame 10 (a timestamp equal to the wanted time counts).
    for (k, file) in files.iter().enumerate() {
        let f = 15 + k as i64;
        assert_eq!(source_frame_of(file), (f - 3) * 5 / 6, "file {}", k + 1);
    }
    // Same inputs, same bytes.
    let plan2 = dir.path().join("plan2");
    std::fs::create_dir(&plan2).unwrap();
    extract_video(&v, fps, 60, &plan2, &Control::default()).unwrap();
    for (a, b) in files.iter().zip(frame_files(&plan2, "intro")) {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
    assert!(no_leftovers(&plan.join("video-frames")).is_empty());
}

#[test]
fn video_without_duration_ends_with_its_source_and_a_longer_slot_holds_the_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    let src = grey_source(dir.path());
    let fps = Fps::new(30, 1).unwrap();
    let plan = dir.path();
    // From source 1.0 s (a seek past two keyframes) the 1.6 s source has 0.6 s = 18 frames left.
    let mut open_ended = clip("tail", MediaKind::Video, &src, "0");
    open_ended.media_start = r("1");
    let got = extract_video(&open_ended, fps, 60, plan, &Control::default()).unwrap().video;
    assert_eq!((got.first_frame, got.frame_count), (0, 18));
    let files = frame_files(plan, "tail");
    assert_eq!(source_frame_of(&files[0]), 25);
    assert_eq!(source_frame_of(&files[17]), 39);
    // A 0.8 s slot from 1 s with 0.4 s of source left: source frames 30..=39, then 39 held.
    let mut held = clip("held", MediaKind::Video, &src, "1");
    held.media_start = r("1.2");
    held.duration = Some(r("0.8"));
    let got = extract_video(&held, fps, 60, plan, &Control::default()).unwrap().video;
    assert_eq!((got.first_frame, got.frame_count), (30, 24));
    let shown: Vec<i64> = frame_files(plan, "held").iter().map(|f| source_frame_of(f)).collect();
    assert_eq!(shown[0], 30);
    assert!(shown[11..].iter().all(|&k| k == 39), "{shown:?}");
    // Slots are clamped to the composition; a clip after its end has no frames.
    let mut late = clip("late", MediaKind::Video, &src, "1.5");
    late.duration = Some(r("2"));
    assert_eq!(extract_video(&late, fps, 60, plan, &Control::default()).unwrap().video.frame_count, 15);
    let after = clip("after", MediaKind::Video, &src, "3");
    let got = extract_video(&after, fps, 60, plan, &Control::default()).unwrap().video;
    assert_eq!((got.first_frame, got.frame_count), (90, 0));
}

#[test]
fn video_colours_survive_the_bt709_to_jpeg_conversion() {
    let dir = tempfile::tempdir().unwrap();
    // RGB (200, 60, 40) as BT.709 TV-range Y'CbCr; read as BT.601 it would be ~13 levels off.
    let rgb = [200.0f64, 60.0, 40.0].map(|c| c / 255.0);
    let y = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    let (cb, cr) = ((rgb[2] - y) / 1.8556, (rgb[0] - y) / 1.5748);
    let yuv = [16.0 + 219.0 * y, 128.0 + 224.0 * cb, 128.0 + 224.0 * cr].map(|v| v.round() as u8);
    let src = dir.path().join("red.mp4");
    write_video(&src, 5, |_| flat_yuv(yuv[0], yuv[1], yuv[2]));
    extract_video(
        &clip("red", MediaKind::Video, &src, "0"),
        Fps::new(25, 1).unwrap(),
        5,
        dir.path(),
        &Control::default(),
    )
    .unwrap();
    let got = jpeg_rgb(&frame_files(dir.path(), "red")[0]);
    for (c, want) in [200.0, 60.0, 40.0].iter().enumerate() {
        assert!((got[c] - want).abs() < 5.0, "channel {c}: {} vs {want} ({got:?})", got[c]);
    }
}

/// Run ffmpeg with `args`; its stdout.
fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let o = std::process::Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().unwrap();
    assert!(o.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// A JPEG's planes as ffmpeg decodes them.
fn jpeg_planes(path: &Path) -> Vec<u8> {
    ffmpeg(&["-i", path.to_str().unwrap(), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
}

#[test]
fn partially_tagged_sources_convert_as_hyperframes_filters_do() {
    // Sources tagged with the BT.709 matrix only (no primaries, no transfer): H.264, whose VUI
    // also says TV range, and FFV1 in Matroska, whose range stays unspecified. Their first frame
    // must decode to the same planes as HyperFrames' extraction filters give, run by ffmpeg with
    // the C integer DCT framefan uses (HyperFrames' ffmpeg picks an SSE2 one on x86).
    let dir = tempfile::tempdir().unwrap();
    let pattern = "testsrc2=size=320x240:rate=30:duration=0.1";
    let chain = "setparams=color_primaries=bt709:color_trc=iec61966-2-1,scale=flags=neighbor+accurate_rnd,\
                 format=gbrp,scale=out_color_matrix=bt601:out_range=pc:flags=neighbor,format=yuv420p";
    for (name, codec) in [("h264.mp4", "libx264"), ("ffv1.mkv", "ffv1")] {
        let src = dir.path().join(name);
        let src_arg = src.to_str().unwrap();
        ffmpeg(&["-f", "lavfi", "-i", pattern, "-pix_fmt", "yuv420p", "-c:v", codec, "-colorspace", "bt709", src_arg]);
        let want = dir.path().join(format!("{name}.jpg"));
        let dct = ["-q:v", "2", "-dct", "int", "-huffman", "optimal", "-frames:v", "1"];
        ffmpeg(&[&["-i", src_arg, "-vf", chain][..], &dct[..], &[want.to_str().unwrap()][..]].concat());
        let id = name.replace('.', "-");
        extract_video(
            &clip(&id, MediaKind::Video, &src, "0"),
            Fps::new(30, 1).unwrap(),
            1,
            dir.path(),
            &Control::default(),
        )
        .unwrap();
        let got = frame_files(dir.path(), &id);
        assert!(jpeg_planes(&got[0]) == jpeg_planes(&want), "{name}: the frame differs from ffmpeg's filters");
    }
}

/// A 30 fps VP9 WebM (millisecond time base) with alpha: frame `k` is a flat grey of `20 + 5k`,
/// opaque on its left half, alpha 100 on its right half.
fn alpha_webm(dir: &Path, frames: u32) -> PathBuf {
    let src = dir.join("overlay.webm");
    let paint = "format=rgba,geq=r='20+5*N':g='20+5*N':b='20+5*N':a='if(lt(X,W/2),255,100)'";
    let lavfi = format!("color=c=black:s={W}x{H}:r=30:d={}", f64::from(frames) / 30.0);
    let args = ["-f", "lavfi", "-i", &lavfi, "-vf", paint, "-pix_fmt", "yuva420p", "-c:v", "libvpx-vp9"];
    ffmpeg(
        &[&args[..], &["-b:v", "0", "-crf", "10", "-auto-alt-ref", "0", "-threads", "1", src.to_str().unwrap()]]
            .concat(),
    );
    src
}

/// RGBA frames of `w`×`h` from raw `bytes`.
fn rgba_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.chunks_exact((W * H * 4) as usize).map(<[u8]>::to_vec).collect()
}

/// Which source frame of [`alpha_webm`] an RGBA frame shows (from its opaque half's grey).
fn alpha_source_frame(rgba: &[u8]) -> i64 {
    let grey = f64::from(rgba[1]);
    let k = ((grey - 20.0) / 5.0).round();
    assert!((grey - (20.0 + 5.0 * k)).abs() < 1.5, "grey {grey} is no frame's");
    k as i64
}

#[test]
fn webm_frames_keep_their_alpha_and_the_cadence_hyperframes_extracts() {
    // HyperFrames extracts a VP9 source with `-c:v libvpx-vp9` to PNG through
    // `settb=intb/2,setpts=PTS-lte(TB\,0.001),fps=30:start_time=0:round=up` (plus `setparams`
    // that change no pixel of a tagged or untagged 4:2:0 stream). Run exactly that here and
    // compare: the same source frame in every file (on a millisecond time base "the last picture
    // at or before t" repeated one every third frame), the same pixels and the same alpha.
    let dir = tempfile::tempdir().unwrap();
    let src = alpha_webm(dir.path(), 60);
    let fps = Fps::new(30, 1).unwrap();
    for (media_start, start) in [("0", "0"), ("0.2", "0.1")] {
        let plan = dir.path().join(format!("plan-{media_start}"));
        std::fs::create_dir(&plan).unwrap();
        let mut v = clip("overlay", MediaKind::Video, &src, start);
        v.media_start = r(media_start);
        v.duration = Some(r("1.2"));
        let got = extract_video(&v, fps, 60, &plan, &Control::default()).unwrap().video;
        assert_eq!(got.frame_format, framefan::plan::layout::VideoFrameFormat::Png);
        let files = frame_files(&plan, "overlay");
        assert_eq!(files.len(), 36);
        assert!(files[0].ends_with("frame_00001.png"));
        let ours: Vec<Vec<u8>> = files
            .iter()
            .map(|f| ffmpeg(&["-i", f.to_str().unwrap(), "-f", "rawvideo", "-pix_fmt", "rgba", "-"]))
            .collect();
        let chain = "settb=intb/2,setpts=PTS-lte(TB\\,0.001),fps=30:start_time=0:round=up";
        let theirs = rgba_frames(&ffmpeg(&[
            "-c:v",
            "libvpx-vp9",
            "-noaccurate_seek",
            "-ss",
            media_start,
            "-i",
            src.to_str().unwrap(),
            "-t",
            "1.2",
            "-vf",
            chain,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgba",
            "-",
        ]));
        assert_eq!(theirs.len(), ours.len(), "media start {media_start}: frame count");
        let shown: Vec<i64> = ours.iter().map(|f| alpha_source_frame(f)).collect();
        let first = r(media_start).num * 30 / r(media_start).den;
        assert_eq!(
            shown,
            (first..first + 36).collect::<Vec<_>>(),
            "media start {media_start}: one source frame per file"
        );
        assert_eq!(shown, theirs.iter().map(|f| alpha_source_frame(f)).collect::<Vec<_>>());
        for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(a == b, "media start {media_start}: file {} differs from ffmpeg's frame", k + 1);
            let (left, right) = (a[3], a[a.len() - 1]);
            assert_eq!((left, right), (255, 100), "alpha of file {}", k + 1);
        }
    }
}

#[test]
fn undecodable_video_is_video_source_unrenderable() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.mp4");
    std::fs::write(&bad, b"\x00\x00\x00\x18ftypisomnot really a movie".repeat(40)).unwrap();
    let audio_only = dir.path().join("music.m4a");
    write_sine_m4a(&audio_only, 4_800, 440.0);
    let fps = Fps::new(30, 1).unwrap();
    for src in [bad, audio_only, dir.path().join("missing.mp4")] {
        let err = extract_video(&clip("hero", MediaKind::Video, &src, "0"), fps, 30, dir.path(), &Control::default())
            .unwrap_err();
        assert_eq!(err.code(), "VIDEO_SOURCE_UNRENDERABLE", "{err}");
        assert!(err.message().contains("\"hero\""), "{err}");
        assert!(err.message().contains(src.file_name().unwrap().to_str().unwrap()), "{err}");
    }
    assert!(!dir.path().join("video-frames/hero").exists());
    let unsafe_id = clip("../escape", MediaKind::Video, &dir.path().join("x.mp4"), "0");
    assert_eq!(
        extract_video(&unsafe_id, fps, 30, dir.path(), &Control::default()).unwrap_err().code(),
        "COMPOSITION_INVALID"
    );
}

/// A plain PCM WAV (WAVE_FORMAT_PCM, so no channel mask: libav reports no channel layout and
/// the default one for the count is taken) whose channel `c` holds a sine of `tones[c]`
/// (frequency, peak), or silence.
fn write_wav(path: &Path, rate: u32, seconds: f64, tones: &[Option<(f64, f64)>]) {
    let n = (f64::from(rate) * seconds) as u32;
    let channels = tones.len() as u16;
    let bytes = n * 2 * u32::from(channels);
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + bytes).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
    b.extend_from_slice(&(2 * channels).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&bytes.to_le_bytes());
    for i in 0..n {
        for tone in tones {
            let v = tone.map_or(0.0, |(freq, amp)| {
                amp * (2.0 * std::f64::consts::PI * freq * f64::from(i) / f64::from(rate)).sin()
            });
            b.extend_from_slice(&((v * 32767.0) as i16).to_le_bytes());
        }
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn mono_wavs_without_a_channel_layout_mix_at_any_rate() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [8_000, 44_100, 48_000] {
        let src = dir.path().join(format!("mono-{rate}.wav"));
        write_wav(&src, rate, 1.0, &[Some((440.0, 0.5))]);
        let out = dir.path().join(format!("mix-{rate}.m4a"));
        let summary = mix_audio(&[clip("a", MediaKind::Audio, &src, "0")], 48_000, &out).unwrap().unwrap();
        assert_eq!(summary.samples, 48_000, "{rate} Hz");
        let pcm = decode_audio(&out);
        // Mono lands in both channels at its own level, as HyperFrames' mixer puts it there
        // (0.5 peak, RMS 0.354 on each side; libswresample's upmix would give 0.25), and at its
        // pitch: 440 Hz crosses zero 880 times a second.
        for ch in [&pcm.left, &pcm.right] {
            let level = rms(ch, 4_800..43_200);
            assert!((level - 0.3536).abs() < 0.01, "{rate} Hz: rms {level}");
            let crossings = ch[4_800..43_200].windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
            assert!((crossings as f64 - 880.0 * 0.8).abs() < 8.0, "{rate} Hz: {crossings} zero crossings");
        }
    }
}

#[test]
fn a_surround_source_is_downmixed_as_hyperframes_normalises_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("surround.wav");
    // Six channels without a mask are 5.1: FL, FR, FC, LFE and two surrounds. Sound in FL, FC and
    // the LFE only.
    let tones = [Some((440.0, 0.5)), None, Some((660.0, 0.5)), Some((60.0, 0.5)), None, None];
    write_wav(&src, 44_100, 1.0, &tones);
    let out = dir.path().join("mix.m4a");
    mix_audio(&[clip("a", MediaKind::Audio, &src, "0")], 48_000, &out).unwrap().unwrap();
    let pcm = decode_audio(&out);
    // Each side is (front + 0.707·centre + 0.707·surround) / 2.414 and the LFE is dropped:
    // left = two sines of RMS 0.354 and 0.25 over 2.414 (0.179), right the centre alone (0.104).
    let (left, right) = (rms(&pcm.left, 4_800..43_200), rms(&pcm.right, 4_800..43_200));
    assert!((left - 0.1792).abs() < 0.005, "left rms {left}");
    assert!((right - 0.1036).abs() < 0.005, "right rms {right}");
}

#[test]
fn a_cancelled_extraction_stops_and_leaves_no_frames() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("grey.mp4");
    write_video(&src, 5, |_| flat_yuv(128, 128, 128));
    let control = Control::new();
    control.cancel();
    let err =
        extract_video(&clip("grey", MediaKind::Video, &src, "0"), Fps::new(25, 1).unwrap(), 5, dir.path(), &control)
            .unwrap_err();
    assert_eq!(err.code(), "CANCELLED", "{err}");
    let frames = dir.path().join("video-frames");
    let left: Vec<_> =
        std::fs::read_dir(&frames).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "a cancelled extraction left {left:?}");
}
