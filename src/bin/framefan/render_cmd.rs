//! `framefan render-chunk`: one chunk of a plan, the worker side of a distributed render; or
//! several chunks of one plan in one process (`--index` repeated, `--indexes 3-7`, or
//! `--chunks-per-task K` with an array-job index), rendered by the same browsers, which load the
//! page once.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use framefan::{ChunkIndexes, ChunkOptions, ChunkResult, Code, Error, Location, WithStorage};

use crate::{exit, progress, signals};

/// Environment variables that carry an array-job index, in the order they are consulted.
/// Kubernetes Indexed Jobs, Cloud Run Jobs, AWS Batch array jobs, Slurm job arrays.
const INDEX_ENV: [&str; 4] =
    ["JOB_COMPLETION_INDEX", "CLOUD_RUN_TASK_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "SLURM_ARRAY_TASK_ID"];

#[derive(Args)]
pub struct RenderChunkArgs {
    /// The plan directory, or its URL (s3://, gs://, az://, file://).
    plan_dir: String,
    /// The chunk file (mp4/mov/webm) or frame directory (png-sequence) to write, local or a URL; one
    /// ending in `/` is a folder or prefix that receives `chunk-NNN.<ext>` and its sidecar (needed
    /// with several chunks).
    out: String,
    /// The chunk index, or several (repeat the option); else JOB_COMPLETION_INDEX,
    /// CLOUD_RUN_TASK_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID, the first one set.
    #[arg(long)]
    index: Vec<i64>,
    /// Several chunk indexes, rendered in this order by the same browsers: `3-7`, `0,2,5-6`.
    #[arg(long, conflicts_with_all = ["index", "chunks_per_task"])]
    indexes: Option<String>,
    /// Each array-job task renders K chunks: task t (the index from the environment) renders
    /// chunks t·K … t·K+K−1, those the plan has.
    #[arg(long, value_name = "K", conflicts_with = "index", value_parser = clap::value_parser!(i64).range(1..))]
    chunks_per_task: Option<i64>,
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

/// `3-7`, `0,2,5-6`: the indexes in the order written.
fn parse_indexes(text: &str) -> Result<Vec<i64>, String> {
    let bad = || format!("--indexes {text:?} is not a list like 3-7 or 0,2,5-6");
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b) = (a.trim().parse::<i64>().map_err(|_| bad())?, b.trim().parse::<i64>().map_err(|_| bad())?);
        if b < a || b - a >= 100_000 {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    Ok(out)
}

/// Which chunks the arguments and the environment name, as written (a negative one is refused
/// by [`checked`]).
enum Named {
    List(Vec<i64>),
    Task { task: i64, per_task: i64 },
}

fn chunk_indexes(args: &RenderChunkArgs) -> Result<Named, String> {
    if let Some(text) = &args.indexes {
        return parse_indexes(text).map(Named::List);
    }
    if !args.index.is_empty() {
        return Ok(Named::List(args.index.clone()));
    }
    let from_env = match index_from_env() {
        Some(r) => r?,
        None => return Err(format!("no chunk index: pass --index or set one of {}", INDEX_ENV.join(", "))),
    };
    Ok(match args.chunks_per_task {
        Some(per_task) => Named::Task { task: from_env, per_task },
        None => Named::List(vec![from_env]),
    })
}

/// A chunk index is never negative: one that is cannot be in any plan.
fn index(i: i64) -> framefan::Result<u32> {
    u32::try_from(i).map_err(|_| Error::new(Code::ChunkIndexOutOfRange, format!("chunk index {i} is not 0 or more")))
}

fn checked(named: Named) -> framefan::Result<ChunkIndexes> {
    Ok(match named {
        Named::List(list) => ChunkIndexes::List(list.into_iter().map(index).collect::<Result<_, _>>()?),
        Named::Task { task, per_task } => ChunkIndexes::Task { task: index(task)?, per_task: index(per_task)? },
    })
}

pub fn run(args: RenderChunkArgs) -> ExitCode {
    let which = match chunk_indexes(&args) {
        Ok(named) => match checked(named) {
            Ok(w) => w,
            Err(err) => return exit::report(&err, args.json),
        },
        Err(msg) => return usage(&msg),
    };
    let several = which.several();
    if several && !args.out.ends_with('/') {
        return usage("several chunk indexes need OUT to be a folder or prefix ending in '/'");
    }
    let stop = signals::install(if several { "the chunks" } else { "the chunk" });
    // The plan's download and the chunks' uploads report through the options' control; each
    // chunk's frames through its own (the line names the chunk).
    let transfers = args.progress.then(|| progress::ndjson_stderr(|_, _| serde_json::Value::Null));
    let options = ChunkOptions {
        browser: args.browser,
        browsers: args.browsers,
        control: stop.control(transfers),
        ..Default::default()
    };
    let opened = Location::parse(&args.plan_dir)
        .and_then(|plan| framefan::render_chunks(&plan, &which, &Location::parse(&args.out)?, &options));
    let mut chunks = match opened {
        Ok(c) => c,
        Err(err) => return stop.report(&err, args.json),
    };
    // One line per chunk as it finishes; the first failure stops the rest (the chunks finished
    // before it stay, each with its sidecar) and is the exit status.
    loop {
        let index = chunks.peek().unwrap_or_default();
        let events = args.progress.then(|| {
            progress::ndjson_stderr(
                move |done, _| serde_json::json!({"event": "chunk.progress", "index": index, "framesEncoded": done}),
            )
        });
        let control = stop.control(events);
        match chunks.next(&control) {
            None => return ExitCode::from(exit::OK),
            Some(Ok(run)) => print_result(&run, args.json),
            Some(Err(err)) => return stop.report(&err, args.json),
        }
    }
}

fn print_result(run: &WithStorage<ChunkResult>, json: bool) {
    let result = &run.result;
    if json {
        println!("{}", serde_json::to_string(run).unwrap_or_default());
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
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("framefan render-chunk: {msg}");
    ExitCode::from(exit::USAGE)
}

#[cfg(test)]
mod tests {
    use super::parse_indexes;

    #[test]
    fn index_lists_keep_their_order() {
        assert_eq!(parse_indexes("3-7").unwrap(), vec![3, 4, 5, 6, 7]);
        assert_eq!(parse_indexes("2, 0,5-6").unwrap(), vec![2, 0, 5, 6]);
        assert_eq!(parse_indexes("4").unwrap(), vec![4]);
        for bad in ["", "7-3", "a", "1-", "1,,2"] {
            assert!(parse_indexes(bad).is_err(), "{bad:?}");
        }
    }
}
