//! Object storage around the three primitives (contracts §8): every path argument may be a URL.
//!
//! The primitives stay pure functions over local paths; this module moves artifacts to and from
//! `s3://`, `gs://` and `az://` through the `object_store` crate, and treats `file://` and plain
//! paths as local. Its contract:
//!
//! - credentials and endpoints come from each cloud's usual environment (`AWS_*`, `GOOGLE_*`,
//!   `AZURE_*`); S3-compatible servers are addressed path-style;
//! - a plan is uploaded file by file with a manifest (every file, size, sha256) written **last**,
//!   beside the plan as `<plan>.manifest.json`, so a reader that sees the manifest sees a whole
//!   plan ([`plan::upload`]); a worker downloads it once into a local cache keyed by planHash and
//!   verifies every file ([`plan::fetch`]);
//! - uploads are atomic: one PUT, or a multipart upload that is aborted on failure, so an
//!   interrupted upload never leaves an object under the final key ([`transfer`]);
//! - transient failures are retried with capped exponential backoff and surface as the retryable
//!   `STORAGE_UNAVAILABLE` (exit 75); every error names the URL and the operation.
//!
//! [`ops`] holds the thin wrappers the CLI calls: resolve → local primitive → upload.

pub mod cache;
pub mod chunks;
pub mod downloads;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod transfer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use crate::error::{Code, Error, Result};

#[cfg(feature = "internals")]
pub use progress::{Direction, TransferProgress};

/// Where an artifact lives: a local path, or an object (or prefix) under an object store.
///
/// Every primitive takes its inputs and output as `Location`s. Make one from a command-line
/// argument with [`Location::parse`] (`s3://`, `gs://`, `az://` stores configured from the
/// environment), from a path with `From`, or around a store of your own with
/// [`Location::with_store`]. A location whose text ends in `/` is a folder or prefix
/// ([`Location::is_folder`]): `render_chunk` writes `chunk-NNN.<ext>` into one, and
/// [`ChunkSource::Dir`](crate::ChunkSource::Dir) reads every chunk of a plan from one.
#[derive(Debug, Clone)]
pub enum Location {
    /// A path on this machine (a plain path, or a `file://` URL).
    Local(PathBuf),
    /// An object (or a prefix of objects) in a bucket or container.
    Remote(Remote),
}

impl std::str::FromStr for Location {
    type Err = Error;
    /// [`Location::parse`].
    fn from_str(text: &str) -> Result<Location> {
        Location::parse(text)
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::Local(path)
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::Local(path.to_path_buf())
    }
}

/// An object key (or prefix) in one store, with the URL it was named by.
#[derive(Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    /// `scheme://bucket`, without a trailing slash.
    base: String,
    key: ObjectPath,
    /// Named with a trailing `/`: a prefix that receives or holds several objects.
    folder: bool,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

impl Remote {
    /// The URL of this object, e.g. `s3://bucket/job/plan/plan.json`.
    pub fn url(&self) -> String {
        if self.key.as_ref().is_empty() {
            format!("{}/", self.base)
        } else {
            format!("{}/{}", self.base, self.key)
        }
    }

    /// The object `name` (a relative POSIX path) under this prefix.
    pub fn join(&self, name: &str) -> Remote {
        let mut key = self.key.clone();
        for part in name.split('/').filter(|p| !p.is_empty()) {
            key = key.clone().join(part);
        }
        Remote { store: Arc::clone(&self.store), base: self.base.clone(), key, folder: false }
    }

    /// A sibling object whose key is this one's with `suffix` appended (`plan` → `plan.manifest.json`).
    pub fn with_suffix(&self, suffix: &str) -> Remote {
        let key = ObjectPath::from(format!("{}{suffix}", self.key));
        Remote { store: Arc::clone(&self.store), base: self.base.clone(), key, folder: false }
    }

    /// The key inside the store.
    pub fn key(&self) -> &ObjectPath {
        &self.key
    }

