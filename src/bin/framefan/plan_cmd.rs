//! `framefan plan`: freeze a composition project into a plan directory.

use std::path::PathBuf;
use std::process::ExitCode;

use framefan::{FetchOptions, FontOptions, Location, PlanConfig, PlanOptions, PlanResult};

use crate::{exit, signals};

/// The planning options, shared by `framefan plan` and `framefan render` (flattened into both).
#[derive(clap::Args)]
pub struct PlanFlags {
    /// Frame rate override: N, N/D or a decimal (default: the root's data-fps, else 30).
    #[arg(long)]
    fps: Option<String>,
    /// Deliverable format: mp4, mov, png-sequence, webm (VP9 with alpha, Opus) or gif.
    #[arg(long, default_value = "mp4")]
    format: String,
    /// Video codec of an mp4: h264 (libx264, the default) or h265 (libx265, tagged hvc1 for
    /// Apple's players). Other formats have one codec each.
    #[arg(long)]
    codec: Option<String>,
    /// How many times a GIF plays (0..=65535; 0, the default, loops for ever). GIF only.
    #[arg(long, allow_hyphen_values = true)]
    gif_loop: Option<i64>,
    /// Quality: draft, looks (the standard tier at CRF 16, as `hyperframes render`), standard,
    /// high or delivery (= high).
    #[arg(long, default_value = "looks")]
    quality: String,
    /// Constant rate factor 0..=51 for x264 / x265 (mp4) or libvpx (webm) (overrides the tier's).
    #[arg(long, allow_hyphen_values = true)]
    crf: Option<i64>,
    /// Target bitrate of x264 / x265 (mp4) or libvpx (webm) in bits per second (8M, 2500k, 8000000); exclusive with --crf.
    #[arg(long)]
    bitrate: Option<String>,
    /// Frames per chunk (1..=3600), rounded up to whole GOPs.
    #[arg(long, allow_hyphen_values = true)]
    chunk_size: Option<i64>,
    /// Frames per GOP (1..=3600; default two seconds of frames). Each GOP is encoded on its own,
    /// so the output is the same for any chunking; shorter GOPs cost bits.
    #[arg(long, allow_hyphen_values = true)]
    gop_size: Option<i64>,
    /// Most chunks (1..=256; default 16).
    #[arg(long, allow_hyphen_values = true)]
    max_parallel_chunks: Option<i64>,
    /// Desired frames per chunk when --chunk-size is not given (1..=3600).
    #[arg(long, allow_hyphen_values = true)]
    target_chunk_frames: Option<i64>,
    /// Composition variables, a JSON object.
    #[arg(long)]
    variables: Option<String>,
    /// Directory of npm packages for CDN scripts and @fontsource faces (else $FRAMEFAN_PACKAGE_CACHE).
    #[arg(long)]
    package_cache: Option<PathBuf>,
    /// A folder of your own font files (ttf, otf, woff, woff2), used for the families they hold.
    #[arg(long)]
    fonts_dir: Option<PathBuf>,
    /// Render text with the machine's fonts instead of freezing faces into the plan.
    #[arg(long)]
    system_fonts: bool,
    /// A project @font-face that fails to load fails the plan (FONT_LOAD_FAILED) instead of
    /// drawing its text with the next family, as HyperFrames does.
    #[arg(long)]
    strict_fonts: bool,
    /// Fetch no remote resource (each is then unavailable: a warning, or an error with --strict-resources).
    #[arg(long)]
    offline: bool,
    /// A remote resource that cannot be fetched fails the plan (EXTERNAL_RESOURCE_UNAVAILABLE).
    #[arg(long)]
    strict_resources: bool,
    /// Allow fetching from loopback, private and link-local addresses.
    #[arg(long)]
    allow_private_network: bool,
    /// A HyperFrames runtime file to use instead of the pinned hyperframes@0.8.170 one (else
    /// $FRAMEFAN_RUNTIME); the plan records its sha256.
    #[arg(long)]
    runtime: Option<PathBuf>,
}

impl PlanFlags {
    /// The plan config these flags describe.
    pub fn config(&self) -> framefan::Result<PlanConfig> {
        let variables = match &self.variables {
            Some(text) => serde_json::from_str(text).map_err(|e| {
                framefan::Error::new(framefan::Code::InvalidConfig, format!("variables is not valid JSON: {e}"))
            })?,
            None => serde_json::json!({}),
        };
        let defaults = PlanConfig::default();
        Ok(PlanConfig {
            fps: self.fps.as_deref().map(str::parse).transpose()?,
            format: self.format.parse()?,
            codec: self.codec.as_deref().map(str::parse).transpose()?,
            quality: self.quality.parse()?,
            crf: self.crf,
            bitrate: self.bitrate.as_deref().map(PlanConfig::parse_bitrate).transpose()?,
            chunk_size: self.chunk_size,
            gop_size: self.gop_size,
            max_parallel_chunks: self.max_parallel_chunks.unwrap_or(defaults.max_parallel_chunks),
            target_chunk_frames: self.target_chunk_frames,
            variables,
            package_cache: self.package_cache.clone(),
            fonts: FontOptions { system_fonts: self.system_fonts, fonts_dir: self.fonts_dir.clone() },
            strict_fonts: self.strict_fonts,
            fetch: FetchOptions {
                offline: self.offline,
                strict: self.strict_resources,
                allow_private_network: self.allow_private_network,
                ..FetchOptions::default()
            },
            runtime: self.runtime.clone(),
            gif_loop: self.gif_loop,
            ..defaults
        })
    }
}

/// Arguments of `framefan plan`.
#[derive(clap::Args)]
pub struct PlanArgs {
    /// The composition project (a directory with index.html), or a URL prefix holding one.
    project: String,
    /// Where to write the plan directory (replaced if it holds a previous plan), or a URL prefix:
    /// the plan is uploaded file by file, then `<PLAN_DIR>.manifest.json` last.
    plan_dir: String,
    #[command(flatten)]
    flags: PlanFlags,
    /// Print the result (or the error) as one JSON line.
    #[arg(long)]
    json: bool,
}

/// Run `framefan plan`.
pub fn run(args: PlanArgs) -> ExitCode {
    let stop = signals::install("the plan");
    let result = args.flags.config().and_then(|config| {
        let options = PlanOptions { config, control: stop.control(None) };
        framefan::plan(&Location::parse(&args.project)?, &Location::parse(&args.plan_dir)?, &options)
    });
    match result {
        Ok(run) => {
            let result = &run.result;
            for warning in &result.warnings {
                eprintln!("{}", serde_json::json!({"level": "warn", "message": warning}));
            }
            if args.json {
                println!("{}", serde_json::to_string(&run).unwrap_or_default());
            } else {
                print(result);
            }
            ExitCode::from(exit::OK)
        }
        Err(err) => stop.report(&err, args.json),
    }
}

fn print(result: &PlanResult) {
    {
        println!(
            "{}: {} frames at {}/{} fps in {} chunks, {}x{} {}, {} bytes, planHash {}",
            result.plan_dir.display(),
            result.total_frames,
            result.fps.num,
            result.fps.den,
            result.chunk_count,
            result.width,
            result.height,
            result.format.as_str(),
            result.size_bytes,
            result.plan_hash
        );
    }
}
