//! The format table and `meta/encoder.json`: the examples plan to exactly the encoder.json bytes
//! they had when its fields were strings (the strings below were written by framefan before the
//! format enums existed), and render-chunk refuses an encoder.json with an unknown spelling, or
//! one that does not make the plan's format, with `PLAN_INVALID` naming the field and the value.

use std::path::{Path, PathBuf};

use framefan::plan::{OutputFormat, PlanConfig};
use framefan::render::{render_chunk, ChunkOptions};

use crate::page_plan::{rehash, write_page_plan, PagePlan};

/// `"runtime":…` as every plan of the pinned HyperFrames runtime records it.
macro_rules! runtime {
    () => {
        concat!(
            r#""runtime":{"package":"hyperframes","#,
            r#""sha256":"4a56ffcd5e2b0d5c22cce6c2201205b85cb77ad9d7e32796c2e789fa46231935","version":"0.8.170"}"#
        )
    };
}

/// title-card as mp4 with the default (`looks`) quality.
const TITLE_CARD_MP4: &str = concat!(
    r#"{"bitrate":null,"captureFormat":"jpeg","captureMode":"beginFrame","chunkCount":2,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":16,"deviceScaleFactor":1,"#,
    r#""encoder":"libx264","encoderThreads":2,"gopSize":60,"jpegQuality":90,"pixelFormat":"yuv420p","#,
    r#""preset":"medium","quality":"standard","#,
    runtime!(),
    r#","systemFonts":false,"variables":{},"x264Params":"aq-mode=3:aq-strength=0.8:deblock=1,1"}"#
);

/// title-card as mp4 at 2500 kb/s.
const TITLE_CARD_MP4_BITRATE: &str = concat!(
    r#"{"bitrate":2500000,"captureFormat":"jpeg","captureMode":"beginFrame","chunkCount":2,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":null,"deviceScaleFactor":1,"#,
    r#""encoder":"libx264","encoderThreads":2,"gopSize":60,"jpegQuality":90,"pixelFormat":"yuv420p","#,
    r#""preset":"medium","quality":"standard","#,
    runtime!(),
    r#","systemFonts":false,"variables":{},"x264Params":"aq-mode=3:aq-strength=0.8:deblock=1,1"}"#
);

/// title-card as mov.
const TITLE_CARD_MOV: &str = concat!(
    r#"{"bitrate":null,"captureFormat":"png","captureMode":"beginFrame","chunkCount":2,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":null,"deviceScaleFactor":1,"#,
    r#""encoder":"prores_ks","encoderThreads":2,"gopSize":60,"jpegQuality":90,"pixelFormat":"yuva444p10le","#,
    r#""preset":"","quality":"standard","#,
    runtime!(),
    r#","systemFonts":false,"variables":{}}"#
);

/// title-card as png-sequence.
const TITLE_CARD_PNG: &str = concat!(
    r#"{"bitrate":null,"captureFormat":"png","captureMode":"beginFrame","chunkCount":2,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":null,"deviceScaleFactor":1,"#,
    r#""encoder":"png","encoderThreads":2,"gopSize":60,"jpegQuality":90,"pixelFormat":"rgba","#,
    r#""preset":"","quality":"standard","#,
    runtime!(),
    r#","systemFonts":false,"variables":{}}"#
);

/// title-card as gif: png-sequence's chunks, and the loop count (a key only GIF plans have).
const TITLE_CARD_GIF: &str = concat!(
    r#"{"bitrate":null,"captureFormat":"png","captureMode":"beginFrame","chunkCount":2,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":null,"deviceScaleFactor":1,"#,
    r#""encoder":"png","encoderThreads":2,"gifLoop":0,"gopSize":60,"jpegQuality":90,"pixelFormat":"rgba","#,
    r#""preset":"","quality":"standard","#,
    runtime!(),
    r#","systemFonts":false,"variables":{}}"#
);

