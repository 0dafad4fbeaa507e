//! One error type for the whole crate.
//!
//! Every failure carries a stable SCREAMING_SNAKE `code()` (kept identical to the HyperFrames
//! distributed renderer's codes where they exist, so orchestrators' retry tables carry over), knows
//! whether retrying can help (`is_retryable()`), and names the file, chunk or field at fault. The
//! CLI maps these to exit codes 3 (non-retryable) and 75 (retryable).

use std::path::Path;

use serde::Serialize;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable error codes. The string form is the wire form (`code()`), never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Code {
    /// A file the plan must contain is absent (a partial download may heal).
    MissingPlanArtifact,
    /// `plan.json` or a `meta/*.json` file is not valid JSON of the expected shape.
    PlanInvalid,
    /// The plan's protocol (schema version, layout or hash schema) is not one we read.
    PlanProtocolUnsupported,
    /// The recomputed planHash differs from the one in `plan.json`.
    PlanHashMismatch,
    /// The chunk index is outside `0..chunkCount`.
    ChunkIndexOutOfRange,
    /// The linked libav differs from the one the plan was made with.
    FfmpegVersionMismatch,
    /// The fonts visible to the browser differ from the plan's fingerprint.
    FontSnapshotMismatch,
    /// The browser would not render in software.
    BrowserGpuNotSoftware,
    /// The plan asks for a format the distributed path cannot produce (e.g. HDR).
    FormatNotSupportedInDistributed,
    /// The composition's duration is not finite, positive and at most 24 hours of frames.
    DistributedDurationOutOfRange,
    /// The frozen plan is larger than the configured limit.
    PlanTooLarge,
    /// A render or plan option is invalid.
    InvalidConfig,
    /// The number of chunk paths given differs from the plan's chunk count.
    ChunkCountMismatch,
    /// A chunk path does not exist.
    MissingChunk,
    /// A chunk's sidecar names another plan.
    StaleChunk,
    /// A chunk's bytes do not match its sidecar, or the chunk cannot be read as media.
    CorruptChunk,
    /// A chunk's stream parameters differ from chunk 0's or from the plan.
    IncompatibleChunk,
    /// A chunk does not start with a keyframe.
    ChunkNotClosedGop,
    /// A chunk or an output holds another number of frames than the plan says.
    FrameCountMismatch,
    /// The plan has audio and none was given, or the given audio file does not exist.
    AudioMissing,
    /// The soundtrack cannot be decoded.
    AudioInvalid,
    /// A libav call failed while encoding or muxing.
    MediaFailed,
    /// Reading or writing a local file failed.
    Io,
    /// The operation was cancelled by the caller.
    Cancelled,
    /// The project has no usable composition: no entry file, no root, or a malformed attribute
    /// or clip reference (the message names the element).
    CompositionInvalid,
    /// A `data-composition-src` file does not exist in the project.
    SubCompositionMissing,
    /// A path leaves the project (`..`, absolute, or a symlink pointing outside).
    UnsafeProjectPath,
    /// An external URL the page needs cannot be resolved from the local package cache.
    ExternalResourceUnavailable,
    /// A `<video>` source cannot be decoded.
    VideoSourceUnrenderable,
    /// No usable browser binary was found.
    BrowserNotFound,
    /// The browser failed to start, crashed or stopped answering.
    BrowserCrashed,
    /// The page did not become ready (timelines, fonts, images) within the bounded wait.
    PageNotReady,
    /// A page script threw, or the page broke the runtime's contract.
    PageScriptError,
    /// A frame could not be captured.
    CaptureFailed,
    /// An object store did not answer or failed a transfer (network, 5xx, throttling, an
    /// upload cut mid-way): retrying may succeed.
    StorageUnavailable,
    /// An object store refused the credentials or the access.
    StorageAccessDenied,
    /// A URL names an object store whose provider (the `s3`, `gcs` or `azure` feature) this
    /// build of framefan left out.
    StorageProviderNotBuilt,
    /// The pinned HyperFrames runtime is in no package cache (and none was given).
    RuntimeNotFound,
    /// A HyperFrames runtime file does not match the sha256 pinned for it (or recorded in the plan).
    RuntimeMismatch,
    /// At plan time: a page script kept the page from answering within the bound (an endless loop).
    PageScriptTimeout,
    /// At plan time with `--strict-fonts`: a font face the page uses failed to load.
    FontLoadFailed,
    /// At plan time: an `<img>` of the page failed to load or decode.
    ImageLoadFailed,
    /// At plan time: the page did not become ready within the bounded wait (the message says what).
    PageNeverReady,
}

