//! Deterministic fonts in `plan`: families resolved through HyperFrames' alias table to the
//! bundled faces built into framefan (no package cache needed), frozen into the plan and declared
//! ahead of the page's CSS; a project's own `@font-face`, `--fonts-dir`, other cached packages, unknown
//! families; and the same plan rendering byte-identical chunks on a worker without DejaVu.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::plan::config::PlanConfig;
use framefan::plan::fonts::FontOptions;
use framefan::plan::plan;
use serde_json::Value;
use tempfile::TempDir;

use crate::util::framefan_bin;

/// The package cache `.ci/install-deps` fills (GSAP and the @fontsource faces); missing is loud.
fn cache() -> PathBuf {
    let dir = std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"));
    assert!(
        dir.join("node_modules/@fontsource/inter/files").is_dir(),
        "run bash .ci/install-deps: {} lacks @fontsource/inter",
        dir.display()
    );
    dir
}

fn project(style: &str, body: &str, files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let page = format!(
        "<!doctype html><html><head><meta charset=utf-8><style>{style}</style></head><body>\
         <div id=root data-composition-id=main data-width=320 data-height=240 data-duration=1>{body}</div>\
         <script>window.__timelines = window.__timelines || {{}}; window.__timelines.main = {{ duration() {{ return 0; }}, \
         totalDuration() {{ return 0; }}, time() {{ return 0; }}, totalTime() {{ return this; }}, pause() {{ return this; }}, \
         paused() {{ return true; }} }};</script></body></html>"
    );
    std::fs::write(dir.path().join("index.html"), page).unwrap();
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

fn config(fonts: FontOptions) -> PlanConfig {
    PlanConfig { package_cache: Some(cache()), fonts, ..PlanConfig::default() }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `meta/fonts.json`'s entry for `family`.
fn family<'a>(fonts: &'a Value, name: &str) -> &'a Value {
    fonts["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == name)
        .unwrap_or_else(|| panic!("{name} not in {fonts}"))
}

fn face_files(entry: &Value) -> Vec<String> {
    entry["faces"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap().to_string()).collect()
}

const LATO_300: &str = "node_modules/@fontsource/lato/files/lato-latin-300-normal.woff2";

#[test]
fn families_map_to_frozen_bundled_faces_declared_ahead_of_the_page_css() {
    let own = std::fs::read(cache().join(LATO_300)).unwrap();
    let style = "@font-face { font-family: 'Own Face'; src: url(assets/own.woff2) }\n\
                 .a { font-family: Arial, sans-serif } .b { font-family: \"DejaVu Sans\" } .c { font-family: Futura }\n\
                 .d { font-family: Menlo, monospace } .e { font-family: sans-serif } .f { font-family: 'Own Face' }\n\
                 .g { font-family: 'Playfair Display'; font-weight: 900 }";
    let proj =
        project(style, "<p class=a>Arial</p><p style=\"font-family: var(--x)\">x</p>", &[("assets/own.woff2", &own)]);
    let out = tempfile::tempdir().unwrap();
    // No package cache: the bundled faces are built in.
    let empty = tempfile::tempdir().unwrap();
    let config = PlanConfig { package_cache: Some(empty.path().to_path_buf()), ..PlanConfig::default() };
    let result = plan(proj.path(), &config, &out.path().join("plan")).unwrap();
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    let dir = out.path().join("plan");
    let fonts = read_json(&dir.join("meta/fonts.json"));
    assert_eq!(fonts["systemFonts"], false);
    assert_eq!(read_json(&dir.join("meta/encoder.json"))["systemFonts"], false);
    for (name, as_, source, faces) in [
        ("Arial", "Inter", "bundled", 3),
        ("DejaVu Sans", "Inter", "bundled", 3),
        ("Futura", "Montserrat", "bundled", 3),
        ("Menlo", "JetBrains Mono", "bundled", 2),
        ("Inter", "Inter", "bundled", 3),
        ("Playfair Display", "Playfair Display", "bundled", 3),
        ("Own Face", "Own Face", "project", 0),
    ] {
        let entry = family(&fonts, name);
        assert_eq!((entry["rendersAs"].as_str(), entry["source"].as_str()), (Some(as_), Some(source)), "{entry}");
        assert_eq!(face_files(entry).len(), faces, "{entry}");
    }
    // Each face is the pinned package's file, byte for byte, inside the plan (so the planHash
    // covers it): the built-in bytes equal the npm package's.
    let inter = cache().join("node_modules/@fontsource/inter/files/inter-latin-700-normal.woff2");
    let frozen = std::fs::read(dir.join("compiled/__framefan__/fonts/inter-latin-700-normal.woff2")).unwrap();
    assert_eq!(frozen, std::fs::read(inter).unwrap());
    assert_eq!(frozen, framefan::builtin::font_face("inter", 700).unwrap().bytes);
    // The faces come first in <head>, then the text-rendering rule, then the page's own CSS.
    let html = std::fs::read_to_string(dir.join("compiled/index.html")).unwrap();
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle} not in the page"));
    assert!(
        at("font-family: \"Arial\"; src: url(\"__framefan__/fonts/inter-latin-400-normal.woff2\")")
            < at("text-rendering:geometricPrecision")
    );
    assert!(at("text-rendering:geometricPrecision") < at("font-family: 'Own Face'; src"));
    // Bundled faces claim HyperFrames' subset range, as its compiler declares them.
    assert!(html.contains("font-display: block; unicode-range: U+0000-00FF, U+0131,"), "{html}");
    // A generic primary gets Inter in front of it; a stack naming a family first is left alone.
    assert!(
        html.contains(".e { font-family: Inter, sans-serif }")
            && html.contains(".a { font-family: Arial, sans-serif }"),
        "{html}"
    );
}

