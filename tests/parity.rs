//! Parity with the real HyperFrames CLI: every folder `tests/parity/<name>/` (an `index.html`
//! project and its `parity.json`) is rendered by `framefan render` and by `hyperframes render`
//! (npm `hyperframes@0.8.170`, installed offline by `.ci/deps/40-hf-reference.sh` into
//! `target/hf-reference`, or `$FRAMEFAN_HF_REFERENCE`), in each listed format, and compared
//! frame by frame: PSNR over RGBA, both sides decoded to raw frames by ffmpeg, computed here.
//!
//! `parity.json`: `{"formats": ["png"|"mp4"|"h265"|"webm"|"gif"], "fps": 30, "minMeanPsnr": 45,
//! "minFramePsnr": 35, "mp4MinMeanPsnr": 40, "mp4MinFramePsnr": 32, "webmMinMeanPsnr": 40,
//! "webmMinFramePsnr": 32, "variables": {...}, "audio": true, "audioMinSnr": 20, "generate":
//! {"tone.wav": ["-f", "lavfi", "-i", "sine", …]}}` (the mp4 and webm bounds default to 40/32;
//! gif takes the png bounds). WebM is decoded by libvpx on both sides, so its alpha plane is in
//! the comparison. `generate` makes media files in the project copy before each run,
//! each by `ffmpeg -v error <args> <file>`, so no binary fixture is committed. With `"audio":
//! true` each mp4's soundtrack is compared too: both decoded by ffmpeg to 48 kHz stereo float,
//! each channel's RMS level must agree within [`AUDIO_MAX_LEVEL_DB`] and the SNR of framefan's
//! samples against HyperFrames' (the same signal through two AAC encodes) must reach
//! `audioMinSnr` dB (default 20). Both tools read CDN scripts from the same npm bytes: framefan's package cache here is
//! the reference folder, whose `node_modules` holds GSAP, anime.js and lottie-web but no
//! `@fontsource` faces, so framefan draws every bundled family with the faces built into it, as
//! a user's binary does. A missing reference install is a failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util::{framefan_bin, hf_reference, hf_reference_env};

// `--player-ready-timeout 8000`: a composition whose timeline never registers (the root or a
// sub-composition without one) makes HyperFrames wait its 45 s default before rendering the page
// as it stands; 8 s gives the same frames sooner.

/// One composition's settings.
struct Case {
    name: String,
    dir: PathBuf,
    formats: Vec<String>,
    fps: u32,
    bounds_png: (f64, f64),
    bounds_mp4: (f64, f64),
    bounds_webm: (f64, f64),
    variables: Option<serde_json::Value>,
    /// Whether each mp4's soundtrack is compared (with its SNR bound in dB).
    audio: Option<f64>,
    /// Media files to make in the project before a run: name → ffmpeg arguments.
    generate: Vec<(String, Vec<String>)>,
}

/// How far apart a channel's RMS level may be, in dB.
const AUDIO_MAX_LEVEL_DB: f64 = 0.2;

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("parity.json").is_file())
        .collect();
    dirs.sort();
    if let Some(only) = std::env::var_os("FRAMEFAN_PARITY_ONLY") {
        let only = only.to_string_lossy().into_owned();
        dirs.retain(|d| only.split(',').any(|o| d.ends_with(o)));
    }
    dirs.into_iter().map(|dir| case(&dir)).collect()
}

