//! `framefan render`: plan, render every chunk on a local worker pool, assemble — one command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use framefan::{Location, RenderOptions, RenderResult};

use crate::exit;
use crate::plan_cmd::PlanFlags;
use crate::progress::{Display, ProgressMode};
use crate::signals;

/// Arguments of `framefan render`.
#[derive(Args)]
pub struct RenderArgs {
    /// The composition project (a directory with index.html), or a URL prefix holding one.
    project: String,
    /// The output file (mp4/mov/webm) or directory (png-sequence), or its URL.
    #[arg(short = 'o', long = "output")]
    out: String,
    #[command(flatten)]
    flags: PlanFlags,
    /// Worker processes (one browser each); default: one per core, bounded by memory.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=framefan::MAX_WORKERS as u64))]
    workers: Option<u64>,
    /// The browser binary (else FRAMEFAN_BROWSER, else chromium-headless-shell).
    #[arg(long)]
    browser: Option<PathBuf>,
    /// Progress display: tty (a bar on stderr), ndjson (events on stdout) or none. Default: tty
    /// when stderr is a terminal, else none.
    #[arg(long, value_enum)]
    progress: Option<ProgressMode>,
    /// Keep the work directory (<OUT>.work.<pid>.<random>: plan and chunks) after success.
    #[arg(long)]
    keep_work: bool,
    /// Print the result (or the error) as one JSON line.
    #[arg(long)]
    json: bool,
}

/// Run `framefan render`.
pub fn run(args: RenderArgs) -> ExitCode {
    let config = match args.flags.config() {
        Ok(c) => c,
        Err(err) => return exit::report(&err, args.json),
    };
    let mode = args.progress.unwrap_or_else(ProgressMode::detect);
    let display = Display::new(mode);
    let stop = signals::install("the workers");
    let options = RenderOptions {
        plan: config,
        workers: args.workers.map(|w| w as usize),
        browser: args.browser.clone(),
        keep_work: args.keep_work,
        control: stop.control(Some(display.sink())),
        ..Default::default()
    };
    let rendered = Location::parse(&args.project)
        .and_then(|project| framefan::render(&project, &Location::parse(&args.out)?, &options));
    match rendered {
        Ok(run) => {
            let result = run.result;
            display.completed(&result);
            for warning in &result.warnings {
                eprintln!("{}", serde_json::json!({"level": "warn", "message": warning}));
            }
            print(&result, args.json, mode);
            ExitCode::from(exit::OK)
        }
        Err(err) => {
            display.failed(&err);
            stop.report(&err, args.json)
        }
    }
}

fn print(result: &RenderResult, json: bool, mode: ProgressMode) {
    if mode == ProgressMode::Ndjson {
        // render.completed already carried the result on stdout.
        return;
    }
    if json {
        println!("{}", serde_json::to_string(result).unwrap_or_default());
        return;
    }
    let t = result.timings;
    println!(
        "{}: {} frames at {}/{} fps, {}x{}, {} bytes; {} chunks on {} workers; plan {} ms, render {} ms, \
         assemble {} ms, total {} ms",
        result.output_path.display(),
        result.total_frames,
        result.fps.num,
        result.fps.den,
        result.width,
        result.height,
        result.file_size,
        result.chunk_count,
        result.workers,
        t.plan_ms,
        t.render_ms,
        t.assemble_ms,
        t.total_ms
    );
    if let Some(dir) = &result.work_dir {
        println!("work directory kept: {}", dir.display());
    }
}