#[test]
fn unknown_families_and_uncovered_text_keep_the_plan_tied_to_system_fonts() {
    let proj = project(".u { font-family: 'Totally Unknown Grotesk', sans-serif }", "<p class=u>hello</p>", &[]);
    let out = tempfile::tempdir().unwrap();
    let result = plan(proj.path(), &config(FontOptions::default()), &out.path().join("plan")).unwrap();
    let warning =
        result.warnings.iter().find(|w| w.contains("Totally Unknown Grotesk")).expect("a warning names the family");
    assert!(warning.contains("DejaVu Sans"), "the warning names fontconfig's substitute: {warning}");
    let fonts = read_json(&out.path().join("plan/meta/fonts.json"));
    assert_eq!(family(&fonts, "Totally Unknown Grotesk")["source"], "system");
    assert_eq!(read_json(&out.path().join("plan/meta/encoder.json"))["systemFonts"], true);

    let cjk = project(".a { font-family: Arial }", "<p class=a>Arial 中文</p>", &[]);
    let result = plan(cjk.path(), &config(FontOptions::default()), &out.path().join("plan2")).unwrap();
    assert!(result.warnings.iter().any(|w| w.contains("U+4E2D")), "{:?}", result.warnings);
    assert_eq!(read_json(&out.path().join("plan2/meta/encoder.json"))["systemFonts"], true);
}

