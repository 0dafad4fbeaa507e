//! Finds libav (FFmpeg ≥ 5.1) and x264 through pkg-config, fails with the apt packages to install
//! when they are missing, and records the x264 version the binary is built against (libav reports
//! its own versions at run time; x264's is only known here).

use std::process::exit;

const APT_HINT: &str = "install them with: apt-get install -y --no-install-recommends \
libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libx264-dev \
pkg-config clang libclang-dev";

/// The libraries we link and the lowest version of each (FFmpeg 5.1).
const LIBAV: [(&str, &str); 5] = [
    ("libavcodec", "59.37"),
    ("libavformat", "59.27"),
    ("libavutil", "57.28"),
    ("libswscale", "6.7"),
    ("libswresample", "4.7"),
];

fn main() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=FFMPEG_DIR");
    println!("cargo:rerun-if-env-changed=FRAMEFAN_X264_VERSION");
    if std::env::var_os("FFMPEG_DIR").is_none() {
        for (lib, min) in LIBAV {
            let probe = pkg_config::Config::new().atleast_version(min).cargo_metadata(false).probe(lib);
            if let Err(err) = probe {
                eprintln!("framefan needs {lib} >= {min} (FFmpeg 5.1 or newer): {err}\n{APT_HINT}");
                exit(1);
            }
        }
    }
    let x264 = match std::env::var("FRAMEFAN_X264_VERSION") {
        Ok(v) => v,
        Err(_) => match pkg_config::Config::new().cargo_metadata(false).probe("x264") {
            Ok(lib) => lib.version,
            Err(err) => {
                eprintln!("framefan needs the x264 development files: {err}\n{APT_HINT}");
                exit(1);
            }
        },
    };
    println!("cargo:rustc-env=FRAMEFAN_X264_VERSION={x264}");
}
