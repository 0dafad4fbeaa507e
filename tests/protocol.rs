//! Protocol first (contracts §2, §5): every reader of `plan.json` — `assemble`, `render-chunk`,
//! `verify --plan` — checks `protocol` before anything else in the file, so a plan of a later
//! schema, which need not have v1's fields, is `PLAN_PROTOCOL_UNSUPPORTED` (exit 3), never
//! `PLAN_INVALID` over a missing field. A plan without `protocol` is a legacy v1 plan.

use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::assemble::{assemble, AssembleOptions};
use framefan::render::render_chunk;
use framefan::verify::verify;
use framefan::{ChunkOptions, Code};

use crate::util::{framefan_bin, make_render, PlanSpec};

/// `plan.json` texts whose protocol framefan does not read, most with no other field at all.
const UNSUPPORTED: [&str; 12] = [
    r#"{"protocol":{"schemaVersion":9}}"#,
    r#"{"protocol":{"schemaVersion":9,"artifactLayout":"plan-dir-v9","hashSchema":"x"},"planHash":1}"#,
    r#"{"protocol":{"schemaVersion":"1","artifactLayout":"plan-dir-v1","hashSchema":"framefan-plan-hash-v1"}}"#,
    r#"{"protocol":{"schemaVersion":1.5}}"#,
    r#"{"protocol":{"schemaVersion":-1}}"#,
    r#"{"protocol":{"schemaVersion":4294967297,"artifactLayout":"plan-dir-v1"}}"#,
    r#"{"protocol":{"artifactLayout":"plan-dir-v1","hashSchema":"framefan-plan-hash-v1"}}"#,
    r#"{"protocol":{"schemaVersion":1,"artifactLayout":"plan-dir-v2"}}"#,
    r#"{"protocol":{"schemaVersion":1,"artifactLayout":"plan-dir-v1"}}"#,
    r#"{"protocol":{"schemaVersion":1,"artifactLayout":"plan-dir-v1","hashSchema":"sha3-plan-hash"}}"#,
    r#"{"protocol":9,"dimensions":"later"}"#,
    r#"{"protocol":[1,"plan-dir-v1"]}"#,
];

/// A two-chunk mp4 plan with its chunks, the files render-chunk needs, and an assembled output
/// made while the plan was still good.
struct Fixture {
    dir: tempfile::TempDir,
    chunks: Vec<PathBuf>,
    output: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let chunks = make_render(dir.path(), &PlanSpec::mp4((30, 1), vec![5, 5]));
    let output = dir.path().join("good.mp4");
    assemble(dir.path(), &chunks, None, &output, &AssembleOptions::default()).unwrap();
    // Present, so that render-chunk's first check (artifacts) passes and the protocol is next.
    for rel in ["meta/encoder.json", "meta/videos.json", "compiled/index.html"] {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "{}").unwrap();
    }
    Fixture { dir, chunks, output }
}

fn cli(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = Command::new(framefan_bin()).args(args).arg("--json").output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_unsupported(reader: &str, plan_json: &str, result: framefan::Result<()>) {
    let err = result.expect_err(&format!("{reader} accepted {plan_json}"));
    assert_eq!(err.kind(), Code::PlanProtocolUnsupported, "{reader} on {plan_json}: {err}");
    assert!(!err.is_retryable());
    assert!(err.message().contains("plan.json") && err.message().contains("protocol."), "{err}");
}

fn assert_cli_unsupported(reader: &str, plan_json: &str, (code, stderr): (Option<i32>, String)) {
    assert_eq!(code, Some(3), "{reader} on {plan_json}: {stderr}");
    assert!(stderr.contains(r#""code":"PLAN_PROTOCOL_UNSUPPORTED""#), "{reader} on {plan_json}: {stderr}");
}

#[test]
fn every_reader_refuses_an_unknown_protocol_before_reading_the_rest() {
    let f = fixture();
    let plan = f.dir.path();
    let out = plan.join("out.mp4");
    let chunk = plan.join("again.mp4");
    for text in UNSUPPORTED {
        std::fs::write(plan.join("plan.json"), text).unwrap();
        let opts = AssembleOptions::default();
        assert_unsupported("assemble", text, assemble(plan, &f.chunks, None, &out, &opts).map(|_| ()));
        let chunk_opts = ChunkOptions::default();
        assert_unsupported("render_chunk", text, render_chunk(plan, 0, &chunk, &chunk_opts).map(|_| ()));
        assert_unsupported("verify", text, verify(&f.output, Some(plan)).map(|_| ()));

        let mut args: Vec<&std::ffi::OsStr> = vec!["assemble".as_ref(), plan.as_os_str(), out.as_os_str()];
        args.push("--chunks".as_ref());
        args.extend(f.chunks.iter().map(|c| c.as_os_str()));
        assert_cli_unsupported("framefan assemble", text, cli(&args));
        let args: Vec<&std::ffi::OsStr> =
            vec!["render-chunk".as_ref(), plan.as_os_str(), chunk.as_os_str(), "--index".as_ref(), "0".as_ref()];
        assert_cli_unsupported("framefan render-chunk", text, cli(&args));
        let args: Vec<&std::ffi::OsStr> =
            vec!["verify".as_ref(), f.output.as_os_str(), "--plan".as_ref(), plan.as_os_str()];
        assert_cli_unsupported("framefan verify", text, cli(&args));
        assert!(!out.exists() && !chunk.exists(), "a refused plan left an output");
    }
}

/// Rewrite `plan.json` without its `protocol` key.
fn strip_protocol(plan: &Path) {
    let file = plan.join("plan.json");
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("protocol");
    std::fs::write(&file, serde_json::to_vec(&json).unwrap()).unwrap();
}

#[test]
fn a_legacy_plan_without_protocol_is_read_as_v1_by_every_reader() {
    let f = fixture();
    let plan = f.dir.path();
    strip_protocol(plan);
    let loaded = framefan::plan::Plan::load(plan).unwrap();
    assert_eq!(loaded.hash_schema, framefan::plan::manifest::HashSchema::Hyperframes);
    let out = plan.join("legacy.mp4");
    assert_eq!(assemble(plan, &f.chunks, None, &out, &AssembleOptions::default()).unwrap().frames_encoded, 10);
    assert!(verify(&out, Some(plan)).unwrap().consistent);
    // render-chunk gets past the protocol to its next check (this fixture's chunk index 7).
    let err = render_chunk(plan, 7, &plan.join("c.mp4"), &ChunkOptions::default()).unwrap_err();
    assert_eq!(err.kind(), Code::ChunkIndexOutOfRange, "{err}");
}
