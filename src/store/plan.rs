//! A plan in object storage: uploaded with its manifest last, fetched once per machine.
//!
//! The manifest is `<plan>.manifest.json` beside the plan prefix (outside it, so the plan
//! directory's files, and with them its planHash, are exactly the plan's): `{manifestVersion,
//! planHash, totalBytes, files: [{path, size, sha256}]}`. [`upload`] deletes an earlier manifest
//! first, uploads every file, then writes the manifest: a reader that finds a manifest finds every
//! file it lists. [`fetch`] reads the manifest, and either finds the plan in the local cache under
//! its planHash or downloads every listed file into a private temporary folder, checks each size
//! and sha256 against the manifest, checks `plan.json` and the recomputed planHash, and renames
//! the folder into the cache. Concurrent workers on one machine may both download; the first
//! rename wins and the other's copy is removed, so readers never see a partial plan.
//!
//! Errors: no manifest → `MISSING_PLAN_ARTIFACT` (retryable: the upload may not have finished);
//! a file that differs from the manifest, or a planHash that does not match →
//! `PLAN_HASH_MISMATCH`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::cache::{self, Scratch};
use super::transfer;
use super::Remote;
use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::plan::Plan;

/// Files transferred at once for one plan.
const PARALLEL: usize = 8;

/// The manifest of an uploaded plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 1.
    pub manifest_version: u32,
    /// The plan's planHash (as in its `plan.json`).
    pub plan_hash: String,
    /// Sum of the files' sizes.
    pub total_bytes: u64,
    /// Every regular file of the plan directory, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// One file of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// Relative POSIX path inside the plan directory.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// The manifest object of the plan at `plan`.
pub fn manifest_of(plan: &Remote) -> Remote {
    plan.with_suffix(".manifest.json")
}

/// Describe the local plan directory `dir` (every regular file, its size and sha256).
pub fn describe(dir: &Path) -> Result<Manifest> {
    let plan = Plan::load(dir)?;
    let mut files = Vec::new();
    for rel in crate::plan::hash::regular_files(dir)? {
        let path = dir.join(&rel);
        let size = std::fs::metadata(&path).map_err(|e| Error::io("reading", &path, e))?.len();
        files.push(ManifestFile { sha256: crate::digest::file(&path)?, path: rel, size });
    }
    let total_bytes = files.iter().map(|f| f.size).sum();
    Ok(Manifest { manifest_version: 1, plan_hash: plan.plan_hash, total_bytes, files })
}

/// Upload the local plan directory `dir` to the prefix `dest`, the manifest last.
pub async fn upload(dir: &Path, dest: &Remote, sink: Option<&Control>) -> Result<Manifest> {
    let manifest = describe(dir)?;
    let manifest_obj = manifest_of(dest);
    // A reader must not pair an earlier plan's manifest with this plan's files.
    transfer::delete(&manifest_obj).await?;
    futures_util::stream::iter(manifest.files.iter())
        .map(|f| async move { transfer::upload_file(&dir.join(&f.path), &dest.join(&f.path), sink).await })
        .buffer_unordered(PARALLEL)
        .try_collect::<Vec<u64>>()
        .await?;
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::new(Code::PlanInvalid, format!("serializing the manifest: {e}")))?;
    transfer::put_bytes(&manifest_obj, Bytes::from(json)).await?;
    Ok(manifest)
}

/// A plan available on this machine.
#[derive(Debug, Clone)]
pub struct FetchedPlan {
    /// The local plan directory (inside the cache).
    pub dir: PathBuf,
    /// The manifest it was verified against.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub manifest: Manifest,
    /// Whether this call downloaded it (false: it was already cached).
    pub downloaded: bool,
    /// Time spent reading the manifest, downloading and verifying, in milliseconds.
    pub fetch_ms: u64,
}

/// Make the plan at `src` available locally (see the module docs).
pub async fn fetch(src: &Remote, sink: Option<&Control>) -> Result<FetchedPlan> {
    let started = Instant::now();
    let manifest_obj = manifest_of(src);
    let raw = transfer::get_bytes(&manifest_obj, Code::MissingPlanArtifact).await.map_err(|e| {
        if e.kind() == Code::MissingPlanArtifact {
            Error::new(
                Code::MissingPlanArtifact,
                format!(
                    "plan manifest {} is missing: the plan is not uploaded yet, or its upload did not finish",
                    manifest_obj.url()
                ),
            )
        } else {
            e
        }
    })?;
    let manifest = parse_manifest(&manifest_obj.url(), &raw)?;
    let entry = cache::plan_entry(&manifest.plan_hash);
    if let Some(cached) = cached(&entry, &raw, src)? {
        return Ok(FetchedPlan { dir: cached, manifest, downloaded: false, fetch_ms: elapsed(started) });
    }
    let parent = entry.parent().map(Path::to_path_buf).unwrap_or_else(cache::root);
    let scratch = Scratch::under(&parent, &format!(".tmp-{}", manifest.plan_hash))?;
    let plan_dir = scratch.path().join("plan");
    download_all(src, &manifest, &plan_dir, sink).await?;
    verify_plan(&plan_dir, &manifest, src)?;
    std::fs::write(scratch.path().join("manifest.json"), &raw)
        .map_err(|e| Error::io("writing", &scratch.path().join("manifest.json"), e))?;
    crate::publish::sync_dir(scratch.path())?;
    match std::fs::rename(scratch.path(), &entry) {
        Ok(()) => scratch.forget(),
        // Another worker on this machine finished the same plan first: use its copy.
        Err(_) if entry.join("plan").is_dir() => drop(scratch),
        Err(e) => return Err(Error::io("renaming into the cache", &entry, e)),
    }
    let _ = crate::publish::sync_dir(&parent);
    Ok(FetchedPlan { dir: entry.join("plan"), manifest, downloaded: true, fetch_ms: elapsed(started) })
}

