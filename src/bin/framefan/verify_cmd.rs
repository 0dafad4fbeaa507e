//! `framefan verify`: read an output back and check it (against a plan when given).

use std::process::ExitCode;

use clap::Args;
use framefan::{Location, VerifyReport};

use crate::exit;

/// Arguments of `framefan verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The mp4/mov/webm file to read back (a path or a URL).
    file: String,
    /// A plan directory (or its URL) to compare frame count, frame rate and size with.
    #[arg(long)]
    plan: Option<String>,
    /// Print the report (or the error) as one JSON line.
    #[arg(long)]
    json: bool,
}

/// Run `framefan verify`: exit 0 when the file is consistent, 3 when it is not.
pub fn run(args: VerifyArgs) -> ExitCode {
    let verified = Location::parse(&args.file).and_then(|file| {
        let plan = args.plan.as_deref().map(Location::parse).transpose()?;
        framefan::verify(&file, plan.as_ref())
    });
    match verified {
        Ok(report) => {
            print(&report, args.json);
            ExitCode::from(if report.consistent { exit::OK } else { exit::FAILED })
        }
        Err(err) => exit::report(&err, args.json),
    }
}

fn print(r: &VerifyReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    println!("{}: {} {} {}x{}", r.path.display(), r.container, r.codec, r.width, r.height);
    println!("  frames {}, r_frame_rate {}, avg_frame_rate {}", r.frames, r.r_frame_rate, r.avg_frame_rate);
    let c = &r.color;
    if !c.matrix.is_empty() {
        println!(
            "  colour: matrix {}, range {}, primaries {}, transfer {}",
            c.matrix, c.range, c.primaries, c.transfer
        );
    }
    let exact = if r.duration_exact { "exactly frames/fps" } else { "NOT frames/fps" };
    println!("  duration {:.6} s ({exact}), index first: {}", r.duration_seconds, r.index_first);
    match (r.audio_duration_seconds, r.audio_offset_ms) {
        (Some(a), Some(o)) => println!("  audio {a:.6} s ({o:+.3} ms against the video)"),
        _ => println!("  no audio"),
    }
    if let Some(p) = &r.plan {
        let verdict = if p.matches { "matches" } else { "does NOT match" };
        println!("  {verdict} plan {} ({} frames at {}, {}x{})", p.plan_hash, p.total_frames, p.fps, p.width, p.height);
    }
    for problem in &r.problems {
        println!("  problem: {problem}");
    }
    println!("{}", if r.consistent { "consistent" } else { "INCONSISTENT" });
}
