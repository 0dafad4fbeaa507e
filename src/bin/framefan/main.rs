//! The `framefan` command: parses arguments, calls one library function per subcommand, prints
//! its result (one JSON line with `--json`) and maps errors to exit codes.

mod exit;
mod plan_cmd;
mod progress;
mod render_cmd;
mod run_cmd;
mod signals;
mod verify_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use framefan::{AssembleOptions, AudioSource, ChunkSource, Location};

#[derive(Parser)]
#[command(name = "framefan", version, about = "Distributed renderer for HTML video compositions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the framefan, libav and x264 versions, how libav is linked and the browser in use.
    Version {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// The browser binary to report on (as render-chunk's --browser).
        #[arg(long)]
        browser: Option<PathBuf>,
    },
    /// Freeze a composition project into a content-hashed plan directory.
    Plan(plan_cmd::PlanArgs),
    /// Concatenate rendered chunks into the final deliverable, atomically.
    Assemble(AssembleArgs),
    /// Render one chunk of a plan in headless Chromium (a distributed worker's job).
    RenderChunk(render_cmd::RenderChunkArgs),
    /// Render a composition on this machine: plan, a local worker pool, assemble.
    Render(run_cmd::RenderArgs),
    /// Read an output back and check frames, rates, duration, audio and index position.
    Verify(verify_cmd::VerifyArgs),
    /// List what is built into this binary (HyperFrames' runtime, the bundled font faces) and
    /// their licences.
    Licenses {
        /// Also write each licence text to DIR/<package>@<version>/LICENSE.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version { json, browser } => version(json, browser.as_deref()),
        Command::RenderChunk(args) => render_cmd::run(args),
        Command::Plan(args) => plan_cmd::run(args),
        Command::Render(args) => run_cmd::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Assemble(args) => assemble(args),
        Command::Licenses { write } => licenses(write.as_deref()),
    }
}

fn licenses(dir: Option<&std::path::Path>) -> ExitCode {
    if let Some(dir) = dir {
        if let Err(e) = framefan::version::write_licences(dir) {
            eprintln!("writing licences into {}: {e}", dir.display());
            return ExitCode::from(exit::RETRYABLE);
        }
    }
    print!("Built into this framefan binary:\n{}", framefan::version::licence_list());
    ExitCode::from(exit::OK)
}

/// Arguments of `framefan assemble`; every path may be a URL (s3://, gs://, az://, file://).
#[derive(clap::Args)]
struct AssembleArgs {
    /// The plan directory the chunks were rendered from.
    plan_dir: String,
    /// The output file (mp4/mov/webm) or directory (png-sequence).
    out: String,
    /// One chunk per plan chunk, in index order.
    #[arg(long, num_args = 1.., required_unless_present = "chunks_dir", conflicts_with = "chunks_dir")]
    chunks: Vec<String>,
    /// A folder or prefix holding every chunk of the plan as chunk-NNN.<ext> (what
    /// `render-chunk PLAN DIR/` writes).
    #[arg(long)]
    chunks_dir: Option<String>,
    /// The soundtrack to fit and mux (usually <PLAN_DIR>/audio.m4a).
    #[arg(long, conflicts_with = "plan_audio")]
    audio: Option<String>,
    /// Mux the plan's own audio.m4a when the plan has audio (one command line for every plan).
    #[arg(long)]
    plan_audio: bool,
    /// Print the result (or the error) as one JSON line.
    #[arg(long)]
    json: bool,
    /// Print progress events as NDJSON on stderr.
    #[arg(long)]
    progress: bool,
}

fn assemble(args: AssembleArgs) -> ExitCode {
    let stop = signals::install("the assemble");
    let events = args.progress.then(|| {
        progress::ndjson_stderr(|done, total| {
            let fraction = done as f64 / total.max(1) as f64;
            serde_json::json!({"event": "assemble.progress", "framesDone": done, "totalFrames": total, "progress": fraction})
        })
    });
    let options = AssembleOptions { control: stop.control(events), ..Default::default() };
    let sources = || -> framefan::Result<_> {
        let chunks = match &args.chunks_dir {
            Some(dir) => ChunkSource::Dir(Location::parse(dir)?),
            None => ChunkSource::List(args.chunks.iter().map(|c| Location::parse(c)).collect::<Result<_, _>>()?),
        };
        let audio = match (&args.audio, args.plan_audio) {
            (Some(a), _) => AudioSource::Given(Location::parse(a)?),
            (None, true) => AudioSource::Plan,
            (None, false) => AudioSource::None,
        };
        Ok((Location::parse(&args.plan_dir)?, chunks, audio, Location::parse(&args.out)?))
    };
    let assembled =
        sources().and_then(|(plan, chunks, audio, out)| framefan::assemble(&plan, &chunks, &audio, &out, &options));
    match assembled {
        Ok(run) => {
            for warning in &run.result.warnings {
                eprintln!("{}", serde_json::json!({"level": "warn", "message": warning}));
            }
            if args.json {
                println!("{}", serde_json::to_string(&run).unwrap_or_default());
            } else {
                print_result(&run.result);
            }
            ExitCode::from(exit::OK)
        }
        Err(err) => stop.report(&err, args.json),
    }
}

fn print_result(result: &framefan::AssembleResult) {
    println!(
        "{}: {} frames, {} bytes, {} ms",
        result.output_path.display(),
        result.frames_encoded,
        result.file_size,
        result.duration_ms
    );
}

fn version(json: bool, browser: Option<&std::path::Path>) -> ExitCode {
    let report = framefan::version::report(browser);
    if json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
        return ExitCode::from(exit::OK);
    }
    println!("{}\n{}", report.producer_version, report.ffmpeg_version);
    println!("libav: {} ({})", report.libav.linkage.as_str(), report.libav.configuration);
    let rt = &report.builtin.runtime;
    println!(
        "built in: {}@{} runtime (sha256 {}), {} font faces of {} families",
        rt.package,
        rt.version,
        rt.sha256,
        report.builtin.fonts.faces,
        report.builtin.fonts.families.len()
    );
    match (&report.browser.path, report.browser.capture_mode, &report.browser.error) {
        (Some(path), Some(mode), _) => println!("browser: {} ({mode:?})", path.display()),
        (_, _, error) => println!("browser: none ({})", error.as_deref().unwrap_or_default()),
    }
    ExitCode::from(exit::OK)
}