#[test]
fn system_fonts_fonts_dir_and_other_cached_packages() {
    let proj = project(
        ".a { font-family: Arial } .l { font-family: 'Lato Light' } .f { font-family: 'Fira Sans'; font-weight: 500 }",
        "<i class=f>x</i>",
        &[],
    );
    let out = tempfile::tempdir().unwrap();

    let system = FontOptions { system_fonts: true, fonts_dir: None };
    plan(proj.path(), &config(system), &out.path().join("sys")).unwrap();
    assert!(!out.path().join("sys/compiled/__framefan__").exists());
    assert_eq!(read_json(&out.path().join("sys/meta/encoder.json"))["systemFonts"], true);
    assert!(!std::fs::read_to_string(out.path().join("sys/compiled/index.html")).unwrap().contains("@font-face"));

    // --fonts-dir: the family is read from the file itself (fc-scan), not from its name.
    let fonts_dir = tempfile::tempdir().unwrap();
    let lato = std::fs::read(cache().join(LATO_300)).unwrap();
    std::fs::write(fonts_dir.path().join("whatever.woff2"), &lato).unwrap();
    // Another @fontsource family, installed into a cache by the user: its nearest weights.
    let own_cache = tempfile::tempdir().unwrap();
    let files = own_cache.path().join("node_modules/@fontsource/fira-sans/files");
    std::fs::create_dir_all(&files).unwrap();
    // Real font bytes (Lato's): plan's browser probe refuses a face that does not load.
    for face in ["400-normal", "700-normal", "500-normal", "400-italic", "700-italic"] {
        std::fs::write(files.join(format!("fira-sans-latin-{face}.woff2")), &lato).unwrap();
    }
    let options = FontOptions { system_fonts: false, fonts_dir: Some(fonts_dir.path().to_path_buf()) };
    let config =
        PlanConfig { package_cache: Some(own_cache.path().to_path_buf()), fonts: options, ..PlanConfig::default() };
    let result = plan(proj.path(), &config, &out.path().join("own")).unwrap();
    let fonts = read_json(&out.path().join("own/meta/fonts.json"));
    let lato_entry = family(&fonts, "Lato Light");
    assert_eq!(lato_entry["source"], "fonts-dir");
    let file = &face_files(lato_entry)[0];
    assert!(file.starts_with("__framefan__/fonts/user-") && file.ends_with(".woff2"), "{file}");
    assert_eq!(std::fs::read(out.path().join("own/compiled").join(file)).unwrap(), lato);
    let fira = family(&fonts, "Fira Sans");
    assert_eq!(fira["source"], "package-cache");
    let mut got = face_files(fira);
    got.sort();
    let want: Vec<String> = ["400-italic", "400-normal", "500-normal", "700-italic", "700-normal"]
        .iter()
        .map(|f| format!("__framefan__/fonts/fira-sans-latin-{f}.woff2"))
        .collect();
    assert_eq!(got, want, "400, 700 and 500 upright; italic (an <i> is used) at the nearest weights it has");
    // Arial maps to Inter, which this cache lacks: the built-in faces draw it, without a warning
    // (a user's --package-cache only adds families).
    assert_eq!(family(&fonts, "Arial")["source"], "bundled");
    assert!(result.warnings.iter().all(|w| !w.contains("font")), "{:?}", result.warnings);
    assert_eq!(fonts["systemFonts"], false);
}

/// Run the CLI; returns (exit code, stdout, stderr).
fn cli(args: &[OsString], env: &[(&str, &Path)]) -> (i32, String, String) {
    let mut cmd = Command::new(framefan_bin());
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fontconfig configuration under `dir` that knows only `fonts` (files copied from the system).
fn fontconfig_with(dir: &Path, fonts: &[&str]) -> PathBuf {
    let font_dir = dir.join("fonts");
    std::fs::create_dir_all(&font_dir).unwrap();
    for font in fonts {
        let src = Path::new("/usr/share/fonts/truetype/dejavu").join(font);
        std::fs::copy(&src, font_dir.join(font)).unwrap();
    }
    let path = dir.join("fonts.conf");
    let conf = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n\
         <fontconfig><dir>{}</dir><cachedir>{}</cachedir></fontconfig>\n",
        font_dir.display(),
        dir.join("cache").display()
    );
    std::fs::write(&path, conf).unwrap();
    let listed = Command::new("fc-list").arg("family").env("FONTCONFIG_FILE", &path).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(!listed.contains("DejaVu Sans"), "the configuration still has DejaVu Sans: {listed}");
    path
}

