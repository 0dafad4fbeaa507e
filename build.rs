//! Finds libav (FFmpeg ≥ 5.1) and x264 through pkg-config, fails with the apt packages to install
//! when they are missing, and records the x264, libvpx, libopus and x265 versions the binary is built
//! against (libav reports its own versions at run time; the encoder libraries' are only known
//! here).
//!
//! With `--features static`, libav comes from the minimal static build of `vendor/ffmpeg`
//! (`FFMPEG_DIR` names its prefix; ffmpeg-sys-next links its `.a` files) and this script adds the
//! libraries those archives need, read from their `.pc` files: x264, libvpx, libopus, x265 (with
//! libstdc++ and libnuma) and zlib as static archives, the C runtime's (libm, libpthread, libdl,
//! libgcc_s) as the system provides them.
//!
//! It also embeds the npm files framefan carries inside it (HyperFrames' page runtime and bundled
//! font faces), fetched by name and checked against `vendor/npm/pins.tsv`: see
//! `build/npm_assets.rs`.
//!
//! On docs.rs (`DOCS_RS` set) it does none of this: docs.rs builds without network and without
//! our system libraries, and documentation links nothing. The npm files are then empty and the
//! x264 version reads `unknown`.

#[path = "build/npm_assets.rs"]
mod npm_assets;

use std::path::{Path, PathBuf};
use std::process::exit;

const APT_HINT: &str = "install them with: apt-get install -y --no-install-recommends \
libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev libswscale-dev libswresample-dev libx264-dev \
libvpx-dev libopus-dev libx265-dev pkg-config clang libclang-dev";

/// The encoder libraries libav calls whose versions are recorded like x264's (libav does not
/// report them): pkg-config name and the variable the crate reads.
const ENCODER_LIBS: [(&str, &str); 4] = [
    ("x264", "FRAMEFAN_X264_VERSION"),
    ("vpx", "FRAMEFAN_VPX_VERSION"),
    ("opus", "FRAMEFAN_OPUS_VERSION"),
    ("x265", "FRAMEFAN_X265_VERSION"),
];

const STATIC_HINT: &str = "build it with `bash vendor/ffmpeg/build.sh` and set \
FFMPEG_DIR=$PWD/target/vendor-ffmpeg (scripts/build-static.sh does both)";

/// The libraries we link and the lowest version of each (FFmpeg 5.1).
const LIBAV: [(&str, &str); 6] = [
    ("libavcodec", "59.37"),
    ("libavformat", "59.27"),
    ("libavfilter", "8.44"),
    ("libavutil", "57.28"),
    ("libswscale", "6.7"),
    ("libswresample", "4.7"),
];

/// Libraries the static libav needs that are linked from their `.a` (the rest of its `.pc`
/// files' libraries is the C runtime, which stays shared): the encoders, zlib, and what x265 (a
/// C++ library) brings: libstdc++ and libnuma.
const STATIC_DEPS: [&str; 8] = ["x264", "vpx", "opus", "x265", "stdc++", "numa", "z", "atomic"];

fn main() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=FFMPEG_DIR");
    for (_, var) in ENCODER_LIBS {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-env-changed=DOCS_RS");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if std::env::var_os("DOCS_RS").is_some() {
        if let Err(err) = npm_assets::placeholders(&out_dir) {
            eprintln!("framefan's npm file list (vendor/npm/pins.tsv): {err}");
            exit(1);
        }
        for (_, var) in ENCODER_LIBS {
            println!("cargo:rustc-env={var}=unknown");
        }
        return;
    }
    if let Err(err) = npm_assets::embed(&out_dir) {
        eprintln!("framefan embeds pinned npm files (vendor/npm/README.md): {err}");
        exit(1);
    }
    let ffmpeg_dir = std::env::var_os("FFMPEG_DIR").map(PathBuf::from);
    if std::env::var_os("CARGO_FEATURE_STATIC").is_some() {
        link_static(ffmpeg_dir.as_deref());
    } else if ffmpeg_dir.is_none() {
        for (lib, min) in LIBAV {
            let probe = pkg_config::Config::new().atleast_version(min).cargo_metadata(false).probe(lib);
            if let Err(err) = probe {
                eprintln!("framefan needs {lib} >= {min} (FFmpeg 5.1 or newer): {err}\n{APT_HINT}");
                exit(1);
            }
        }
    }
    for (lib, var) in ENCODER_LIBS {
        let version = match std::env::var(var) {
            Ok(v) => v,
            Err(_) => match pkg_config::Config::new().cargo_metadata(false).probe(lib) {
                Ok(found) => found.version,
                Err(err) => {
                    eprintln!("framefan needs the {lib} development files: {err}\n{APT_HINT}");
                    exit(1);
                }
            },
        };
        println!("cargo:rustc-env={var}={version}");
    }
}

/// Add the static libav's own dependencies to the link of every binary of this package.
///
/// ffmpeg-sys-next bundles the libav archives into its rlib; their dependencies go last on the
/// linker command line (`rustc-link-arg` comes after every rlib), where the unresolved x264 and
/// zlib symbols of libavcodec are known, so the archives' members are actually pulled in.
fn link_static(ffmpeg_dir: Option<&Path>) {
    let Some(dir) = ffmpeg_dir.filter(|d| d.join("lib/libavcodec.a").is_file()) else {
        eprintln!("the `static` feature needs FFMPEG_DIR pointing at a static libav (lib/libavcodec.a); {STATIC_HINT}");
        exit(1);
    };
    println!("cargo:rerun-if-changed={}", dir.join(".stamp").display());
    let mut shared = Vec::new();
    let mut statics = Vec::new();
    for lib in ["libavfilter", "libavformat", "libavcodec", "libswscale", "libswresample", "libavutil"] {
        let pc = dir.join("lib/pkgconfig").join(format!("{lib}.pc"));
        let text = std::fs::read_to_string(&pc).unwrap_or_else(|err| {
            eprintln!("cannot read {}: {err}; {STATIC_HINT}", pc.display());
            exit(1);
        });
        for name in link_libs(&text) {
            let list = if STATIC_DEPS.contains(&name.as_str()) { &mut statics } else { &mut shared };
            if !list.contains(&name) && !name.starts_with("av") && !name.starts_with("sw") {
                list.push(name);
            }
        }
    }
    let statics: Vec<String> = statics.iter().map(|l| format!("-l{l}")).collect();
    println!("cargo:rustc-link-arg=-Wl,-Bstatic");
    for arg in statics {
        println!("cargo:rustc-link-arg={arg}");
    }
    println!("cargo:rustc-link-arg=-Wl,-Bdynamic");
    for lib in shared {
        println!("cargo:rustc-link-arg=-l{lib}");
    }
}

/// The `-l` names of a `.pc` file's `Libs` and `Libs.private` lines (a static-only FFmpeg
/// build lists its dependencies in `Libs`).
fn link_libs(pc: &str) -> Vec<String> {
    pc.lines()
        .filter_map(|l| l.strip_prefix("Libs:").or_else(|| l.strip_prefix("Libs.private:")))
        .flat_map(str::split_whitespace)
        .filter_map(|w| w.strip_prefix("-l"))
        .map(str::to_owned)
        .collect()
}