impl Code {
    /// The stable wire form, e.g. `"MISSING_CHUNK"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::MissingPlanArtifact => "MISSING_PLAN_ARTIFACT",
            Code::PlanInvalid => "PLAN_INVALID",
            Code::PlanProtocolUnsupported => "PLAN_PROTOCOL_UNSUPPORTED",
            Code::PlanHashMismatch => "PLAN_HASH_MISMATCH",
            Code::ChunkIndexOutOfRange => "CHUNK_INDEX_OUT_OF_RANGE",
            Code::FfmpegVersionMismatch => "FFMPEG_VERSION_MISMATCH",
            Code::FontSnapshotMismatch => "FONT_SNAPSHOT_MISMATCH",
            Code::BrowserGpuNotSoftware => "BROWSER_GPU_NOT_SOFTWARE",
            Code::FormatNotSupportedInDistributed => "FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED",
            Code::DistributedDurationOutOfRange => "DISTRIBUTED_DURATION_OUT_OF_RANGE",
            Code::PlanTooLarge => "PLAN_TOO_LARGE",
            Code::InvalidConfig => "INVALID_CONFIG",
            Code::ChunkCountMismatch => "CHUNK_COUNT_MISMATCH",
            Code::MissingChunk => "MISSING_CHUNK",
            Code::StaleChunk => "STALE_CHUNK",
            Code::CorruptChunk => "CORRUPT_CHUNK",
            Code::IncompatibleChunk => "INCOMPATIBLE_CHUNK",
            Code::ChunkNotClosedGop => "CHUNK_NOT_CLOSED_GOP",
            Code::FrameCountMismatch => "FRAME_COUNT_MISMATCH",
            Code::AudioMissing => "AUDIO_MISSING",
            Code::AudioInvalid => "AUDIO_INVALID",
            Code::MediaFailed => "MEDIA_FAILED",
            Code::Io => "IO_ERROR",
            Code::Cancelled => "CANCELLED",
            Code::CompositionInvalid => "COMPOSITION_INVALID",
            Code::SubCompositionMissing => "SUB_COMPOSITION_MISSING",
            Code::UnsafeProjectPath => "UNSAFE_PROJECT_PATH",
            Code::ExternalResourceUnavailable => "EXTERNAL_RESOURCE_UNAVAILABLE",
            Code::VideoSourceUnrenderable => "VIDEO_SOURCE_UNRENDERABLE",
            Code::BrowserNotFound => "BROWSER_NOT_FOUND",
            Code::BrowserCrashed => "BROWSER_CRASHED",
            Code::PageNotReady => "PAGE_NOT_READY",
            Code::PageScriptError => "PAGE_SCRIPT_ERROR",
            Code::CaptureFailed => "CAPTURE_FAILED",
            Code::StorageUnavailable => "STORAGE_UNAVAILABLE",
            Code::StorageAccessDenied => "STORAGE_ACCESS_DENIED",
            Code::StorageProviderNotBuilt => "STORAGE_PROVIDER_NOT_BUILT",
            Code::RuntimeNotFound => "RUNTIME_NOT_FOUND",
            Code::RuntimeMismatch => "RUNTIME_MISMATCH",
            Code::PageScriptTimeout => "PAGE_SCRIPT_TIMEOUT",
            Code::FontLoadFailed => "FONT_LOAD_FAILED",
            Code::ImageLoadFailed => "IMAGE_LOAD_FAILED",
            Code::PageNeverReady => "PAGE_NEVER_READY",
        }
    }

    /// Whether running the same step again may succeed without changing its inputs.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Code::MissingPlanArtifact
                | Code::Io
                | Code::BrowserCrashed
                | Code::PageNotReady
                | Code::CaptureFailed
                | Code::StorageUnavailable
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed libav call: which operation, on what, and libav's own code and text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{op} failed on {subject}: {message} (libav error {code})")]
pub struct AvError {
    /// The libav operation, e.g. `"avformat_write_header"`.
    pub op: &'static str,
    /// The file, stream or codec the call worked on.
    pub subject: String,
    /// libav's negative return code.
    pub code: i32,
    /// libav's description of the code.
    pub message: String,
}

/// The crate's error: a stable code plus a message that names what is at fault.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    code: Code,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error with `code` and a message naming the file, chunk or field at fault.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), source: None }
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// An I/O failure on `path` while doing `what` (retryable: disks and mounts heal).
    pub fn io(what: &str, path: &Path, err: std::io::Error) -> Self {
        let message = format!("{what} {}: {err}", path.display());
        Error::new(Code::Io, message).with_source(err)
    }

    /// A libav failure, with the code it should surface as.
    pub(crate) fn av(code: Code, err: AvError) -> Self {
        Error::new(code, err.to_string()).with_source(err)
    }

    /// The same error with `context: ` put before its message.
    pub fn prefixed(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The stable code, e.g. `"MISSING_CHUNK"`.
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }

    /// The code as an enum, for matching.
    pub fn kind(&self) -> Code {
        self.code
    }

    /// Whether retrying the same step may succeed.
    pub fn is_retryable(&self) -> bool {
        self.code.is_retryable()
    }

    /// The human message without the code prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The one-line JSON form the CLI prints with `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {"code": self.code(), "retryable": self.is_retryable(), "message": self.message}
        })
    }
}

impl From<AvError> for Error {
    fn from(err: AvError) -> Self {
        Error::av(Code::MediaFailed, err)
    }
}