/// title-card as webm: libvpx's deadline in `preset`, its `cpu-used` and version locked (keys
/// only WebM plans have, so the others keep their bytes). The version is Debian 12's libvpx-dev.
const TITLE_CARD_WEBM: &str = concat!(
    r#"{"bitrate":null,"captureFormat":"png","captureMode":"beginFrame","chunkCount":2,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":16,"deviceScaleFactor":1,"#,
    r#""encoder":"libvpx-vp9","encoderThreads":2,"gopSize":60,"jpegQuality":90,"#,
    r#""libvpxVersion":"1.12.0","pixelFormat":"yuva420p","#,
    r#""preset":"good","quality":"standard","#,
    runtime!(),
    r#","systemFonts":false,"variables":{},"vp9CpuUsed":4}"#
);

/// title-card as webm, draft at 2 Mb/s: the `realtime` deadline, as HyperFrames maps draft.
const TITLE_CARD_WEBM_DRAFT: &str = concat!(
    r#"{"bitrate":2000000,"captureFormat":"png","captureMode":"beginFrame","chunkCount":2,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":null,"deviceScaleFactor":1,"#,
    r#""encoder":"libvpx-vp9","encoderThreads":2,"gopSize":60,"jpegQuality":80,"#,
    r#""libvpxVersion":"1.12.0","pixelFormat":"yuva420p","#,
    r#""preset":"realtime","quality":"draft","#,
    runtime!(),
    r#","systemFonts":false,"variables":{},"vp9CpuUsed":4}"#
);

/// title-card as mp4 with `--codec h265`: libx265 with the tier's tuning and the libx265 it was
/// made with (keys only H.265 plans have). The version is Debian 12's libx265-dev.
const TITLE_CARD_H265: &str = concat!(
    r#"{"bitrate":null,"captureFormat":"jpeg","captureMode":"beginFrame","chunkCount":2,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":16,"deviceScaleFactor":1,"#,
    r#""encoder":"libx265","encoderThreads":2,"gopSize":60,"jpegQuality":90,"pixelFormat":"yuv420p","#,
    r#""preset":"medium","quality":"standard","#,
    runtime!(),
    r#","systemFonts":false,"variables":{},"x265Params":"aq-mode=3:aq-strength=0.8:deblock=1,1","#,
    r#""x265Version":"3.5"}"#
);

/// title-card at 321×241, as mp4: padded to even, so captured as PNG.
const ODD_MP4: &str = concat!(
    r#"{"bitrate":null,"captureFormat":"png","captureMode":"beginFrame","chunkCount":1,"chunkSize":60,"#,
    r#""closedGop":true,"colorRange":"tv","colorSpace":"bt709","crf":16,"deviceScaleFactor":1,"#,
    r#""encoder":"libx264","encoderThreads":2,"gopSize":60,"jpegQuality":90,"pageSize":[321,241],"#,
    r#""pixelFormat":"yuv420p","preset":"medium","quality":"standard","#,
    runtime!(),
    r#","systemFonts":false,"variables":{},"x264Params":"aq-mode=3:aq-strength=0.8:deblock=1,1"}"#
);

fn title_card() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/title-card")
}

/// The package cache `.ci/install-deps` fills (GSAP for the examples).
fn cache() -> PathBuf {
    std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"))
}

/// Plan `project` with `config` (and the package cache); the bytes of its `meta/encoder.json`.
fn encoder_json(project: &Path, config: PlanConfig) -> String {
    let out = tempfile::tempdir().unwrap();
    let plan_dir = out.path().join("plan");
    let config = PlanConfig { package_cache: Some(cache()), ..config };
    framefan::plan::plan(project, &config, &plan_dir).unwrap_or_else(|e| panic!("{}: {e}", project.display()));
    String::from_utf8(std::fs::read(plan_dir.join("meta/encoder.json")).unwrap()).unwrap()
}

