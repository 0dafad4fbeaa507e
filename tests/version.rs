//! `framefan version --json`: what it reports is what plans record and what a render would use.

use std::path::Path;
use std::process::Command;

use crate::util::framefan_bin;

fn version(extra: &[&str]) -> serde_json::Value {
    let out = Command::new(framefan_bin()).arg("version").arg("--json").args(extra).output().unwrap();
    assert!(out.status.success(), "framefan version failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn version_json_matches_what_a_plan_records() {
    let report = version(&[]);
    assert_eq!(report["producerVersion"], framefan::PRODUCER_VERSION);
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    // The plan of a real project records the same ffmpegVersion the binary reports.
    let dir = tempfile::tempdir().unwrap();
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache");
    let plan_dir = dir.path().join("plan");
    let out = Command::new(framefan_bin())
        .args(["plan", "examples/title-card"])
        .arg(&plan_dir)
        .arg("--package-cache")
        .arg(std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or(cache, Into::into))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "framefan plan failed: {}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(plan_dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(report["ffmpegVersion"], plan["ffmpegVersion"]);
    // ffmpegVersion is made of the libav and x264 parts reported separately.
    let ffmpeg = report["ffmpegVersion"].as_str().unwrap();
    let libav = &report["libav"];
    assert!(ffmpeg.starts_with(&format!(
        "ffmpeg {} (lavc {},",
        libav["version"].as_str().unwrap(),
        libav["libavcodec"].as_str().unwrap()
    )));
    assert!(ffmpeg.ends_with(&format!("; x264 {}", report["x264"].as_str().unwrap())));
    // libvpx and libopus (webm) and libx265 (h265) are reported beside it, not in it (a webm plan records libvpx's).
    for lib in ["libvpx", "libopus", "libx265"] {
        let v = report[lib].as_str().unwrap();
        assert!(v.starts_with(|c: char| c.is_ascii_digit()) && !ffmpeg.contains(v), "{lib} {v}");
    }
    // The test binary links the system's shared libav (the default build).
    assert_eq!(libav["linkage"], if cfg!(feature = "static") { "static" } else { "shared" });
    assert!(libav["configuration"].as_str().unwrap().contains("--enable-libx264"), "{}", libav["configuration"]);
    // What is built in: the runtime the plan froze, and HyperFrames' 42 bundled faces.
    assert_eq!(report["builtin"]["runtime"], plan["runtime"]);
    assert_eq!(report["builtin"]["fonts"]["faces"], 42);
    let families = report["builtin"]["fonts"]["families"].as_array().unwrap();
    assert_eq!(families.len(), 18);
    assert!(families.iter().any(|f| f["family"] == "EB Garamond" && f["package"] == "@fontsource/eb-garamond@5.2.7"));
}

#[test]
fn licenses_lists_and_writes_every_built_in_licence() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(framefan_bin()).args(["licenses", "--write"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = String::from_utf8(out.stdout).unwrap();
    assert_eq!(list.lines().filter(|l| l.starts_with("- `")).count(), 19, "{list}");
    let inter = std::fs::read_to_string(dir.path().join("fontsource-inter@5.3.0/LICENSE")).unwrap();
    assert!(inter.contains("SIL Open Font License") && inter.contains("Inter Project Authors"), "{inter}");
    let runtime = std::fs::read_to_string(dir.path().join("hyperframes@0.8.170/LICENSE")).unwrap();
    assert!(runtime.contains("Apache License") && runtime.contains("Version 2.0"));
}

#[test]
fn version_json_names_the_browser_a_render_would_use() {
    let report = version(&[]);
    let found = framefan::engine::browser::BrowserBinary::find(None).unwrap();
    assert_eq!(report["browser"]["path"], found.path.to_str().unwrap());
    assert!(Path::new(report["browser"]["path"].as_str().unwrap()).is_file());
    assert_eq!(report["browser"]["captureMode"], "beginFrame", "CI installs chromium-headless-shell");
    let missing = version(&["--browser", "/nonexistent/chromium"]);
    assert!(missing["browser"]["path"].is_null());
    assert!(missing["browser"]["error"].as_str().unwrap().contains("/nonexistent/chromium"), "{missing}");
}