fn case(dir: &Path) -> Case {
    let text = std::fs::read_to_string(dir.join("parity.json")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let num = |k: &str, d: f64| j.get(k).and_then(|v| v.as_f64()).unwrap_or(d);
    Case {
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        dir: dir.to_path_buf(),
        formats: j["formats"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect(),
        fps: num("fps", 30.0) as u32,
        bounds_png: (num("minMeanPsnr", 45.0), num("minFramePsnr", 35.0)),
        bounds_mp4: (num("mp4MinMeanPsnr", 40.0), num("mp4MinFramePsnr", 32.0)),
        bounds_webm: (num("webmMinMeanPsnr", 40.0), num("webmMinFramePsnr", 32.0)),
        variables: j.get("variables").cloned(),
        audio: j.get("audio").and_then(|a| a.as_bool()).filter(|a| *a).map(|_| num("audioMinSnr", 20.0)),
        generate: j
            .get("generate")
            .and_then(|g| g.as_object())
            .into_iter()
            .flatten()
            .map(|(name, args)| {
                let args = args.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
                (name.clone(), args)
            })
            .collect(),
    }
}

/// Make the case's generated media in `project`.
fn generate(c: &Case, project: &Path) {
    for (name, args) in &c.generate {
        let o = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).arg(project.join(name)).output().unwrap();
        assert!(o.status.success(), "{}: generating {name}: {}", c.name, String::from_utf8_lossy(&o.stderr));
    }
}

/// A fresh copy of the project (neither tool may leave anything in the repository).
fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if e.file_type().unwrap().is_dir() {
            copy_project(&e.path(), &to.join(&name));
        } else if name != "parity.json" {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// The output's file name and `--format` of a listed format; `h265` is an mp4 that framefan
/// renders with `--codec h265` and HyperFrames' CLI (which has no codec choice) as H.264.
fn output_name(format: &str) -> (&'static str, &'static str) {
    match format {
        "mp4" => ("out.mp4", "mp4"),
        "h265" => ("out-h265.mp4", "mp4"),
        "webm" => ("out.webm", "webm"),
        "gif" => ("out.gif", "gif"),
        _ => ("frames", "png-sequence"),
    }
}

fn run_framefan(c: &Case, project: &Path, format: &str, work: &Path, cache: &Path) -> (PathBuf, f64) {
    let (name, fmt) = output_name(format);
    let out = work.join(format!("framefan-{name}"));
    let mut cmd = Command::new(framefan_bin());
    cmd.arg("render").arg(project).arg("-o").arg(&out).args(["--format", fmt, "--fps", &c.fps.to_string()]);
    cmd.arg("--package-cache").arg(cache).args(["--progress", "none"]);
    if format == "h265" {
        cmd.args(["--codec", "h265"]);
    }
    if let Some(v) = &c.variables {
        cmd.args(["--variables", &v.to_string()]);
    }
    let t = Instant::now();
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}: framefan render failed: {}", c.name, String::from_utf8_lossy(&o.stderr));
    (out, t.elapsed().as_secs_f64())
}

fn run_hyperframes(c: &Case, project: &Path, format: &str, work: &Path) -> (PathBuf, f64) {
    let env = hf_reference_env();
    let (name, fmt) = output_name(format);
    let out = work.join(format!("hyperframes-{name}"));
    let mut script = format!(
        "source '{}' && cd '{}' && $HF render . -o '{}' --format {fmt} --fps {} --workers 1 --quiet --player-ready-timeout 8000",
        env.display(),
        project.display(),
        out.display(),
        c.fps
    );
    if let Some(v) = &c.variables {
        script.push_str(&format!(" --variables '{v}'"));
    }
    let t = Instant::now();
    // The CLI cancels its render when any process above it exits (its ancestor watch); this
    // harness owns the process and waits for it, whatever runs the test suite.
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("HOME", work)
        // Its temporary folders (e.g. the audio pass's `hf-fx-host-*`, which it leaves) go with `work`.
        .env("TMPDIR", work)
        .env("HYPERFRAMES_RENDER_DETACHED", "1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}: hyperframes render failed: {}{}",
        c.name,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (out, t.elapsed().as_secs_f64())
}

/// Every frame of `out` (a png directory, an mp4 or a webm) as raw RGBA, decoded by ffmpeg
/// (a webm by libvpx, which reads its alpha).
fn frames(out: &Path, w: u32, h: u32) -> Vec<Vec<u8>> {
    let input = if out.is_dir() { out.join("frame_%06d.png") } else { out.to_path_buf() };
    let decoder: &[&str] = if out.extension().is_some_and(|e| e == "webm") { &["-c:v", "libvpx-vp9"] } else { &[] };
    let o = Command::new("ffmpeg")
        .args(["-v", "error"])
        .args(decoder)
        .arg("-i")
        .arg(&input)
        .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "decoding {}: {}", input.display(), String::from_utf8_lossy(&o.stderr));
    let size = (w * h * 4) as usize;
    assert_eq!(o.stdout.len() % size, 0, "{}: not whole {w}x{h} frames", out.display());
    o.stdout.chunks(size).map(<[u8]>::to_vec).collect()
}

/// PSNR of two equally sized byte images (identical images: 99 dB, as a cap).
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let se: u64 = a.iter().zip(b).map(|(x, y)| (i64::from(*x) - i64::from(*y)).pow(2) as u64).sum();
    if se == 0 {
        return 99.0;
    }
    let mse = se as f64 / a.len() as f64;
    (10.0 * (255.0f64 * 255.0 / mse).log10()).min(99.0)
}

fn size_of(out: &Path) -> (u32, u32) {
    let probe = crate::util::ffprobe(&if out.is_dir() { out.join("frame_000001.png") } else { out.to_path_buf() });
    let v = &probe["streams"][0];
    (v["width"].as_u64().unwrap() as u32, v["height"].as_u64().unwrap() as u32)
}