#[test]
fn the_same_plan_renders_byte_identical_chunks_on_a_worker_without_dejavu_sans() {
    let work = tempfile::tempdir().unwrap();
    // A worker whose only font is DejaVu Serif: no DejaVu Sans, no DejaVu Sans Mono, another
    // fontSnapshotSha; and one without any font at all.
    let serif_only = fontconfig_with(&work.path().join("serif"), &["DejaVuSerif.ttf"]);
    let no_fonts = fontconfig_with(&work.path().join("none"), &[]);
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/fonts-aliases");
    let cache = cache();
    let plan_with = |name: &str, extra: &[&str]| -> PathBuf {
        let dir = work.path().join(name);
        let mut args: Vec<OsString> = vec!["plan".into(), project.clone().into(), dir.clone().into()];
        args.extend(["--package-cache".into(), cache.clone().into(), "--chunk-size".into(), "10".into()]);
        args.extend(["--gop-size".into(), "10".into()]);
        args.extend(extra.iter().map(OsString::from));
        let (code, _, err) = cli(&args, &[]);
        assert_eq!(code, 0, "{err}");
        dir
    };
    let render = |plan: &Path, out: &str, env: &[(&str, &Path)]| {
        let out = work.path().join(out);
        let args: Vec<OsString> =
            vec!["render-chunk".into(), plan.into(), out.clone().into(), "--index".into(), "5".into(), "--json".into()];
        let (code, _, stderr) = cli(&args, env);
        (code, stderr, out)
    };
    let sha =
        |path: &Path| framefan::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(path).unwrap()));
    let frozen = plan_with("frozen", &[]);
    let (code, err, here) = render(&frozen, "here.mp4", &[]);
    assert_eq!(code, 0, "{err}");
    let (code, err, there) = render(&frozen, "there.mp4", &[("FONTCONFIG_FILE", &serif_only)]);
    assert_eq!(code, 0, "a frozen plan renders on a worker without DejaVu Sans: {err}");
    assert_eq!(sha(&here), sha(&there), "the chunks differ");
    // A worker without any font is refused: Chromium would draw no text at all.
    let (code, err, _) = render(&frozen, "none.mp4", &[("FONTCONFIG_FILE", &no_fonts)]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("FONT_SNAPSHOT_MISMATCH") && err.contains("no system fonts"), "{err}");

    // A plan that draws with system fonts still refuses a worker with other fonts.
    let system = plan_with("system", &["--system-fonts"]);
    let (code, err, _) = render(&system, "sys.mp4", &[("FONTCONFIG_FILE", &serif_only)]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("FONT_SNAPSHOT_MISMATCH"), "{err}");
}

#[test]
fn the_binary_plans_bundled_families_with_a_bare_environment() {
    // As a user's copy runs: no package cache, no FRAMEFAN_* variables, an empty HOME, started
    // outside the checkout. Runtime and faces must come from the binary itself.
    let home = tempfile::tempdir().unwrap();
    let proj = project(
        ".a { font-family: Inter; font-weight: 800 } .b { font-family: 'DejaVu Sans' } .c { font-family: Georgia } \
         .d { font-family: 'JetBrains Mono'; font-weight: 700 }",
        "<p class=a>Inter</p><p class=b>DejaVu</p><p class=c>Georgia</p><p class=d>Mono</p>",
        &[],
    );
    let plan_dir = home.path().join("plan");
    let out = Command::new(framefan_bin())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home.path())
        .current_dir(home.path())
        .arg("plan")
        .arg(proj.path())
        .arg(&plan_dir)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["warnings"], serde_json::json!([]), "{result}");
    let fonts = read_json(&plan_dir.join("meta/fonts.json"));
    assert_eq!(fonts["systemFonts"], false);
    for (name, as_) in
        [("Inter", "Inter"), ("DejaVu Sans", "Inter"), ("Georgia", "EB Garamond"), ("JetBrains Mono", "JetBrains Mono")]
    {
        let entry = family(&fonts, name);
        assert_eq!((entry["source"].as_str(), entry["rendersAs"].as_str()), (Some("bundled"), Some(as_)), "{entry}");
    }
    let runtime = &read_json(&plan_dir.join("plan.json"))["runtime"];
    assert_eq!(runtime["sha256"], framefan::runtime::builtin_record().sha256);
}