    /// The store the key lives in.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }
}

/// URL schemes served by object stores.
const SCHEMES: [&str; 3] = ["s3", "gs", "az"];


impl Location {
    /// Parse a command-line path: `s3://bucket/key`, `gs://bucket/key`, `az://container/key`,
    /// `file:///abs/path`, or a plain local path.
    pub fn parse(arg: &str) -> Result<Location> {
        Location::parse_with(arg, &[])
    }

    /// [`Location::parse`] with explicit store settings (`object_store` config keys such as
    /// `aws_endpoint`, `aws_allow_http`, `aws_access_key_id`) that take precedence over the
    /// environment: for callers that talk to several stores from one process.
    pub fn parse_with(arg: &str, options: &[(String, String)]) -> Result<Location> {
        if let Some(rest) = arg.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(bad_url(arg, "a file:// URL needs an absolute path (file:///dir/file)"));
            }
            return Ok(Location::Local(PathBuf::from(rest)));
        }
        let Some((scheme, rest)) = arg.split_once("://").filter(|(s, _)| SCHEMES.contains(s)) else {
            if arg.contains("://") {
                return Err(bad_url(arg, "unsupported scheme (s3://, gs://, az://, file:// or a local path)"));
            }
            return Ok(Location::Local(PathBuf::from(arg)));
        };
        let (bucket, key, folder) = split_url(arg, rest)?;
        let store = build_store(arg, scheme, bucket, options)?;
        Ok(Location::Remote(Remote { store, base: format!("{scheme}://{bucket}"), key, folder }))
    }

    /// The object or prefix `url` (`scheme://bucket/key`, any scheme) in `store`, a store the
    /// caller built and configured (credentials, retries, an in-memory or a test store): nothing
    /// is read from the environment. The URL names the objects in messages and results.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let store = Arc::new(object_store::memory::InMemory::new());
    /// let plan = framefan::Location::with_store("mem://renders/job-7/plan/", store)?;
    /// assert!(plan.is_folder());
    /// assert_eq!(plan.display(), "mem://renders/job-7/plan");
    /// # Ok::<(), framefan::Error>(())
    /// ```
    pub fn with_store(url: &str, store: Arc<dyn ObjectStore>) -> Result<Location> {
        let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        let Some((scheme, rest)) = url.split_once("://").filter(|(s, _)| valid(s) && *s != "file") else {
            return Err(bad_url(url, "a store's location is a URL scheme://bucket/key"));
        };
        let (bucket, key, folder) = split_url(url, rest)?;
        Ok(Location::Remote(Remote { store, base: format!("{scheme}://{bucket}"), key, folder }))
    }

    /// Whether this names a folder or prefix: its path or URL ends in `/`.
    pub fn is_folder(&self) -> bool {
        match self {
            Location::Local(p) => p.as_os_str().as_encoded_bytes().ends_with(b"/"),
            Location::Remote(r) => r.folder,
        }
    }

    /// The URL or path, for messages.
    pub fn display(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Remote(r) => r.url(),
        }
    }

    /// The child `name` of this folder or prefix.
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(name)),
            Location::Remote(r) => Location::Remote(r.join(name)),
        }
    }

    /// The local path, when this is one.
    pub fn local(&self) -> Option<&Path> {
        match self {
            Location::Local(p) => Some(p),
            Location::Remote(_) => None,
        }
    }
}

/// `bucket/key/…` of a URL: the bucket, the key without its trailing `/`, and whether it had one.
fn split_url<'a>(arg: &str, rest: &'a str) -> Result<(&'a str, ObjectPath, bool)> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad_url(arg, "no bucket or container"));
    }
    let key_text = key.trim_end_matches('/');
    let key = ObjectPath::parse(key_text).map_err(|e| bad_url(arg, &format!("invalid object key: {e}")))?;
    Ok((bucket, key, key_text.is_empty() || arg.ends_with('/')))
}

