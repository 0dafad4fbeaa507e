//! The plan directory's bytes: the examples plan to exactly the `plan.json` bytes and planHash
//! they had before `plan::layout` gave `plan.json` and `meta/encoder.json` one serde type each
//! (the pins below were captured from the build before that change). The machine's own values
//! (`ffmpegVersion`, `fontSnapshotSha`, and the planHash that covers them) are replaced by
//! placeholders in the bytes, and the pinned planHash is recomputed over the plan with fixed
//! stand-ins for them, so the pins hold on any machine with the same libav and package cache.

use std::path::{Path, PathBuf};

use framefan::plan::hash::{plan_hash, HashInputs};
use framefan::plan::manifest::HashSchema;
use framefan::plan::{OutputFormat, Plan, PlanConfig};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

/// The package cache `.ci/install-deps` fills (GSAP for the examples).
fn cache() -> PathBuf {
    std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"))
}

/// Plan `project` as `format`: `plan.json` with the machine's values replaced by placeholders,
/// and the planHash over the plan with fixed stand-ins for them.
fn planned(project: &Path, format: OutputFormat) -> (String, String) {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("plan");
    let config = PlanConfig { format, package_cache: Some(cache()), ..Default::default() };
    let result = framefan::plan::plan(project, &config, &dir).unwrap_or_else(|e| panic!("{}: {e}", project.display()));
    let plan = Plan::load(&dir).unwrap();
    let text = std::fs::read_to_string(dir.join("plan.json")).unwrap();
    let font = plan.font_snapshot_sha.clone().unwrap();
    let ffmpeg = plan.ffmpeg_version.clone().unwrap();
    let real = HashInputs {
        schema: HashSchema::Framefan,
        font_snapshot_sha: &font,
        producer_version: framefan::PRODUCER_VERSION,
        ffmpeg_version: &ffmpeg,
        dimensions: plan.dimensions,
    };
    assert_eq!(plan_hash(&dir, &real).unwrap(), result.plan_hash, "plan.json's planHash is the plan's");
    let fixed =
        HashInputs { font_snapshot_sha: "FONTS", producer_version: "PRODUCER", ffmpeg_version: "FFMPEG", ..real };
    let text = text
        .replace(&result.plan_hash, "PLAN_HASH")
        .replace(&font, "FONTS")
        .replace(&ffmpeg, "FFMPEG")
        .replace(framefan::PRODUCER_VERSION, "PRODUCER");
    (text, plan_hash(&dir, &fixed).unwrap())
}

/// `plan.json` as the build before `plan::layout` wrote it for a GSAP example with the pinned
/// runtime: pretty-printed, keys sorted, two-space indents, no trailing newline.
fn expected(format: &str, (width, height): (u32, u32), duration: &str, total: u32, chunks: u32) -> String {
    format!(
        r#"{{
  "chunkCount": {chunks},
  "dimensions": {{
    "format": "{format}",
    "fpsDen": 1,
    "fpsNum": 30,
    "height": {height},
    "width": {width}
  }},
  "duration": {duration},
  "ffmpegVersion": "FFMPEG",
  "fontSnapshotSha": "FONTS",
  "hasAudio": false,
  "planHash": "PLAN_HASH",
  "producerVersion": "PRODUCER",
  "protocol": {{
    "artifactLayout": "plan-dir-v1",
    "hashSchema": "framefan-plan-hash-v1",
    "schemaVersion": 1
  }},
  "runtime": {{
    "package": "hyperframes",
    "sha256": "4a56ffcd5e2b0d5c22cce6c2201205b85cb77ad9d7e32796c2e789fa46231935",
    "version": "0.8.170"
  }},
  "totalFrames": {total}
}}"#
    )
}

#[test]
fn the_examples_plan_to_the_plan_json_bytes_and_plan_hash_they_always_had() {
    let title = |format| planned(&example("title-card"), format);
    let card = |format| expected(format, (1280, 720), "4.0", 120, 2);
    assert_eq!(
        title(OutputFormat::Mp4),
        (card("mp4"), "f9b08ef55df0dd88104045091d3831ee7f79d1908c2a2f10502e3db3378f600f".into())
    );
    assert_eq!(
        title(OutputFormat::Mov),
        (card("mov"), "0ec6e7916373e22de952894601313e23aee79a95eb34ff60610632ba3ee56c9d".into())
    );
    assert_eq!(
        title(OutputFormat::PngSequence),
        (card("png-sequence"), "35cf4c161e33bf4272cba245641e13bb3251ca69dbe0ffb8640dd66eb9f59aa2".into())
    );
    assert_eq!(
        planned(&example("nested-scenes"), OutputFormat::Mp4),
        (
            expected("mp4", (1920, 1080), "10.0", 300, 5),
            "330fd18b6be0307adeb0f6366806355d7d51bf3510ebcc7d8b9f540b92e178dc".into()
        )
    );
}
