//! Moving one file (or one folder of files) between this machine and an object store.
//!
//! - Uploads are atomic at the final key: a file under [`MULTIPART_THRESHOLD`] is one PUT (the
//!   object appears whole or not at all); a larger one is a multipart upload of
//!   [`PART_SIZE`] parts, [`PART_CONCURRENCY`] in flight, completed only after the last part and
//!   aborted on any failure, so parts never become an object.
//! - Downloads stream into a staging file beside the destination (sha256 computed on the way),
//!   fsynced and renamed into place: a cut download never leaves a partial file at the path.
//! - Memory stays flat: one read buffer per upload, parts bounded in flight, a download holds one
//!   network chunk at a time.
//! - A whole transfer that fails with a transient error is tried again, up to [`ATTEMPTS`] in
//!   all, after 250 ms · 2^n capped at 4 s (on top of `object_store`'s per-request retries).

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use super::progress::{Direction, TransferProgress};
use super::{storage_error, Remote};
use crate::control::{Control, Event};
use crate::error::{Code, Error, Result};
use crate::publish::StagedFile;

/// Files at least this large are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Size of one part of a multipart upload (S3's minimum is 5 MiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once.
pub const PART_CONCURRENCY: usize = 4;
/// Tries of one whole transfer.
pub const ATTEMPTS: u32 = 3;
/// Least time between two progress reports of one transfer.
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Throttled progress of one transfer, sent as `Event::Transfer`.
struct Meter<'a> {
    sink: Option<&'a Control>,
    direction: Direction,
    url: String,
    total: u64,
    bytes: u64,
    last: Option<Instant>,
}

impl<'a> Meter<'a> {
    fn new(sink: Option<&'a Control>, direction: Direction, url: String, total: u64) -> Self {
        Meter { sink, direction, url, total, bytes: 0, last: None }
    }

    fn add(&mut self, n: u64) {
        self.bytes += n;
        if self.last.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
            self.send(false);
        }
    }

    fn send(&mut self, done: bool) {
        self.last = Some(Instant::now());
        if let Some(control) = self.sink {
            control.emit(Event::Transfer(TransferProgress {
                direction: self.direction,
                url: self.url.clone(),
                bytes: self.bytes,
                total_bytes: self.total.max(self.bytes),
                done,
            }));
        }
    }
}

/// Run `attempt` until it succeeds, fails for good, or [`ATTEMPTS`] are spent; only
/// `STORAGE_UNAVAILABLE` is tried again.
pub async fn with_retries<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delay = Duration::from_millis(250);
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(e) if e.kind() == Code::StorageUnavailable && tried < ATTEMPTS => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(4));
                tried += 1;
            }
            other => return other,
        }
    }
}

/// Upload the local file `src` to `dest`; returns its size.
pub async fn upload_file(src: &Path, dest: &Remote, sink: Option<&Control>) -> Result<u64> {
    with_retries(|| upload_once(src, dest, sink)).await
}

async fn upload_once(src: &Path, dest: &Remote, sink: Option<&Control>) -> Result<u64> {
    let size = tokio::fs::metadata(src).await.map_err(|e| Error::io("reading", src, e))?.len();
    let mut meter = Meter::new(sink, Direction::Upload, dest.url(), size);
    if size < MULTIPART_THRESHOLD {
        let bytes = tokio::fs::read(src).await.map_err(|e| Error::io("reading", src, e))?;
        put_bytes(dest, Bytes::from(bytes)).await?;
        meter.bytes = size;
    } else {
        upload_parts(src, dest, &mut meter).await?;
    }
    meter.send(true);
    Ok(size)
}

async fn upload_parts(src: &Path, dest: &Remote, meter: &mut Meter<'_>) -> Result<()> {
    let url = dest.url();
    let fail = |e| storage_error("uploading", &url, Code::StorageUnavailable, e);
    let upload = dest.store().put_multipart(dest.key()).await.map_err(fail)?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut file = tokio::fs::File::open(src).await.map_err(|e| Error::io("opening", src, e))?;
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = match file.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(Error::io("reading", src, e));
            }
        };
        if n == 0 {
            break;
        }
        if let Err(e) = writer.wait_for_capacity(PART_CONCURRENCY).await {
            // Abort so the parts already sent are discarded; the final key never sees them.
            let _ = writer.abort().await;
            return Err(fail(e));
        }
        writer.write(&buf[..n]);
        meter.add(n as u64);
    }
    // finish() aborts the upload itself when a part or the completion fails.
    writer.finish().await.map_err(fail)?;
    Ok(())
}

/// Put `bytes` at `dest` in one request.
pub async fn put_bytes(dest: &Remote, bytes: Bytes) -> Result<()> {
    let url = dest.url();
    with_retries(|| async {
        dest.store()
            .put(dest.key(), PutPayload::from(bytes.clone()))
            .await
            .map(|_| ())
            .map_err(|e| storage_error("uploading", &url, Code::StorageUnavailable, e))
    })
    .await
}