fn bad_url(arg: &str, why: &str) -> Error {
    Error::new(Code::InvalidConfig, format!("{arg}: {why}"))
}

/// Per-request retries inside `object_store` (connection resets, 5xx, throttling): capped
/// exponential backoff, bounded in count and time. Whole transfers are retried once more on top
/// (see [`transfer`]).
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn retry_config() -> object_store::RetryConfig {
    use object_store::{BackoffConfig, RetryConfig};
    use std::time::Duration;
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(4),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
    }
}

/// Apply `options` to a builder through its own config-key type; unknown keys are an error.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
macro_rules! configure {
    ($builder:expr, $key:ty, $options:expr) => {{
        let mut builder = $builder;
        for (k, v) in $options {
            let key: $key = k.to_ascii_lowercase().parse()?;
            builder = builder.with_config(key, v.clone());
        }
        builder
    }};
}

/// The store for `bucket` under `scheme`, configured from the environment and `options`; a
/// scheme whose provider this build left out is `STORAGE_PROVIDER_NOT_BUILT`.
fn build_store(arg: &str, scheme: &str, bucket: &str, options: &[(String, String)]) -> Result<Arc<dyn ObjectStore>> {
    let settings = |e: object_store::Error| bad_url(arg, &e.to_string());
    match scheme {
        #[cfg(feature = "s3")]
        "s3" => s3_store(bucket, options).map_err(settings),
        #[cfg(feature = "gcs")]
        "gs" => gcs_store(bucket, options).map_err(settings),
        #[cfg(feature = "azure")]
        "az" => azure_store(bucket, options).map_err(settings),
        _ => {
            let _ = (bucket, options, settings);
            let feature = match scheme {
                "s3" => "s3",
                "gs" => "gcs",
                _ => "azure",
            };
            let why = format!("this framefan was built without {scheme}:// support (cargo feature `{feature}`)");
            Err(Error::new(Code::StorageProviderNotBuilt, format!("{arg}: {why}")))
        }
    }
}

/// reqwest's rustls is built without a crypto provider (so that aws-lc-rs stays out of the
/// build): the stores' HTTPS clients use the process default, ring, installed here once.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// from_env reads AWS_ENDPOINT_URL / AWS_ENDPOINT, AWS_ALLOW_HTTP, AWS_REGION and the keys;
/// path-style requests keep S3-compatible servers (MinIO, moto, Ceph) addressable.
#[cfg(feature = "s3")]
fn s3_store(bucket: &str, options: &[(String, String)]) -> object_store::Result<Arc<dyn ObjectStore>> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    install_tls_provider();
    let b = AmazonS3Builder::from_env().with_virtual_hosted_style_request(false);
    let b = configure!(b, AmazonS3ConfigKey, options);
    Ok(Arc::new(b.with_bucket_name(bucket).with_retry(retry_config()).build()?))
}

#[cfg(feature = "gcs")]
fn gcs_store(bucket: &str, options: &[(String, String)]) -> object_store::Result<Arc<dyn ObjectStore>> {
    use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
    install_tls_provider();
    let b = configure!(GoogleCloudStorageBuilder::from_env(), GoogleConfigKey, options);
    Ok(Arc::new(b.with_bucket_name(bucket).with_retry(retry_config()).build()?))
}

#[cfg(feature = "azure")]
fn azure_store(bucket: &str, options: &[(String, String)]) -> object_store::Result<Arc<dyn ObjectStore>> {
    use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    install_tls_provider();
    let b = configure!(MicrosoftAzureBuilder::from_env(), AzureConfigKey, options);
    Ok(Arc::new(b.with_container_name(bucket).with_retry(retry_config()).build()?))
}

