//! The build step that embeds npm files: HyperFrames' page runtime and its bundled font faces.
//!
//! `vendor/npm/pins.tsv` names each package (name, version, licence, the sha256 of its registry
//! tarball) and each file taken from it (path, sha256). For every package this step
//! 1. reuses the files already extracted into `OUT_DIR/npm/` when their sha256 match, else
//! 2. takes the tarball from `$FRAMEFAN_NPM_TARBALLS` (a folder of `npm pack` outputs, for
//!    offline and hermetic builds), else downloads it by name from the npm registry
//!    (`$FRAMEFAN_NPM_REGISTRY`, else `$npm_config_registry`, else registry.npmjs.org) with
//!    `curl`, falling back to `npm pack`;
//! 3. checks the tarball's sha256, extracts the pinned files with `tar` and checks each one;
//! 4. writes `OUT_DIR/builtin_files.rs`: one `include_bytes!` per file, which `src/builtin.rs`
//!    includes. Nothing is looked up at run time: the bytes are in the binary.
//!
//! Under docs.rs (`DOCS_RS` set, no network) [`placeholders`] writes the same module with every
//! file empty: the documentation needs the types, not the bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const PINS: &str = "vendor/npm/pins.tsv";
const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org";

struct Package {
    name: String,
    version: String,
    licence: String,
    tarball_sha256: String,
    files: Vec<(String, String)>,
}

/// Fetch, check and extract every pinned file, then write the generated module.
pub fn embed(out_dir: &Path) -> Result<(), String> {
    println!("cargo:rerun-if-changed={PINS}");
    for var in ["FRAMEFAN_NPM_TARBALLS", "FRAMEFAN_NPM_REGISTRY", "npm_config_registry"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let text = std::fs::read_to_string(PINS).map_err(|e| format!("reading {PINS}: {e}"))?;
    let packages = parse(&text)?;
    let root = out_dir.join("npm");
    for package in &packages {
        let dir = root.join(&package.name);
        if !extracted(&dir, package) {
            fetch_and_extract(package, &root, &dir)?;
        }
    }
    std::fs::write(out_dir.join("builtin_files.rs"), generate(&packages, Some(&root)))
        .map_err(|e| format!("writing builtin_files.rs: {e}"))
}

/// Write the generated module with the pinned names and hashes but no bytes, fetching nothing.
pub fn placeholders(out_dir: &Path) -> Result<(), String> {
    println!("cargo:rerun-if-changed={PINS}");
    let text = std::fs::read_to_string(PINS).map_err(|e| format!("reading {PINS}: {e}"))?;
    std::fs::write(out_dir.join("builtin_files.rs"), generate(&parse(&text)?, None))
        .map_err(|e| format!("writing builtin_files.rs: {e}"))
}

fn parse(text: &str) -> Result<Vec<Package>, String> {
    let mut packages: Vec<Package> = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        match cols.as_slice() {
            ["package", name, version, licence, sha] => packages.push(Package {
                name: name.to_string(),
                version: version.to_string(),
                licence: licence.to_string(),
                tarball_sha256: sha.to_string(),
                files: Vec::new(),
            }),
            ["file", name, path, sha] => match packages.last_mut().filter(|p| p.name == *name) {
                Some(p) => p.files.push((path.to_string(), sha.to_string())),
                None => return Err(format!("{PINS}:{}: file of {name} outside its package's lines", n + 1)),
            },
            _ => return Err(format!("{PINS}:{}: not a package or file line", n + 1)),
        }
    }
    Ok(packages)
}