/// Read the whole (small) object at `src`; a missing object is `missing`.
pub async fn get_bytes(src: &Remote, missing: Code) -> Result<Bytes> {
    let url = src.url();
    with_retries(|| async {
        let fail = |e| storage_error("downloading", &url, missing, e);
        src.store().get(src.key()).await.map_err(fail)?.bytes().await.map_err(fail)
    })
    .await
}

/// A downloaded file's size and sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes written.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
}

/// Download `src` into the local file `dest` (staged, fsynced, renamed); a missing object is
/// `missing`.
pub async fn download_file(src: &Remote, dest: &Path, missing: Code, sink: Option<&Control>) -> Result<Downloaded> {
    with_retries(|| download_once(src, dest, missing, sink)).await
}

async fn download_once(src: &Remote, dest: &Path, missing: Code, sink: Option<&Control>) -> Result<Downloaded> {
    let url = src.url();
    let fail = |e| storage_error("downloading", &url, missing, e);
    let staged = StagedFile::new(dest)?;
    let result = src.store().get(src.key()).await.map_err(fail)?;
    let mut meter = Meter::new(sink, Direction::Download, url.clone(), result.meta.size);
    let mut stream = result.into_stream();
    let mut file = tokio::fs::File::create(staged.path()).await.map_err(|e| Error::io("creating", staged.path(), e))?;
    let mut hasher = Sha256::new();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(fail)?;
        hasher.update(&piece);
        file.write_all(&piece).await.map_err(|e| Error::io("writing", staged.path(), e))?;
        meter.add(piece.len() as u64);
    }
    file.flush().await.map_err(|e| Error::io("writing", staged.path(), e))?;
    drop(file);
    staged.commit()?;
    meter.send(true);
    Ok(Downloaded { size: meter.bytes, sha256: format!("{:x}", hasher.finalize()) })
}

/// Every object under the prefix `src`, as (path relative to it, size), sorted.
pub async fn list(src: &Remote) -> Result<Vec<(String, u64)>> {
    let url = src.url();
    let prefix = format!("{}/", src.key());
    let objects: Vec<_> = src
        .store()
        .list(Some(src.key()))
        .try_collect()
        .await
        .map_err(|e| storage_error("listing", &url, Code::StorageUnavailable, e))?;
    let mut out: Vec<(String, u64)> = objects
        .into_iter()
        .filter_map(|o| o.location.as_ref().strip_prefix(&prefix).map(|rel| (rel.to_string(), o.size)))
        .collect();
    out.sort();
    Ok(out)
}

/// Whether an object exists at `src`.
pub async fn exists(src: &Remote) -> Result<bool> {
    match src.store().head(src.key()).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(storage_error("checking", &src.url(), Code::StorageUnavailable, e)),
    }
}

/// Delete `src` if it exists.
pub async fn delete(src: &Remote) -> Result<()> {
    match src.store().delete(src.key()).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(storage_error("deleting", &src.url(), Code::StorageUnavailable, e)),
    }
}

/// Upload every regular file under the local folder `src` to the prefix `dest` (at most
/// `parallel` at once); returns the bytes sent.
pub async fn upload_dir(src: &Path, dest: &Remote, sink: Option<&Control>, parallel: usize) -> Result<u64> {
    let files = crate::plan::hash::regular_files(src)?;
    let sizes: Vec<u64> = futures_util::stream::iter(files.iter())
        .map(|rel| async move { upload_file(&src.join(rel), &dest.join(rel), sink).await })
        .buffer_unordered(parallel.max(1))
        .try_collect()
        .await?;
    Ok(sizes.iter().sum())
}

/// Download every object under the prefix `src` into the local folder `dest`.
pub async fn download_dir(src: &Remote, dest: &Path, missing: Code, sink: Option<&Control>) -> Result<u64> {
    let objects = list(src).await?;
    if objects.is_empty() {
        return Err(Error::new(missing, format!("downloading {}: no objects under this prefix", src.url())));
    }
    for (rel, _) in &objects {
        if rel.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
            return Err(Error::new(Code::UnsafeProjectPath, format!("{}/{rel}: unsafe object name", src.url())));
        }
        if let Some(parent) = dest.join(rel).parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
    }
    // Owned pairs, not borrowed items: the future stays `Send` for a spawned chunk download.
    let pairs: Vec<(Remote, std::path::PathBuf)> =
        objects.iter().map(|(rel, _)| (src.join(rel), dest.join(rel))).collect();
    let sizes: Vec<Downloaded> = futures_util::stream::iter(pairs)
        .map(|(from, to)| async move { download_file(&from, &to, missing, sink).await })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    Ok(sizes.iter().map(|d| d.size).sum())
}
