//! Stage tests on real files: outputs are decoded back, counted, probed and walked box by box.

#[path = "util.rs"]
mod util;

use std::path::Path;

use framefan::assemble::{assemble, AssembleOptions};
use util::*;

fn run(
    plan: &Path,
    chunks: &[std::path::PathBuf],
    audio: Option<&Path>,
    out: &Path,
) -> framefan::Result<framefan::AssembleResult> {
    assemble(plan, chunks, audio, out, &AssembleOptions::default())
}

fn rate(s: &serde_json::Value, key: &str) -> String {
    s[key].as_str().unwrap().to_string()
}

#[test]
fn two_chunks_of_five_make_exactly_a_third_of_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let spec = PlanSpec::mp4((30, 1), vec![5, 5]);
    let chunks = make_render(dir.path(), &spec);
    let out = dir.path().join("out.mp4");
    let result = run(dir.path(), &chunks, None, &out).unwrap();
    assert_eq!(result.frames_encoded, 10);
    let probe = ffprobe(&out);
    let v = stream(&probe, "video");
    assert_eq!(v["nb_read_frames"], "10");
    assert_eq!(rate(v, "r_frame_rate"), "30/1");
    assert_eq!(rate(v, "avg_frame_rate"), "30/1");
    assert_eq!(
        v["duration_ts"].as_i64().unwrap() * 3,
        v["time_base"].as_str().unwrap()[2..]
            .parse::<i64>()
            .unwrap()
    );
    let boxes: Vec<String> = top_level_boxes(&out).into_iter().map(|b| b.0).collect();
    let moov = boxes.iter().position(|b| b == "moov").unwrap();
    let mdat = boxes.iter().position(|b| b == "mdat").unwrap();
    assert!(moov < mdat, "moov must precede mdat: {boxes:?}");
}
