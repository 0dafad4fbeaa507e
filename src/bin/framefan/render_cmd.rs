//! `framefan render-chunk`: one chunk of a plan, the worker side of a distributed render.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use framefan::render::ChunkOptions;
use framefan::store::ops::render_chunk_at;

use crate::{exit, progress, signals};

/// Environment variables that carry an array-job index, in the order they are consulted.
/// Kubernetes Indexed Jobs, Cloud Run Jobs, AWS Batch array jobs, Slurm job arrays.
const INDEX_ENV: [&str; 4] =
    ["JOB_COMPLETION_INDEX", "CLOUD_RUN_TASK_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "SLURM_ARRAY_TASK_ID"];

#[derive(Args)]
pub struct RenderChunkArgs {
    /// The plan directory, or its URL (s3://, gs://, az://, file://).
    plan_dir: String,
    /// The chunk file (mp4/mov) or frame directory (png-sequence) to write, local or a URL; one
    /// ending in `/` is a folder or prefix that receives `chunk-NNN.<ext>` and its sidecar.
    out: String,
    /// The chunk index; else JOB_COMPLETION_INDEX, CLOUD_RUN_TASK_INDEX, AWS_BATCH_JOB_ARRAY_INDEX
    /// or SLURM_ARRAY_TASK_ID, the first one set.
    #[arg(long)]
    index: Option<i64>,
    /// The browser binary (else FRAMEFAN_BROWSER, else chromium-headless-shell).
    #[arg(long)]
    browser: Option<PathBuf>,
    /// Browser processes sharing the chunk (default: one per two cores, at least two).
    #[arg(long)]
    browsers: Option<usize>,
    /// Print the result (or the error) as one JSON line.
    #[arg(long)]
    json: bool,
    /// Print progress events as NDJSON on stderr.
    #[arg(long)]
    progress: bool,
}

fn index_from_env() -> Option<Result<i64, String>> {
    INDEX_ENV.iter().find_map(|name| {
        std::env::var(name).ok().map(|v| v.trim().parse::<i64>().map_err(|_| format!("{name}={v:?} is not an integer")))
    })
}

pub fn run(args: RenderChunkArgs) -> ExitCode {
    let index = match args.index.map(Ok).or_else(index_from_env) {
        Some(Ok(i)) => i,
        Some(Err(msg)) => return usage(&msg),
        None => return usage(&format!("no chunk index: pass --index or set one of {}", INDEX_ENV.join(", "))),
    };
    let stop = signals::install("the chunk");
    let mut options = ChunkOptions {
        browser: args.browser,
        browsers: args.browsers,
        cancel: Some(stop.flag()),
        ..Default::default()
    };
    if args.progress {
        options.progress = Some(Arc::new(move |done: i64| {
            eprintln!("{}", serde_json::json!({"event": "chunk.progress", "index": index, "framesEncoded": done}));
        }));
    }
    let sink = args.progress.then(progress::transfer_ndjson_stderr);
    match render_chunk_at(&args.plan_dir, index, &args.out, &options, sink) {
        Ok(run) => {
            let result = &run.result;
            if args.json {
                println!("{}", serde_json::to_string(&run).unwrap_or_default());
            } else {
                println!(
                    "{}: chunk {}, {} frames, {} ms ({:?})",
                    result.output_path.display(),
                    result.index,
                    result.frames,
                    result.timings.duration_ms,
                    result.capture_mode
                );
            }
            ExitCode::from(exit::OK)
        }
        Err(err) => stop.report(&err, args.json),
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("framefan render-chunk: {msg}");
    ExitCode::from(exit::USAGE)
}