#[test]
fn the_examples_plan_to_the_encoder_json_bytes_they_always_had() {
    let format = |format| PlanConfig { format, ..Default::default() };
    assert_eq!(encoder_json(&title_card(), format(OutputFormat::Mp4)), TITLE_CARD_MP4);
    assert_eq!(encoder_json(&title_card(), format(OutputFormat::Mov)), TITLE_CARD_MOV);
    assert_eq!(encoder_json(&title_card(), format(OutputFormat::PngSequence)), TITLE_CARD_PNG);
    assert_eq!(encoder_json(&title_card(), format(OutputFormat::Gif)), TITLE_CARD_GIF);
    let bitrate = PlanConfig { bitrate: Some(2_500_000), ..Default::default() };
    assert_eq!(encoder_json(&title_card(), bitrate), TITLE_CARD_MP4_BITRATE);
    assert_eq!(encoder_json(&title_card(), format(OutputFormat::Webm)), TITLE_CARD_WEBM);
    let draft = PlanConfig {
        format: OutputFormat::Webm,
        quality: framefan::plan::config::Quality::Draft,
        bitrate: Some(2_000_000),
        ..Default::default()
    };
    assert_eq!(encoder_json(&title_card(), draft), TITLE_CARD_WEBM_DRAFT);
    let h265 = PlanConfig { codec: Some(framefan::plan::format::Codec::H265), ..Default::default() };
    assert_eq!(encoder_json(&title_card(), h265), TITLE_CARD_H265);

    let odd = tempfile::tempdir().unwrap();
    let html = std::fs::read_to_string(title_card().join("index.html")).unwrap();
    let size = r#"data-width="1280" data-height="720" data-duration="4""#;
    assert!(html.contains(size), "title-card's root changed; this test resizes it");
    let html = html.replace(size, r#"data-width="321" data-height="241" data-duration="1""#);
    std::fs::write(odd.path().join("index.html"), html).unwrap();
    assert_eq!(encoder_json(odd.path(), format(OutputFormat::Mp4)), ODD_MP4);
}

/// A one-chunk plan of `format` whose `meta/encoder.json` had `from` replaced by `to` (and was
/// hashed again, so that only the replaced value is wrong); render-chunk's error.
fn render_edited(dir: &Path, format: OutputFormat, from: &str, to: &str) -> framefan::Error {
    let plan = dir.join(format!("plan-{}", to.replace(['"', ':'], "")));
    let page = PagePlan { format, ..PagePlan::mp4("<html><body></body></html>", 2, 2) };
    write_page_plan(&plan, &page);
    let path = plan.join("meta/encoder.json");
    let json = std::fs::read_to_string(&path).unwrap();
    assert!(json.contains(from), "{json}");
    std::fs::write(&path, json.replace(from, to)).unwrap();
    rehash(&plan, &page);
    let out = dir.join(format!("chunk-{}", to.replace(['"', ':'], "")));
    let options = ChunkOptions { browsers: Some(1), ..Default::default() };
    let err = render_chunk(&plan, 0, &out, &options).map(drop).unwrap_err();
    assert!(!out.exists(), "{} written after {err}", out.display());
    err
}

#[test]
fn an_unknown_spelling_in_encoder_json_is_plan_invalid_naming_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let mp4 = OutputFormat::Mp4;
    for (from, to, said) in [
        (
            r#""encoder":"libx264""#,
            r#""encoder":"libx266""#,
            r#"encoder "libx266" is not one of libx264, prores_ks, png, libvpx-vp9, libx265"#,
        ),
        (r#""pixelFormat":"yuv420p""#, r#""pixelFormat":"YUV420P""#, r#"pixelFormat "YUV420P" is not one of"#),
        (r#""captureFormat":"jpeg""#, r#""captureFormat":"webp""#, r#"captureFormat "webp" is not one of jpeg, png"#),
        (r#""colorSpace":"bt709""#, r#""colorSpace":"bt2020""#, r#"colorSpace "bt2020" is not one of bt709"#),
        (r#""colorRange":"tv""#, r#""colorRange":7"#, "colorRange"),
    ] {
        let err = render_edited(dir.path(), mp4, from, to);
        assert_eq!(err.code(), "PLAN_INVALID", "{to}: {err}");
        assert!(!err.is_retryable());
        assert!(err.message().contains(said) && err.message().contains("encoder.json"), "{to}: {err}");
    }
}

/// A webm plan records the libvpx it was made with; a worker linking another refuses it before
/// any frame, as it refuses another libav.
#[test]
fn a_webm_plan_of_another_libvpx_is_an_ffmpeg_version_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let linked = format!(r#""libvpxVersion":"{}""#, framefan::av::VPX_VERSION);
    let err = render_edited(dir.path(), OutputFormat::Webm, &linked, r#""libvpxVersion":"0.9.7""#);
    assert_eq!(err.code(), "FFMPEG_VERSION_MISMATCH", "{err}");
    assert!(err.message().contains(r#"libvpx "0.9.7""#), "{err}");
}

/// An h265 plan records the libx265 it was made with, as a webm plan records libvpx.
#[test]
fn an_h265_plan_of_another_libx265_is_an_ffmpeg_version_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    let page = PagePlan {
        codec: Some(framefan::plan::format::Codec::H265),
        ..PagePlan::mp4("<html><body></body></html>", 2, 2)
    };
    write_page_plan(&plan, &page);
    let path = plan.join("meta/encoder.json");
    let json = std::fs::read_to_string(&path).unwrap();
    let linked = format!(r#""x265Version":"{}""#, framefan::av::X265_VERSION);
    assert!(json.contains(&linked) && json.contains(r#""encoder":"libx265""#), "{json}");
    std::fs::write(&path, json.replace(&linked, r#""x265Version":"2.9""#)).unwrap();
    rehash(&plan, &page);
    let out = dir.path().join("chunk.mp4");
    let options = ChunkOptions { browsers: Some(1), ..Default::default() };
    let err = render_chunk(&plan, 0, &out, &options).map(drop).unwrap_err();
    assert_eq!(err.code(), "FFMPEG_VERSION_MISMATCH", "{err}");
    assert!(err.message().contains(r#"libx265 "2.9""#), "{err}");
    assert!(!out.exists());
}

#[test]
fn an_encoder_json_of_another_format_is_plan_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (OutputFormat::Mp4, r#""encoder":"libx264""#, r#""encoder":"prores_ks""#, "encoder prores_ks does not make"),
        (OutputFormat::Mp4, r#""pixelFormat":"yuv420p""#, r#""pixelFormat":"rgba""#, "pixelFormat rgba"),
        // JPEG captures would lose the alpha ProRes 4444 keeps.
        (OutputFormat::Mov, r#""captureFormat":"png""#, r#""captureFormat":"jpeg""#, "captureFormat jpeg"),
        (OutputFormat::PngSequence, r#""encoder":"png""#, r#""encoder":"libx264""#, "encoder libx264"),
        (OutputFormat::Webm, r#""encoder":"libvpx-vp9""#, r#""encoder":"libx264""#, "encoder libx264"),
        (OutputFormat::Mov, r#""encoder":"prores_ks""#, r#""encoder":"libx265""#, "encoder libx265"),
        (OutputFormat::Webm, r#""pixelFormat":"yuva420p""#, r#""pixelFormat":"yuv420p""#, "pixelFormat yuv420p"),
    ];
    for (format, from, to, said) in cases {
        let err = render_edited(dir.path(), format, from, to);
        assert_eq!(err.code(), "PLAN_INVALID", "{format} {to}: {err}");
        let message = err.message();
        assert!(message.contains(said) && message.contains(&format!("format {format}")), "{to}: {err}");
    }
}

#[test]
fn verify_names_a_codec_that_is_not_the_plan_formats() {
    use framefan::assemble::{assemble, AssembleOptions};
    let dir = tempfile::tempdir().unwrap();
    let spec = crate::util::PlanSpec::mp4((30, 1), vec![5, 5]);
    let chunks = crate::util::make_render(dir.path(), &spec);
    let out = dir.path().join("out.mp4");
    assemble(dir.path(), &chunks, None, &out, &AssembleOptions::default()).unwrap();
    let report = framefan::verify::verify(&out, Some(dir.path())).unwrap();
    assert!(report.consistent && report.codec == "h264", "{:?}", report.problems);

    let mov = dir.path().join("mov-plan");
    crate::util::write_plan(&mov, &crate::util::PlanSpec { format: OutputFormat::Mov, ..spec });
    let report = framefan::verify::verify(&out, Some(&mov)).unwrap();
    assert!(!report.consistent);
    assert_eq!(report.problems, ["h264 video, the plan's format mov is prores"]);
}