fn elapsed(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

fn parse_manifest(url: &str, raw: &[u8]) -> Result<Manifest> {
    let invalid = |why: String| Error::new(Code::PlanInvalid, format!("plan manifest {url}: {why}"));
    let m: Manifest = serde_json::from_slice(raw).map_err(|e| invalid(format!("not a valid manifest: {e}")))?;
    if m.manifest_version != 1 {
        return Err(invalid(format!("manifestVersion {} is not 1", m.manifest_version)));
    }
    if m.plan_hash.len() != 64 || !m.plan_hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return Err(invalid("planHash is not 64 lowercase hex digits".into()));
    }
    for f in &m.files {
        if f.path.is_empty()
            || f.path.starts_with('/')
            || f.path.split('/').any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(Error::new(Code::UnsafeProjectPath, format!("plan manifest {url}: unsafe path {:?}", f.path)));
        }
    }
    if !m.files.iter().any(|f| f.path == crate::plan::layout::PLAN_JSON) {
        return Err(Error::new(Code::MissingPlanArtifact, format!("plan manifest {url} does not list plan.json")));
    }
    Ok(m)
}

/// The cached plan directory, if the cache holds this plan under the same manifest.
fn cached(entry: &Path, raw: &[u8], src: &Remote) -> Result<Option<PathBuf>> {
    let Ok(have) = std::fs::read(entry.join("manifest.json")) else { return Ok(None) };
    if have != raw {
        return Err(Error::new(
            Code::PlanHashMismatch,
            format!(
                "plan {}: its manifest differs from the one cached under the same planHash ({}): the plan was changed after it was made",
                src.url(),
                entry.display()
            ),
        ));
    }
    Ok(Some(entry.join("plan")))
}

async fn download_all(src: &Remote, manifest: &Manifest, dir: &Path, sink: Option<&Control>) -> Result<()> {
    for f in &manifest.files {
        if let Some(parent) = dir.join(&f.path).parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
    }
    futures_util::stream::iter(manifest.files.iter())
        .map(|f| async move {
            let obj = src.join(&f.path);
            let got = transfer::download_file(&obj, &dir.join(&f.path), Code::MissingPlanArtifact, sink).await?;
            if got.size != f.size || got.sha256 != f.sha256 {
                return Err(Error::new(
                    Code::PlanHashMismatch,
                    format!(
                        "plan file {}: {} bytes with sha256 {}, the manifest says {} bytes with sha256 {}: the plan was changed after it was uploaded",
                        obj.url(),
                        got.size,
                        got.sha256,
                        f.size,
                        f.sha256
                    ),
                ));
            }
            Ok(())
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// `plan.json` names the manifest's planHash, and (for our own plans) the recomputed planHash
/// equals it.
fn verify_plan(dir: &Path, manifest: &Manifest, src: &Remote) -> Result<()> {
    let plan = Plan::load(dir).map_err(|e| e.prefixed(&format!("plan {}", src.url())))?;
    if plan.plan_hash != manifest.plan_hash {
        return Err(Error::new(
            Code::PlanHashMismatch,
            format!(
                "plan {}: plan.json says planHash {}, its manifest {}",
                src.url(),
                plan.plan_hash,
                manifest.plan_hash
            ),
        ));
    }
    if plan.hash_schema == crate::plan::manifest::HashSchema::Framefan {
        crate::render::validate::check_hash(&plan).map_err(|e| e.prefixed(&format!("plan {}", src.url())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(hash: &str, paths: &[&str]) -> Vec<u8> {
        let files: Vec<_> = paths.iter().map(|p| serde_json::json!({"path": p, "size": 1, "sha256": "00"})).collect();
        serde_json::to_vec(
            &serde_json::json!({"manifestVersion": 1, "planHash": hash, "totalBytes": 1, "files": files}),
        )
        .unwrap()
    }

    #[test]
    fn manifests_are_checked_before_anything_is_downloaded() {
        let hash = "a".repeat(64);
        assert!(parse_manifest("u", &manifest(&hash, &["plan.json", "meta/chunks.json"])).is_ok());
        let code = |raw: Vec<u8>| parse_manifest("u", &raw).unwrap_err().kind();
        assert_eq!(code(manifest(&"A".repeat(64), &["plan.json"])), Code::PlanInvalid);
        assert_eq!(code(manifest("abc", &["plan.json"])), Code::PlanInvalid);
        assert_eq!(code(manifest(&hash, &["meta/chunks.json"])), Code::MissingPlanArtifact);
        for bad in ["../x", "/etc/passwd", "a//b", "a/./b", ""] {
            assert_eq!(code(manifest(&hash, &["plan.json", bad])), Code::UnsafeProjectPath, "{bad:?}");
        }
        assert_eq!(code(b"{}".to_vec()), Code::PlanInvalid);
    }
}