/// An output's soundtrack as 48 kHz stereo float samples (left, right), decoded by ffmpeg.
fn soundtrack(out: &Path) -> [Vec<f32>; 2] {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(out)
        .args(["-vn", "-ac", "2", "-ar", "48000", "-f", "f32le", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "decoding the audio of {}: {}", out.display(), String::from_utf8_lossy(&o.stderr));
    let samples: Vec<f32> = o.stdout.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    [samples.iter().step_by(2).copied().collect(), samples.iter().skip(1).step_by(2).copied().collect()]
}

/// RMS level in dBFS (−999 for silence).
fn level_db(x: &[f32]) -> f64 {
    let power = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len().max(1) as f64;
    if power > 0.0 {
        10.0 * power.log10()
    } else {
        -999.0
    }
}

/// Signal-to-noise ratio of `test` against `reference`, in dB (99 when equal).
fn snr_db(reference: &[f32], test: &[f32]) -> f64 {
    let signal: f64 = reference.iter().map(|v| f64::from(*v).powi(2)).sum();
    let noise: f64 = reference.iter().zip(test).map(|(r, t)| (f64::from(*r) - f64::from(*t)).powi(2)).sum();
    if noise == 0.0 {
        99.0
    } else {
        10.0 * (signal / noise).log10()
    }
}

/// Each channel's level and SNR; a failure message per channel out of bounds.
fn compare_audio(name: &str, ff: &Path, hf: &Path, min_snr: f64) -> Vec<String> {
    let (a, b) = (soundtrack(ff), soundtrack(hf));
    let mut failures = Vec::new();
    for (side, (x, y)) in ["left", "right"].iter().zip(a.iter().zip(&b)) {
        let n = x.len().min(y.len());
        let (x, y) = (&x[..n], &y[..n]);
        let (lx, ly, snr) = (level_db(x), level_db(y), snr_db(y, x));
        println!("parity {name:<28} audio {side:<5} framefan {lx:7.2} dB  hyperframes {ly:7.2} dB  SNR {snr:6.2} dB");
        if (lx - ly).abs() > AUDIO_MAX_LEVEL_DB || snr < min_snr {
            failures.push(format!(
                "{name} audio {side}: {lx:.2} dB vs {ly:.2} dB (within {AUDIO_MAX_LEVEL_DB}), SNR {snr:.2} (≥ {min_snr})"
            ));
        }
    }
    failures
}

#[test]
fn parity_with_the_hyperframes_cli() {
    let cases = cases();
    assert!(cases.len() >= 20 || std::env::var_os("FRAMEFAN_PARITY_ONLY").is_some(), "{} parity cases", cases.len());
    let cache = hf_reference();
    assert!(!cache.join("node_modules/@fontsource").exists(), "the reference folder must not supply the faces");
    let mut failures = Vec::new();
    for c in &cases {
        for format in &c.formats {
            let work = tempfile::tempdir().unwrap();
            let project = work.path().join("project");
            copy_project(&c.dir, &project);
            generate(c, &project);
            let (ff, ff_s) = run_framefan(c, &project, format, work.path(), &cache);
            let ref_project = work.path().join("ref-project");
            copy_project(&c.dir, &ref_project);
            generate(c, &ref_project);
            let (hf, hf_s) = run_hyperframes(c, &ref_project, format, work.path());
            let (w, h) = size_of(&hf);
            assert_eq!(size_of(&ff), (w, h), "{}: frame sizes differ", c.name);
            let (a, b) = (frames(&ff, w, h), frames(&hf, w, h));
            assert_eq!(a.len(), b.len(), "{} {format}: framefan {} frames, hyperframes {}", c.name, a.len(), b.len());
            let scores: Vec<f64> = a.iter().zip(&b).map(|(x, y)| psnr(x, y)).collect();
            let mean = scores.iter().sum::<f64>() / scores.len() as f64;
            let (worst_at, worst) =
                scores.iter().enumerate().fold((0, f64::MAX), |m, (i, s)| if *s < m.1 { (i, *s) } else { m });
            let (min_mean, min_frame) = match format.as_str() {
                "mp4" | "h265" => c.bounds_mp4,
                "webm" => c.bounds_webm,
                _ => c.bounds_png,
            };
            // A GIF is made from the frames by the same libav passes on both sides, so equal
            // frames give an equal file; said, not required (the frames are what is bounded).
            let same_file = format == "gif" && std::fs::read(&ff).unwrap() == std::fs::read(&hf).unwrap();
            println!(
                "parity {:<28} {format:<4} {w}x{h} {:>3} frames  mean {mean:6.2} dB  min {worst:6.2} dB (frame {})  framefan {ff_s:5.2} s  hyperframes {hf_s:5.2} s{}",
                c.name,
                scores.len(),
                worst_at + 1,
                if same_file { "  identical file" } else { "" }
            );
            if mean < min_mean || worst < min_frame {
                failures.push(format!(
                    "{} {format}: mean {mean:.2} (≥ {min_mean}), min {worst:.2} at frame {} (≥ {min_frame})",
                    c.name,
                    worst_at + 1
                ));
            }
            if let (Some(min_snr), "mp4" | "h265" | "webm") = (c.audio, format.as_str()) {
                failures.extend(compare_audio(&c.name, &ff, &hf, min_snr));
            }
        }
    }
    assert!(failures.is_empty(), "below the parity bounds:\n{}", failures.join("\n"));
}

#[test]
fn psnr_is_infinite_capped_for_equal_and_finite_for_different() {
    assert_eq!(psnr(&[1, 2, 3], &[1, 2, 3]), 99.0);
    let p = psnr(&[0; 100], &[[0u8; 99].as_slice(), &[255]].concat());
    assert!((p - 20.0).abs() < 1e-9, "{p}");
}