fn sha256_file(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

fn extracted(dir: &Path, package: &Package) -> bool {
    package.files.iter().all(|(path, sha)| sha256_file(&dir.join(path)).as_deref() == Some(sha.as_str()))
}

/// `npm pack`'s file name for a package: `@scope/name` → `scope-name-<version>.tgz`.
fn pack_name(package: &Package) -> String {
    format!("{}-{}.tgz", package.name.trim_start_matches('@').replace('/', "-"), package.version)
}

fn fetch_and_extract(package: &Package, root: &Path, dir: &Path) -> Result<(), String> {
    let spec = format!("{}@{}", package.name, package.version);
    std::fs::create_dir_all(root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    let tarball = tarball(package, root)?;
    let sha = sha256_file(&tarball).unwrap_or_default();
    if sha != package.tarball_sha256 {
        return Err(format!(
            "{spec}: tarball {} has sha256 {sha}, {PINS} pins {}",
            tarball.display(),
            package.tarball_sha256
        ));
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let members: Vec<String> = package.files.iter().map(|(p, _)| format!("package/{p}")).collect();
    run(Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(dir).arg("--strip-components=1").args(&members))
        .map_err(|e| format!("{spec}: extracting {}: {e}", tarball.display()))?;
    for (path, pinned) in &package.files {
        let got = sha256_file(&dir.join(path)).unwrap_or_default();
        if &got != pinned {
            return Err(format!("{spec}: {path} has sha256 {got}, {PINS} pins {pinned}"));
        }
    }
    if tarball.starts_with(root) {
        let _ = std::fs::remove_file(&tarball);
    }
    Ok(())
}

/// The package's tarball: from `$FRAMEFAN_NPM_TARBALLS`, else downloaded into `root`.
fn tarball(package: &Package, root: &Path) -> Result<PathBuf, String> {
    let name = pack_name(package);
    if let Some(dir) = std::env::var_os("FRAMEFAN_NPM_TARBALLS").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(dir).join(&name);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("FRAMEFAN_NPM_TARBALLS has no {name} (npm pack {}@{})", package.name, package.version))
        };
    }
    let registry = std::env::var("FRAMEFAN_NPM_REGISTRY")
        .or_else(|_| std::env::var("npm_config_registry"))
        .unwrap_or_else(|_| DEFAULT_REGISTRY.to_string());
    let base = package.name.rsplit('/').next().unwrap_or(&package.name);
    let url = format!("{}/{}/-/{base}-{}.tgz", registry.trim_end_matches('/'), package.name, package.version);
    let path = root.join(&name);
    let curl = run(Command::new("curl").args(["-fsSL", "--retry", "3", "-o"]).arg(&path).arg(&url));
    if curl.is_ok() {
        return Ok(path);
    }
    let spec = format!("{}@{}", package.name, package.version);
    run(Command::new("npm").args(["pack", "--silent", &spec]).current_dir(root)).map_err(|npm| {
        format!(
            "cannot fetch {spec} from the npm registry (curl {url}: {}; npm pack: {npm}); \
             put `npm pack {spec}` output in a folder named by FRAMEFAN_NPM_TARBALLS",
            curl.err().unwrap_or_default()
        )
    })?;
    Ok(path)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The module's source: each file's bytes included from under `root`, or empty without one.
fn generate(packages: &[Package], root: Option<&Path>) -> String {
    let mut code = String::from("// Generated by build.rs from vendor/npm/pins.tsv.\n");
    code.push_str("pub(crate) static PACKAGES: &[Package] = &[\n");
    for p in packages {
        code.push_str(&format!(
            "    Package {{ name: {:?}, version: {:?}, licence: {:?}, tarball_sha256: {:?} }},\n",
            p.name, p.version, p.licence, p.tarball_sha256
        ));
    }
    code.push_str("];\npub(crate) static FILES: &[File] = &[\n");
    for (i, p) in packages.iter().enumerate() {
        for (path, sha) in &p.files {
            let bytes = match root {
                Some(root) => format!("include_bytes!({:?})", root.join(&p.name).join(path).display().to_string()),
                None => "&[]".to_string(),
            };
            code.push_str(&format!(
                "    File {{ package: &PACKAGES[{i}], path: {path:?}, sha256: {sha:?}, bytes: {bytes} }},\n"
            ));
        }
    }
    code.push_str("];\n");
    code
}