/// Map an `object_store` failure of `op` on `url`: a missing object becomes `missing` (the
/// caller knows whether it was a plan file, a chunk or an input), credentials refused become the
/// non-retryable `STORAGE_ACCESS_DENIED`, anything else the retryable `STORAGE_UNAVAILABLE`.
pub fn storage_error(op: &str, url: &str, missing: Code, err: object_store::Error) -> Error {
    use object_store::Error as E;
    let code = match &err {
        E::NotFound { .. } => missing,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => Code::StorageAccessDenied,
        E::InvalidPath { .. } | E::NotSupported { .. } | E::NotImplemented { .. } => Code::InvalidConfig,
        _ => Code::StorageUnavailable,
    };
    let what = match code {
        Code::StorageUnavailable | Code::StorageAccessDenied | Code::InvalidConfig => format!("{err}"),
        _ => "not found".to_string(),
    };
    Error::new(code, format!("{op} {url}: {what}")).with_source(err)
}

/// Run `fut` to completion on a private runtime (the primitives are synchronous; transfers are
/// the only async work around them).
pub fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("store")
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the transfer runtime for", Path::new("object storage"), e))?;
    Ok(runtime.block_on(fut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        let opts = [("aws_region".to_string(), "us-east-1".to_string())];
        let Location::Remote(r) = Location::parse_with("s3://bucket/job/plan/", &opts).unwrap() else { panic!() };
        assert_eq!(r.url(), "s3://bucket/job/plan");
        assert_eq!(r.join("meta/chunks.json").url(), "s3://bucket/job/plan/meta/chunks.json");
        assert_eq!(r.with_suffix(".manifest.json").url(), "s3://bucket/job/plan.manifest.json");
        assert!(matches!(Location::parse("file:///tmp/x").unwrap(), Location::Local(p) if p == Path::new("/tmp/x")));
        assert!(matches!(Location::parse("rel/dir/").unwrap(), Location::Local(_)));
        for bad in ["file://relative", "ftp://host/x", "s3:///key"] {
            assert_eq!(Location::parse(bad).unwrap_err().kind(), Code::InvalidConfig, "{bad}");
        }
        let remote = |url: &str| Location::parse_with(url, &opts).unwrap();
        assert!(remote("s3://b/chunks/").is_folder() && !remote("s3://b/chunk-000.mp4").is_folder());
        assert!(remote("s3://b").is_folder() && !Location::Remote(r.join("x/")).is_folder());
        assert!(Location::parse("out/").unwrap().is_folder() && !Location::parse("out/c.mp4").unwrap().is_folder());
        let store = Arc::new(object_store::memory::InMemory::new());
        let mem = Location::with_store("mem://bucket/job/plan/", store.clone()).unwrap();
        assert!(mem.is_folder() && mem.display() == "mem://bucket/job/plan");
        for bad in ["file:///x/", "no-scheme/x", "mem://", "mem:///key"] {
            assert_eq!(Location::with_store(bad, store.clone()).unwrap_err().kind(), Code::InvalidConfig, "{bad}");
        }
    }

    /// Each scheme builds its store when its feature is on, and otherwise fails with the stable
    /// code and the feature to enable (scripts/check-package.sh runs this with only `s3` on).
    #[test]
    fn a_compiled_out_provider_is_named() {
        let opts = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let cases = [
            ("s3://bucket/key", cfg!(feature = "s3"), "`s3`", opts(&[("aws_region", "us-east-1")])),
            ("gs://bucket/key", cfg!(feature = "gcs"), "`gcs`", opts(&[("google_service_account_key", "{}")])),
            ("az://container/key", cfg!(feature = "azure"), "`azure`", opts(&[("azure_storage_account_name", "a")])),
        ];
        for (url, built, feature, options) in cases {
            match Location::parse_with(url, &options) {
                Err(e) if e.kind() == Code::StorageProviderNotBuilt => {
                    assert!(!built, "{url}: built, yet {e}");
                    assert_eq!(e.code(), "STORAGE_PROVIDER_NOT_BUILT");
                    assert!(!e.is_retryable());
                    assert!(e.message().starts_with(url) && e.message().contains(feature), "{e}");
                }
                other => assert!(built, "{url}: compiled out, yet {other:?}"),
            }
        }
    }
}
